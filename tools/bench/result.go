package main

import (
	"fmt"
	"io"
	"time"
)

// Result is what a suite measured.
type Result struct {
	Suite   string   `json:"suite"`
	Targets []Target `json:"targets"`
	Ratios  []Ratio  `json:"ratios"`
	// Notes are further measurements printed as lines.
	Notes []string `json:"notes,omitempty"`
}

// Target is the measurement of one kind of request.
type Target struct {
	Name      string  `json:"name"`
	Requests  int     `json:"requests"`
	ReqPerSec float64 `json:"req_per_sec"`
	P50ms     float64 `json:"p50_ms"`
	P99ms     float64 `json:"p99_ms"`
}

// Ratio compares a target with its baseline from the same run.
type Ratio struct {
	Name       string  `json:"name"`       // e.g. "sign-in / static"
	Throughput float64 `json:"throughput"` // target req/s ÷ baseline req/s
	P99        float64 `json:"p99"`        // target p99 ÷ baseline p99
}

func newTarget(name string, s stats) Target {
	return Target{
		Name:      name,
		Requests:  len(s.lat),
		ReqPerSec: s.reqPerSec(),
		P50ms:     ms(s.percentile(0.50)),
		P99ms:     ms(s.percentile(0.99)),
	}
}

func ratio(name string, target, baseline Target) Ratio {
	return Ratio{
		Name:       name,
		Throughput: target.ReqPerSec / baseline.ReqPerSec,
		P99:        target.P99ms / baseline.P99ms,
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func printResult(w io.Writer, r Result) {
	fmt.Fprintf(w, "suite %s\n", r.Suite)
	width := len("target")
	for _, t := range r.Targets {
		width = max(width, len([]rune(t.Name)))
	}
	fmt.Fprintf(w, "%-*s %8s %9s %9s\n", width, "target", "req/s", "p50", "p99")
	for _, t := range r.Targets {
		fmt.Fprintf(w, "%-*s %8.0f %9s %9s\n", width+len(t.Name)-len([]rune(t.Name)), t.Name, t.ReqPerSec, fmtMs(t.P50ms), fmtMs(t.P99ms))
	}
	for _, q := range r.Ratios {
		fmt.Fprintf(w, "ratio (%s): throughput %.2fx, p99 %.2fx\n", q.Name, q.Throughput, q.P99)
	}
	for _, n := range r.Notes {
		fmt.Fprintln(w, n)
	}
}

func fmtMs(v float64) string {
	if v < 1 {
		return fmt.Sprintf("%.0fµs", v*1000)
	}
	return fmt.Sprintf("%.2fms", v)
}
