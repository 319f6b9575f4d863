package sysd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// failsafe bounds every blocking read so that a broken test fails instead of
// hanging; no test relies on it for ordering.
const failsafe = 10 * time.Second

// listenNotify binds a unixgram socket standing in for systemd and points
// NOTIFY_SOCKET at it.
func listenNotify(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", name)
	t.Setenv("WATCHDOG_USEC", "")
	t.Setenv("WATCHDOG_PID", "")
	return conn
}

func readDatagram(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(failsafe)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("read notification: %v", err)
	}
	return string(buf[:n])
}

// expectNoDatagram fails if a datagram is already queued on conn.
func expectNoDatagram(t *testing.T, conn *net.UnixConn) {
	t.Helper()
	if err := conn.SetReadDeadline(time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("unexpected datagram %q (err %v)", buf[:n], err)
	}
}

func TestNotifierSends(t *testing.T) {
	sockets := map[string]func(t *testing.T) string{
		"path": func(t *testing.T) string { return filepath.Join(t.TempDir(), "notify") },
		"abstract": func(t *testing.T) string {
			return fmt.Sprintf("@switchboard-sysd-test-%d-%s", os.Getpid(), t.Name())
		},
	}
	for sockName, sockPath := range sockets {
		t.Run(sockName, func(t *testing.T) {
			conn := listenNotify(t, sockPath(t))
			n := NewNotifier()
			tests := []struct {
				name string
				call func() error
				want string
			}{
				{"ready", n.Ready, "READY=1"},
				{"status", func() error { return n.Status("serving 3 sites") }, "STATUS=serving 3 sites"},
				{"status newline", func() error { return n.Status("a\nREADY=1\r") }, "STATUS=a READY=1 "},
				{"stopping", n.Stopping, "STOPPING=1"},
				{"watchdog", n.Watchdog, "WATCHDOG=1"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					if err := tt.call(); err != nil {
						t.Fatal(err)
					}
					if got := readDatagram(t, conn); got != tt.want {
						t.Errorf("got %q, want %q", got, tt.want)
					}
					expectNoDatagram(t, conn)
				})
			}
		})
	}
}

func TestNotifierWithoutSocket(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	t.Setenv("WATCHDOG_USEC", "1000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	n := NewNotifier()
	for name, call := range map[string]func() error{
		"ready":    n.Ready,
		"status":   func() error { return n.Status("x") },
		"stopping": n.Stopping,
		"watchdog": n.Watchdog,
	} {
		if err := call(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if d, ok := n.WatchdogInterval(); ok {
		t.Errorf("WatchdogInterval = %v, true; want disabled", d)
	}
	// Not enabled: returns at once even though ctx is never cancelled.
	if err := n.RunWatchdog(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
}

func TestNotifierSocketGone(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "missing"))
	if err := NewNotifier().Ready(); err == nil {
		t.Fatal("Ready to a missing socket: got nil error")
	}
}

func TestWatchdogInterval(t *testing.T) {
	pid := strconv.Itoa(os.Getpid())
	tests := []struct {
		name, usec, pid string
		want            time.Duration
		ok              bool
		runErr          bool
	}{
		{name: "unset", ok: false},
		{name: "no pid", usec: "30000000", want: 30 * time.Second, ok: true},
		{name: "our pid", usec: "500000", pid: pid, want: 500 * time.Millisecond, ok: true},
		{name: "other pid", usec: "500000", pid: strconv.Itoa(os.Getpid() + 1), ok: false},
		{name: "malformed", usec: "soon", ok: false, runErr: true},
		{name: "zero", usec: "0", ok: false, runErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			listenNotify(t, filepath.Join(t.TempDir(), "notify"))
			t.Setenv("WATCHDOG_USEC", tt.usec)
			t.Setenv("WATCHDOG_PID", tt.pid)
			n := NewNotifier()
			d, ok := n.WatchdogInterval()
			if d != tt.want || ok != tt.ok {
				t.Errorf("WatchdogInterval = %v, %v; want %v, %v", d, ok, tt.want, tt.ok)
			}
			if tt.ok {
				return
			}
			err := n.RunWatchdog(context.Background(), nil)
			if (err != nil) != tt.runErr {
				t.Errorf("RunWatchdog = %v, want error %v", err, tt.runErr)
			}
		})
	}
}

func TestRunWatchdogFakeTicker(t *testing.T) {
	conn := listenNotify(t, filepath.Join(t.TempDir(), "notify"))
	t.Setenv("WATCHDOG_USEC", "30000000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()))
	n := NewNotifier()

	ticks := make(chan time.Time) // unbuffered: a send completes only when the loop is waiting
	periods := make(chan time.Duration, 1)
	stopped := make(chan struct{})
	n.tick = func(d time.Duration) (<-chan time.Time, func()) {
		periods <- d
		return ticks, func() { close(stopped) }
	}

	health := make(chan error, 4)
	healthy := func() error { return <-health }

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.RunWatchdog(ctx, healthy) }()

	if got := <-periods; got != 15*time.Second {
		t.Errorf("ticker period = %v, want 15s", got)
	}

	health <- errors.New("store unreachable")
	ticks <- time.Time{} // unhealthy: no ping
	health <- nil
	ticks <- time.Time{} // the previous tick is fully handled once this send completes
	if got := readDatagram(t, conn); got != "WATCHDOG=1" {
		t.Fatalf("got %q, want WATCHDOG=1", got)
	}
	health <- nil
	ticks <- time.Time{}
	if got := readDatagram(t, conn); got != "WATCHDOG=1" {
		t.Fatalf("got %q, want WATCHDOG=1", got)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunWatchdog = %v, want nil", err)
	}
	<-stopped
	expectNoDatagram(t, conn)
	if len(health) != 0 {
		t.Errorf("%d health results unused", len(health))
	}
}

func TestRunWatchdogRealTicker(t *testing.T) {
	conn := listenNotify(t, filepath.Join(t.TempDir(), "notify"))
	t.Setenv("WATCHDOG_USEC", "2000") // a ping every millisecond
	n := NewNotifier()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.RunWatchdog(ctx, func() error { return nil }) }()

	for range 3 {
		if got := readDatagram(t, conn); got != "WATCHDOG=1" {
			t.Fatalf("got %q, want WATCHDOG=1", got)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunWatchdog = %v, want nil", err)
	}
}
