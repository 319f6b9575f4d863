package sysd

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier sends sd_notify messages to the service manager. It captures
// NOTIFY_SOCKET and the watchdog settings when it is created; without
// NOTIFY_SOCKET every method is a no-op that returns nil. A Notifier is safe
// for concurrent use.
type Notifier struct {
	addr *net.UnixAddr // nil when not started by systemd

	watchdog    time.Duration // zero when the watchdog is off
	watchdogErr error         // malformed WATCHDOG_USEC or WATCHDOG_PID

	// tick starts a ticker; tests replace it to drive RunWatchdog.
	tick func(d time.Duration) (c <-chan time.Time, stop func())
}

// NewNotifier returns a Notifier for the socket named by NOTIFY_SOCKET and
// the watchdog described by WATCHDOG_USEC and WATCHDOG_PID. It leaves the
// environment unchanged.
func NewNotifier() *Notifier {
	n := &Notifier{tick: realTicker}
	name := os.Getenv("NOTIFY_SOCKET")
	if name == "" {
		return n
	}
	n.addr = &net.UnixAddr{Name: name, Net: "unixgram"}
	d, err := daemon.SdWatchdogEnabled(false)
	if err != nil {
		n.watchdogErr = fmt.Errorf("sysd: watchdog: %w", err)
	}
	n.watchdog = d
	return n
}

func realTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}

// Ready tells systemd that startup has finished (READY=1). Call it once every
// listener is bound and the store is migrated.
func (n *Notifier) Ready() error {
	return n.send(daemon.SdNotifyReady)
}

// Status sets the free-form status line that systemctl status shows
// (STATUS=). Newlines in msg are replaced by spaces so that msg cannot add
// other assignments to the message.
func (n *Notifier) Status(msg string) error {
	msg = strings.NewReplacer("\r", " ", "\n", " ").Replace(msg)
	return n.send("STATUS=" + msg)
}

// Stopping tells systemd that the daemon is shutting down (STOPPING=1).
func (n *Notifier) Stopping() error {
	return n.send(daemon.SdNotifyStopping)
}

// Watchdog sends one watchdog keep-alive (WATCHDOG=1).
func (n *Notifier) Watchdog() error {
	return n.send(daemon.SdNotifyWatchdog)
}

// WatchdogInterval reports the watchdog timeout systemd expects pings
// within, and whether the watchdog is enabled for this process.
func (n *Notifier) WatchdogInterval() (time.Duration, bool) {
	if n.addr == nil || n.watchdogErr != nil || n.watchdog <= 0 {
		return 0, false
	}
	return n.watchdog, true
}

// RunWatchdog pings the watchdog every half interval for as long as healthy
// returns nil; while healthy returns an error it skips the ping, so systemd
// restarts a daemon that stays unhealthy. It logs nothing itself. It returns
// nil when ctx is cancelled, at once if the watchdog is not enabled, and an
// error if the watchdog environment is malformed. A ping that cannot be sent
// is not fatal: the next tick tries again, and systemd acts if pings stay
// missing.
func (n *Notifier) RunWatchdog(ctx context.Context, healthy func() error) error {
	if n.watchdogErr != nil {
		return n.watchdogErr
	}
	interval, ok := n.WatchdogInterval()
	if !ok {
		return nil
	}
	c, stop := n.tick(interval / 2)
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c:
		}
		if healthy != nil && healthy() != nil {
			continue
		}
		_ = n.Watchdog()
	}
}

func (n *Notifier) send(state string) error {
	if n.addr == nil {
		return nil
	}
	conn, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return fmt.Errorf("sysd: notify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sysd: notify: %w", err)
	}
	return nil
}
