// Package testenv holds helpers shared by Switchboard's integration tests:
// requiring root, commands and Chromium in a way that skips on a developer's
// machine but fails in CI, starting a headless browser, and picking free
// loopback ports.
//
// A test states what it needs with Require or a helper built on it. Outside
// CI a missing requirement skips the test with the reason; when the
// environment sets SWITCHBOARD_REQUIRE_ALL=1 (as `make test` in CI does) it
// fails the test instead, so that nothing is silently left untested.
package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

// RequireAllEnv names the environment variable that turns the skips of
// Require into failures when it holds a true value such as "1".
const RequireAllEnv = "SWITCHBOARD_REQUIRE_ALL"

// RequireAll reports whether missing requirements fail tests rather than
// skip them.
func RequireAll() bool {
	v, _ := strconv.ParseBool(os.Getenv(RequireAllEnv))
	return v
}

// Require states that the test needs what (such as "root" or "chromium").
// When ok is false, the test fails with why if RequireAll, and is skipped
// with why otherwise. When ok is true it does nothing.
func Require(t testing.TB, what string, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if RequireAll() {
		t.Fatalf("%s required: %s", what, why)
		return
	}
	t.Skipf("%s not available: %s (%s=1 makes this a failure)", what, why, RequireAllEnv)
}

// RequireRoot requires that the test runs as root (uid 0).
func RequireRoot(t testing.TB) {
	t.Helper()
	uid := os.Geteuid()
	Require(t, "root", uid == 0, fmt.Sprintf("the test runs as uid %d; run it as root", uid))
}

// RequireCommand requires the program name on PATH (or at name, if it holds
// a slash) and returns its path.
func RequireCommand(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	why := ""
	if err != nil {
		why = fmt.Sprintf("%v; install it (see `make deps`)", err)
	}
	Require(t, name, err == nil, why)
	return path
}

// FreePort returns a port number that is free on 127.0.0.1 for both TCP and
// UDP at the time of the call, for servers that listen on both (HTTPS and
// QUIC). Nothing holds the port afterwards, so another process may take it
// before the caller binds it; use it only where a listener cannot be handed
// over directly.
func FreePort(t testing.TB) int {
	t.Helper()
	const tries = 100
	for range tries {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free port: %v", err)
		}
		port := tl.Addr().(*net.TCPAddr).Port
		ul, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		tl.Close()
		if err != nil {
			continue
		}
		ul.Close()
		return port
	}
	t.Fatalf("free port: no port free for both TCP and UDP on 127.0.0.1 after %d tries", tries)
	return 0
}
