package main

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// benchTB lets tools/daemon, written for tests, run inside this program.
// It implements the methods daemon.Start and its helpers call; any other
// method reaches the nil embedded interface and panics. A fatal error prints,
// runs the cleanups (so no applianced is left behind) and exits with status 1.
type benchTB struct {
	testing.TB

	mu       sync.Mutex
	cleanups []func()
}

var _ testing.TB = (*benchTB)(nil)

func (*benchTB) Helper()      {}
func (*benchTB) Name() string { return "bench" }

func (t *benchTB) Logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func (t *benchTB) Fatal(args ...any) { t.exit(fmt.Sprint(args...)) }

func (t *benchTB) Fatalf(format string, args ...any) { t.exit(fmt.Sprintf(format, args...)) }

func (t *benchTB) FailNow() { t.exit("FailNow called") }

func (t *benchTB) Skipf(format string, args ...any) {
	t.exit("cannot run: " + fmt.Sprintf(format, args...))
}

func (t *benchTB) exit(msg string) {
	fmt.Fprintf(os.Stderr, "bench: %s\n", msg)
	t.cleanup()
	os.Exit(1)
}

func (t *benchTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

// TempDir returns a new directory that is removed at cleanup.
func (t *benchTB) TempDir() string {
	dir, err := os.MkdirTemp("", "switchboard-bench-")
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// cleanup runs the registered functions, last first, each once.
func (t *benchTB) cleanup() {
	for {
		t.mu.Lock()
		if len(t.cleanups) == 0 {
			t.mu.Unlock()
			return
		}
		f := t.cleanups[len(t.cleanups)-1]
		t.cleanups = t.cleanups[:len(t.cleanups)-1]
		t.mu.Unlock()
		f()
	}
}
