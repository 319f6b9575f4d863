//go:build !windows

package win32

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/tools/testenv"
)

// Bounds of the Wine test's steps (testenv bounds the prefix's boot).
const (
	insideTimeout = 3 * time.Minute
	readyTimeout  = time.Minute
)

// TestWine runs TestWineInside, built for Windows, under Wine on an Xvfb
// display against tools/wintarget, and plays the person at the keyboard:
// it finds the dialogs with xdotool and clicks their buttons where the
// inside says they are.
func TestWine(t *testing.T) {
	display := testenv.Xvfb(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "wintarget.exe")
	inside := filepath.Join(dir, "inside.exe")
	var wg sync.WaitGroup
	var targetErr, insideErr error
	wg.Go(func() {
		targetErr = testenv.GoWindows("", "build", "-o", target, "github.com/switchboardhq/switchboard/tools/wintarget")
	})
	wg.Go(func() { insideErr = testenv.GoWindows("", "test", "-c", "-o", inside, ".") })
	w := testenv.NewWine(t, display) // boots while the programs build
	wg.Wait()
	for _, err := range []error{targetErr, insideErr} {
		if err != nil {
			t.Fatal(err)
		}
	}
	wine, env := w.Wine, w.Env

	// The target, with text on the clipboard.
	const clip = "from the target: ü€"
	targetLog := filepath.Join(dir, "target.log")
	targetOut := new(lockedBuffer)
	tcmd := exec.Command(wine, target, "-log", testenv.WinPath(targetLog), "-set-clipboard", clip)
	tcmd.Env, tcmd.Stdout, tcmd.Stderr = env, targetOut, targetOut
	if err := tcmd.Start(); err != nil {
		t.Fatal(err)
	}
	targetDone := make(chan struct{})
	go func() { tcmd.Wait(); close(targetDone) }()
	t.Cleanup(func() {
		tcmd.Process.Kill()
		<-targetDone
	})
	if err := waitLine(targetLog, "ready", readyTimeout, targetDone); err != nil {
		t.Fatalf("target: %v; it wrote:\n%s", err, targetOut.String())
	}

	// The inside, answered through the sync file.
	syncPath := filepath.Join(dir, "sync.txt")
	pick := filepath.Join(dir, "pick-me.txt")
	if err := os.WriteFile(pick, []byte("a file to send\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	shots := os.Getenv("SWITCHBOARD_WINE_SHOTS") // a directory for screenshots of the dialogs
	ctx, cancel := context.WithTimeout(context.Background(), insideTimeout)
	defer cancel()
	icmd := exec.CommandContext(ctx, wine, inside, "-test.run", "^(TestStructSizes|TestWineInside)$", "-test.v", "-test.count=1")
	icmd.Env = append(env,
		envInside+"=1",
		envTargetLog+"="+testenv.WinPath(targetLog),
		envSync+"="+testenv.WinPath(syncPath),
		envClipboard+"="+clip,
		envPick+"="+testenv.WinPath(pick),
	)
	if shots != "" {
		icmd.Env = append(icmd.Env, envShots+"="+testenv.WinPath(shots))
	}
	out := new(lockedBuffer)
	icmd.Stdout, icmd.Stderr = out, out
	if err := icmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- icmd.Wait() }()

	x := testenv.NewXdo(t, env)
	handled := 0
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var exitErr error
loop:
	for {
		select {
		case exitErr = <-exited:
			break loop
		case <-tick.C:
		}
		b, _ := os.ReadFile(syncPath)
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		for ; handled < len(lines) && lines[handled] != ""; handled++ {
			line := lines[handled]
			t.Logf("inside: %s", line)
			var px, py int
			switch {
			case sscan(line, "confirm-shown %d %d", &px, &py):
				x.Find(promptTitle, 0)
				x.Run("mousemove", fmt.Sprint(px), fmt.Sprint(py), "click", "1") // Allow
			case line == "confirm2-shown":
				x.Find(promptTitle, 0) // and leave it unanswered
			case sscan(line, "sharing-shown %d %d", &px, &py):
				x.Find(promptTitle, 0)
				x.Run("mousemove", fmt.Sprint(px), fmt.Sprint(py), "click", "1") // Stop
			case line == "pick-started":
				// The Open dialog has the keyboard, in its file name box.
				if id := x.Find(pickTitle, 50); id != "" { // the Open dialog, not its 1×1 owner
					x.Run("windowfocus", id)
				}
				x.Run("type", "--delay", "20", testenv.WinPath(pick))
				x.Run("key", "Return")
			case line == "done":
			default:
				t.Errorf("unknown line from the inside: %q", line)
			}
		}
	}
	output := out.String()
	t.Logf("inside (Windows) test output:\n%s", output)
	if exitErr != nil {
		t.Fatalf("inside test: %v", exitErr)
	}
	if !regexp.MustCompile(`(?m)^--- PASS: TestWineInside`).MatchString(output) {
		t.Fatal("TestWineInside did not pass inside Wine")
	}
	if b, _ := os.ReadFile(syncPath); !strings.HasSuffix(string(b), "done\n") {
		t.Error("the inside did not get to the end")
	}
}

// waitLine waits until the file at path has a line equal to want.
func waitLine(path, want string, timeout time.Duration, died <-chan struct{}) error {
	deadline := time.Now().Add(timeout)
	for {
		b, _ := os.ReadFile(path)
		for _, line := range strings.Split(string(b), "\n") {
			if line == want {
				return nil
			}
		}
		select {
		case <-died:
			return fmt.Errorf("exited before writing %q", want)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %q within %v", want, timeout)
		}
	}
}

// sscan reports whether line has exactly the form of format.
func sscan(line, format string, args ...any) bool {
	n, err := fmt.Sscanf(line, format, args...)
	return err == nil && n == len(args)
}

// lockedBuffer collects a process's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
