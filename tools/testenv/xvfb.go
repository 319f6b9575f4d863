package testenv

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// xvfbStartTimeout bounds how long Xvfb may take to open its display.
const xvfbStartTimeout = 30 * time.Second

// Xvfb requires the Xvfb virtual X server (Debian package xvfb), starts one
// for the test with a 1280×800 24-bit screen and returns its DISPLAY
// (":N"). The server picks a free display number itself (-displayfd), so
// parallel tests and other X servers on the machine do not collide; Xvfb
// returns once the server accepts connections on /tmp/.X11-unix/XN, and the
// server is stopped when the test ends.
func Xvfb(t testing.TB) string {
	t.Helper()
	path := RequireCommand(t, "Xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := new(lockedBuffer)
	cmd := exec.Command(path, "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{w} // fd 3
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		w.Close()
		t.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})

	// Xvfb writes the display number and a newline once it listens; the
	// pipe reaches EOF if it dies first.
	number := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		number <- strings.TrimSpace(line)
	}()
	var n string
	select {
	case n = <-number:
	case <-time.After(xvfbStartTimeout):
		t.Fatalf("Xvfb did not open a display within %v; output:\n%s", xvfbStartTimeout, out.tail(4096))
	}
	if _, err := strconv.Atoi(n); err != nil {
		<-exited
		t.Fatalf("Xvfb did not start (it wrote %q); output:\n%s", n, out.tail(4096))
	}
	// The socket exists by now; check it within a bound all the same.
	socket := "/tmp/.X11-unix/X" + n
	deadline := time.Now().Add(xvfbStartTimeout)
	for {
		if _, err := os.Stat(socket); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) || time.Now().After(deadline) {
			t.Fatalf("Xvfb display :%s: %v", n, err)
		}
		select {
		case <-exited:
			t.Fatalf("Xvfb exited; output:\n%s", out.tail(4096))
		case <-time.After(10 * time.Millisecond):
		}
	}
	return fmt.Sprintf(":%s", n)
}
