// Command health-lua runs an Argo CD resource health check written in Lua against Kubernetes
// objects the way Argo CD does: gopher-lua (Lua 5.1), only the package, base and table
// libraries opened, the object as the global `obj`, a one-second budget, and a returned table
// whose `status` must be one of Argo CD's health codes. It lets the project test the health
// check it ships (docs/gitops.md) without an Argo CD installation.
//
//	health-lua SCRIPT.lua < objects.json
//
// stdin holds one object or a JSON array of objects; stdout gets one JSON result per object
// ({"status": ..., "message": ...}, or {"error": ...} when the script fails), as an array
// when the input was an array.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// The health codes Argo CD accepts from a script; anything else becomes Unknown there.
var validStatuses = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true, "Missing": true, "Unknown": true,
}

type result struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: health-lua SCRIPT.lua < objects.json")
		os.Exit(2)
	}
	script, err := os.ReadFile(os.Args[1])
	if err != nil {
		fail(err)
	}
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err)
	}
	var decoded any
	if err := json.Unmarshal(input, &decoded); err != nil {
		fail(fmt.Errorf("stdin is not JSON: %w", err))
	}
	var out any
	switch objects := decoded.(type) {
	case []any:
		results := make([]result, 0, len(objects))
		for _, object := range objects {
			results = append(results, evaluate(string(script), object))
		}
		out = results
	default:
		out = evaluate(string(script), objects)
	}
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetIndent("", "  ")
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(out); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "health-lua:", err)
	os.Exit(1)
}

func evaluate(script string, object any) result {
	status, message, err := run(script, object)
	if err != nil {
		return result{Error: err.Error()}
	}
	if !validStatuses[status] {
		return result{Error: fmt.Sprintf("invalid health status %q", status)}
	}
	return result{Status: status, Message: message}
}

func run(script string, object any) (string, string, error) {
	// Custom health checks from argocd-cm run without the standard libraries (no string, math
	// or io), so a script that relies on them must fail here as it would in Argo CD.
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return "", "", err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, object))
	if err := l.DoString(script); err != nil {
		return "", "", err
	}
	returned, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", errors.New("the script must return a table")
	}
	status, _ := returned.RawGetString("status").(lua.LString)
	message, _ := returned.RawGetString("message").(lua.LString)
	return string(status), string(message), nil
}

// toLua mirrors how Argo CD hands an unstructured object to Lua: arrays become sequences,
// objects become tables with string keys, numbers become Lua numbers, null becomes nil.
func toLua(l *lua.LState, value any) lua.LValue {
	switch v := value.(type) {
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case string:
		return lua.LString(v)
	case []any:
		table := l.CreateTable(len(v), 0)
		for _, item := range v {
			table.Append(toLua(l, item))
		}
		return table
	case map[string]any:
		table := l.CreateTable(0, len(v))
		keys := make([]string, 0, len(v))
		for key := range v {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, key := range keys {
			table.RawSetH(lua.LString(key), toLua(l, v[key]))
		}
		return table
	default:
		return lua.LNil
	}
}
