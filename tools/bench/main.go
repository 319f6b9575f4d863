// Package main is the Switchboard benchmark tool behind `make bench`. It runs
// named suites against the real applianced binary on loopback and prints
// each measurement next to a baseline measured in the same run, with their
// ratio. Speed is reported, never asserted.
//
// Usage:
//
//	go run ./tools/bench [-suite all|web|desk|relay|codec] [-n 20000] [-c 16] [-timeout 5m] [-json]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// config is what every suite receives.
type config struct {
	n  int      // measured requests per target
	c  int      // concurrent clients
	tb *benchTB // for tools/daemon
}

// suites holds the benchmarks by the name -suite selects.
var suites = map[string]func(ctx context.Context, cfg config) (Result, error){
	"web":    runWeb,
	"desk":   runDesk,
	"relay":  runRelay,
	"codec":  runCodec,
	"public": runPublic,
}

func main() { os.Exit(run()) }

func run() int {
	suite := flag.String("suite", "all", "suite to run: all or one of "+strings.Join(suiteNames(), ", "))
	n := flag.Int("n", 20000, "measured requests per target")
	c := flag.Int("c", 16, "concurrent keep-alive clients")
	timeout := flag.Duration("timeout", 5*time.Minute, "bound on the whole run, build included")
	asJSON := flag.Bool("json", false, "also print the results as JSON")
	flag.Parse()

	if *n < rounds || *c < 1 {
		fmt.Fprintf(os.Stderr, "bench: -n must be at least %d and -c at least 1\n", rounds)
		return 2
	}
	names := suiteNames()
	if *suite != "all" {
		if _, ok := suites[*suite]; !ok {
			fmt.Fprintf(os.Stderr, "bench: no suite %q (have: %s)\n", *suite, strings.Join(names, ", "))
			return 2
		}
		names = []string{*suite}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	tb := &benchTB{}
	tb.Cleanup(removeBinary) // first in, so it runs last
	defer tb.cleanup()
	cfg := config{n: *n, c: *c, tb: tb}

	var results []Result
	for _, name := range names {
		res, err := suites[name](ctx, cfg)
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w (raise -timeout or lower -n)", err)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: suite %s: %v\n", name, err)
			return 1
		}
		res.Suite = name
		results = append(results, res)
		printResult(os.Stdout, res)
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			fmt.Fprintf(os.Stderr, "bench: %v\n", err)
			return 1
		}
	}
	return 0
}

func suiteNames() []string {
	names := make([]string, 0, len(suites))
	for name := range suites {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
