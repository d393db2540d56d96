// Command promtool-check-metrics is `promtool check metrics` as Prometheus v3.x ships it
// (github.com/prometheus/prometheus v0.316.0, cmd/promtool CheckMetrics with the default
// --lint=all): the exposition on stdin is linted by the promlint package of the client_golang
// version that promtool links, each problem is printed to stderr as "<metric> <text>", and the
// exit code is promtool's: 0 clean, 3 lint problems, 1 unreadable input. Building all of promtool
// would compile every service-discovery plugin Prometheus has; this is the part the check runs.
//
//	promtool-check-metrics < scrape.txt
package main

import (
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
)

const (
	successExitCode = 0
	failureExitCode = 1
	lintErrExitCode = 3
)

func main() {
	problems, err := promlint.New(os.Stdin).Lint()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error while linting:", err)
		os.Exit(failureExitCode)
	}
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, p.Metric, p.Text)
	}
	if len(problems) > 0 {
		os.Exit(lintErrExitCode)
	}
	os.Exit(successExitCode)
}
