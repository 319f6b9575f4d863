package appliance

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/config"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/netcfg"
	"github.com/switchboardhq/switchboard/appliance/store"
)

// The control socket lets root on the box talk to the running daemon (the
// store file is locked by it): hot backups, store statistics, and in dev
// mode the desk clock, an immediate expiry pass and a network trial's
// deadline. It lives in the state
// directory with mode 0600, so only the daemon's user and root can use it.
const controlName = "control.sock"

type control struct {
	ln    net.Listener
	db    *store.DB
	log   *slog.Logger
	desk  *desk.Service
	clock *devClock // dev mode only: the clock tests may move
	net   *netcfg.Manager
	auth  *auth.Service
	// httpsPort is the port the URLs the console menu shows use.
	httpsPort string
	stateDir  string
}

func listenControl(dir string, db *store.DB, log *slog.Logger) (*control, error) {
	path := filepath.Join(dir, controlName)
	os.Remove(path) // a stale socket from a killed daemon
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return &control{ln: ln, db: db, log: log, stateDir: dir}, nil
}

func (c *control) run(ctx context.Context) error {
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("control socket: %w", err)
		}
		go c.serve(ctx, conn)
	}
}

func (c *control) Close() error { return c.ln.Close() }

func (c *control) serve(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	line, err := bufio.NewReader(io.LimitReader(conn, maxControlLine)).ReadString('\n')
	if err != nil {
		return
	}
	cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	if c.serveBox(ctx, conn, cmd, arg) {
		return
	}
	switch cmd {
	case "stats":
		u, v := c.db.Counts()
		fmt.Fprintf(conn, "OK updates=%d views=%d\n", u, v)
	case "clock":
		d, err := time.ParseDuration(arg)
		if c.clock == nil || err != nil || d < 0 {
			fmt.Fprintf(conn, "ERR the clock moves only forward, in dev mode (clock 31m)\n")
			return
		}
		fmt.Fprintf(conn, "OK now=%s\n", c.clock.Advance(d).Format(time.RFC3339))
	case "expire":
		if c.desk == nil {
			fmt.Fprintf(conn, "ERR no desk\n")
			return
		}
		n, err := c.desk.ExpireDue(ctx)
		if err != nil {
			fmt.Fprintf(conn, "ERR %v\n", err)
			return
		}
		sites, err := c.desk.AnnounceDue(ctx)
		if err != nil {
			fmt.Fprintf(conn, "ERR %v\n", err)
			return
		}
		fmt.Fprintf(conn, "OK expired=%d announced=%d\n", n, sites)
	case "net-expire":
		// Undo a network trial whose deadline the dev clock has passed.
		if c.clock == nil || c.net == nil {
			fmt.Fprintf(conn, "ERR only in dev mode\n")
			return
		}
		ch, err := c.net.Expire(ctx)
		if err != nil {
			fmt.Fprintf(conn, "ERR %v\n", err)
			return
		}
		fmt.Fprintf(conn, "OK reverted=%t\n", ch != nil)
	case "backup":
		// Copy to a local file first: no transaction waits on the peer.
		f, n, err := c.db.Snapshot(ctx)
		if err != nil {
			c.log.Error("backup over control socket", "err", err)
			fmt.Fprintf(conn, "ERR %v\n", err)
			return
		}
		defer f.Close()
		fmt.Fprintf(conn, "OK\n")
		if _, err := io.Copy(conn, f); err != nil {
			c.log.Warn("backup over control socket: client went away", "err", err)
			return
		}
		c.log.Info("backup streamed", "bytes", n)
	default:
		fmt.Fprintf(conn, "ERR unknown command\n")
	}
}

// BackupTo asks the running daemon for a copy of its store and writes it to
// path, verified, atomically. When no daemon runs it copies the store file
// directly.
func BackupTo(ctx context.Context, cfg config.Config, path string) (int64, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", filepath.Join(cfg.StateDir, controlName))
	if err != nil {
		db, oerr := store.Open(cfg.StateDir)
		if oerr != nil {
			return 0, fmt.Errorf("applianced is not reachable (%v) and the store cannot be opened: %w", err, oerr)
		}
		defer db.Close()
		return store.WriteBackupFile(path, func(w io.Writer) (int64, error) { return db.Backup(ctx, w) })
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "backup\n"); err != nil {
		return 0, err
	}
	r := bufio.NewReader(conn)
	status, err := r.ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("reading the daemon's answer: %w", err)
	}
	if strings.TrimSpace(status) != "OK" {
		return 0, fmt.Errorf("daemon refused: %s", strings.TrimSpace(status))
	}
	return store.WriteBackupFile(path, func(w io.Writer) (int64, error) { return io.Copy(w, r) })
}

// devClock is the clock of a dev-mode daemon: real time plus an offset
// that tests move forward over the control socket ("clock 31m") to reach
// expiries without waiting. A real box always uses time.Now.
type devClock struct {
	now    func() time.Time
	mu     sync.Mutex
	offset time.Duration
}

// Now is the real time plus the offset.
func (c *devClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now().Add(c.offset)
}

// Advance moves the clock forward by d and returns the new time.
func (c *devClock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
	return c.Now()
}

// AfterFunc runs f after d of real time: a deadline the offset moved past
// is reached with the "net-expire" command.
func (c *devClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}
