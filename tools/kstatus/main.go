// Command kstatus judges Kubernetes objects with the libraries GitOps tools use, so the project
// can test what Flux reports for a StreamingJob without a Flux installation:
//
//   - kstatus: sigs.k8s.io/cli-utils status.Compute (kstatus, as `kubectl`-style tools and
//     Flux's `wait`/`healthChecks` read a custom resource), and Flux's fork of it
//     (github.com/fluxcd/cli-utils), which kustomize-controller links;
//   - cel: Flux's own evaluator for `spec.healthCheckExprs` (github.com/fluxcd/pkg/runtime/cel
//     StatusEvaluator), run on the expressions given.
//
//	kstatus < request.json
//
// The request is {"objects": [...], "healthCheckExprs": {"current": ..., "failed": ...,
// "inProgress": ...}} (the expressions are optional). stdout gets one JSON result per object:
// {"kstatus": {"status", "message"}, "fluxKstatus": {...}, "cel": {"status"} or {"error"}}.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	fluxstatus "github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/fluxcd/pkg/apis/kustomize"
	fluxcel "github.com/fluxcd/pkg/runtime/cel"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type request struct {
	Objects          []map[string]any                  `json:"objects"`
	HealthCheckExprs *kustomize.HealthCheckExpressions `json:"healthCheckExprs,omitempty"`
}

type verdict struct {
	Status  string `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
}

type result struct {
	Kstatus     verdict  `json:"kstatus"`
	FluxKstatus verdict  `json:"fluxKstatus"`
	Cel         *verdict `json:"cel,omitempty"`
}

func main() {
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail(err)
	}
	var req request
	// Decoded as the API machinery decodes objects (whole numbers as int64), which kstatus expects.
	if err := utiljson.Unmarshal(input, &req); err != nil {
		fail(fmt.Errorf("stdin is not a request: %w", err))
	}
	var evaluator *fluxcel.StatusEvaluator
	if req.HealthCheckExprs != nil {
		evaluator, err = fluxcel.NewStatusEvaluator(req.HealthCheckExprs)
		if err != nil {
			fail(err)
		}
	}
	results := make([]result, 0, len(req.Objects))
	for _, object := range req.Objects {
		results = append(results, judge(object, evaluator))
	}
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetIndent("", "  ")
	encoder.SetEscapeHTML(false)
	if err := encoder.Encode(results); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "kstatus:", err)
	os.Exit(1)
}

func judge(object map[string]any, evaluator *fluxcel.StatusEvaluator) result {
	var out result
	if r, err := status.Compute(&unstructured.Unstructured{Object: object}); err != nil {
		out.Kstatus = verdict{Error: err.Error()}
	} else {
		out.Kstatus = verdict{Status: r.Status.String(), Message: r.Message}
	}
	if r, err := fluxstatus.Compute(&unstructured.Unstructured{Object: object}); err != nil {
		out.FluxKstatus = verdict{Error: err.Error()}
	} else {
		out.FluxKstatus = verdict{Status: r.Status.String(), Message: r.Message}
	}
	if evaluator != nil {
		if r, err := evaluator.Evaluate(context.Background(), &unstructured.Unstructured{Object: object}); err != nil {
			out.Cel = &verdict{Error: err.Error()}
		} else {
			out.Cel = &verdict{Status: r.Status.String(), Message: r.Message}
		}
	}
	return out
}
