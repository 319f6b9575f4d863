// Package x11 captures the screen of an X11 display and injects input into
// it, for the support client on Linux. Capture reads the root window with
// MIT-SHM when the server shares memory with this process, and with
// GetImage in strips otherwise, and converts the server's pixel format to
// RGB. Input goes through the XTEST extension, as if typed on the
// keyboard: keysyms are looked up in the server's keyboard map, and a
// keysym the map lacks is bound to a spare keycode for the keystroke.
// The clipboard is read, served and watched natively over a connection of
// its own (clipboard.go).
//
// The package is pure Go (github.com/jezek/xgb) and builds everywhere;
// shared memory is used on Linux only.
package x11

import (
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"sync"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"
)

func init() {
	// xgb logs to stderr, which is the customer's terminal; errors that
	// matter come back from the calls.
	xgb.Logger = log.New(io.Discard, "", 0)
}

// ErrNoXTEST means the X server does not offer the XTEST extension, so
// input cannot be injected.
var ErrNoXTEST = errors.New("x11: the X server has no XTEST extension")

// A Display is a connection to an X server's first screen. Capture, input
// and the clipboard may be used from different goroutines; each is
// serialized. After Close, all return errors.
type Display struct {
	conn  *xgb.Conn
	name  string // as given to Open, for the clipboard's connection
	root  xproto.Window
	log   *slog.Logger
	xtest bool

	// closed is set by Close, holding both locks.
	closed bool

	capMu sync.Mutex
	cap   capturer

	inMu sync.Mutex
	in   inputState

	clipMu     sync.Mutex
	clip       *clipboard // opened on first use
	clipClosed bool
}

// Open connects to display (":0"; empty means $DISPLAY).
func Open(display string, log *slog.Logger) (*Display, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("x11: connect to display %q: %w", display, err)
	}
	setup := xproto.Setup(conn)
	if len(setup.Roots) == 0 {
		conn.Close()
		return nil, fmt.Errorf("x11: display %q has no screen", display)
	}
	screen := setup.Roots[0]
	d := &Display{conn: conn, name: display, root: screen.Root, log: log}
	if err := d.cap.init(conn, setup, &screen); err != nil {
		conn.Close()
		return nil, err
	}
	d.xtest = xtest.Init(conn) == nil
	d.in.init(setup)
	go d.events(conn)
	return d, nil
}

// events drains what the server sends unasked (errors of unchecked
// requests, MappingNotify) so that the connection never stalls, and
// notes keyboard map changes.
func (d *Display) events(conn *xgb.Conn) {
	for {
		ev, err := conn.WaitForEvent()
		switch {
		case ev == nil && err == nil:
			return // closed
		case err != nil:
			d.log.Debug("x11 error", "err", err)
		default:
			if m, ok := ev.(xproto.MappingNotifyEvent); ok && m.Request != xproto.MappingPointer {
				d.inMu.Lock()
				d.in.stale = true
				d.inMu.Unlock()
			}
		}
	}
}

// Size returns the size of the screen in pixels, as last captured (or at
// connection time).
func (d *Display) Size() (w, h int) {
	d.capMu.Lock()
	defer d.capMu.Unlock()
	return d.cap.w, d.cap.h
}

// Close releases keys and buttons still held by input, frees shared
// memory, gives up the clipboard and closes the connections. It is safe to
// call twice.
func (d *Display) Close() error {
	d.closeClipboard()
	d.ReleaseAll()
	// Lock order: input, then capture (input reads the screen size).
	d.inMu.Lock()
	defer d.inMu.Unlock()
	d.capMu.Lock()
	defer d.capMu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	d.cap.close(d.conn)
	d.conn.Close()
	return nil
}
