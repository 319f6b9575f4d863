package x11

// The clipboard is the CLIPBOARD selection of ICCCM (§2): the program that
// owns it answers each request for its contents with a property it writes
// on the requestor's window and a SelectionNotify event. Text too large for
// one request travels in INCR chunks, each written once the requestor has
// deleted the previous one.
//
// The clipboard has an X connection of its own, opened on first use: one
// small unmapped window that requests conversions, receives the answers in
// its properties and owns the selection after SetClipboard. One goroutine
// (run) reads the connection's events: it answers other clients' requests
// itself and hands the events a read or a timestamp waits for to the one
// operation in progress (opMu). Capture and input do not share the
// connection, so a slow clipboard owner never delays a frame.

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// ErrClipboardTooLarge means the clipboard holds more text than the caller
// allowed.
var ErrClipboardTooLarge = errors.New("x11: the clipboard holds more text than allowed")

// ErrClipboardTimeout means the program that owns the clipboard did not
// answer in time.
var ErrClipboardTimeout = errors.New("x11: the program that owns the clipboard did not answer in time")

var (
	errClipboardClosed = errors.New("x11: display closed")
	// errNoAnswer is what await returns on time-out; callers say whose
	// answer was missing.
	errNoAnswer = errors.New("no answer in time")
)

const (
	// answerTimeout bounds each wait for an answer: of the owner for a
	// read, of the server for a timestamp.
	answerTimeout = 2 * time.Second
	// transferTimeout bounds a whole read, and a served INCR transfer
	// that stops making progress.
	transferTimeout = 10 * time.Second
	// closeTimeout bounds how long Close waits for the event loop.
	closeTimeout = 2 * time.Second
	// maxChunk bounds the property data written by one request when
	// serving; larger text goes by INCR. The server's maximum request
	// size lowers it further (xgb does not use BIG-REQUESTS).
	maxChunk = 64 << 10
	// maxTransfers bounds the INCR transfers served at once.
	maxTransfers = 16
	// maxRead bounds what Clipboard reads, whatever the caller allows.
	maxRead = 1 << 30
	// waiterBuffer holds events for an operation until it reads them.
	waiterBuffer = 64
)

// atoms are the interned names the clipboard uses.
type atoms struct {
	clipboard, utf8, text, targets, timestamp, incr xproto.Atom
	// stamp is the property appended to, to learn the server's time.
	stamp xproto.Atom
	// props receive the answers of reads, in turn, so that an owner still
	// sending an abandoned INCR transfer does not write into the next read.
	props [4]xproto.Atom
}

// clipboard is the clipboard's connection and window, and its state.
type clipboard struct {
	conn  *xgb.Conn
	win   xproto.Window
	log   *slog.Logger
	atoms atoms
	chunk int  // property bytes per request when serving
	fixes bool // the server has XFIXES
	done  chan struct{}

	// opMu serializes reads and SetClipboard; the holder may listen.
	opMu     sync.Mutex
	nextProp int

	waitMu sync.Mutex
	waiter chan xgb.Event // events for the operation that listens

	ownMu    sync.Mutex
	owning   bool             // SetClipboard took the selection and did not lose it
	owned    []byte           // text served, never modified
	ownSince xproto.Timestamp // when the selection was taken

	selMu    sync.Mutex
	selected bool // XFIXES selection events are selected

	watchMu  sync.Mutex
	watchers map[chan struct{}]struct{}

	transfers map[transferKey]*transfer // INCR transfers served; run only
}

// clipboard returns the display's clipboard, opening its connection on
// first use.
func (d *Display) clipboard() (*clipboard, error) {
	d.clipMu.Lock()
	defer d.clipMu.Unlock()
	if d.clipClosed {
		return nil, errClipboardClosed
	}
	if d.clip == nil {
		c, err := openClipboard(d.name, d.log)
		if err != nil {
			return nil, err
		}
		d.clip = c
	}
	return d.clip, nil
}

// closeClipboard closes the clipboard's connection, if it was opened, and
// makes later clipboard calls fail. It is safe to call twice.
func (d *Display) closeClipboard() {
	d.clipMu.Lock()
	c := d.clip
	d.clip, d.clipClosed = nil, true
	d.clipMu.Unlock()
	if c != nil {
		c.close()
	}
}

func openClipboard(display string, log *slog.Logger) (*clipboard, error) {
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("x11: clipboard: connect to display %q: %w", display, err)
	}
	c, err := newClipboard(conn, log)
	if err != nil {
		conn.Close()
		return nil, err
	}
	go c.run()
	return c, nil
}

func newClipboard(conn *xgb.Conn, log *slog.Logger) (*clipboard, error) {
	setup := xproto.Setup(conn)
	if len(setup.Roots) == 0 {
		return nil, fmt.Errorf("x11: clipboard: the display has no screen")
	}
	c := &clipboard{
		conn:      conn,
		log:       log,
		done:      make(chan struct{}),
		watchers:  map[chan struct{}]struct{}{},
		transfers: map[transferKey]*transfer{},
		// The request header of ChangeProperty takes 24 bytes.
		chunk: min(maxChunk, (int(setup.MaximumRequestLength)*4-24)&^3),
	}
	// XFIXES is set up before any event can arrive; see initXFIXES.
	if err := initXFIXES(conn); err != nil {
		log.Info("clipboard changes are not watched", "reason", err)
	} else {
		c.fixes = true
	}
	if err := c.intern(); err != nil {
		return nil, err
	}
	win, err := xproto.NewWindowId(conn)
	if err != nil {
		return nil, fmt.Errorf("x11: clipboard: window id: %w", err)
	}
	err = xproto.CreateWindowChecked(conn, 0, win, setup.Roots[0].Root, -10, -10, 1, 1, 0,
		xproto.WindowClassInputOnly, 0, xproto.CwOverrideRedirect|xproto.CwEventMask,
		[]uint32{1, xproto.EventMaskPropertyChange}).Check()
	if err != nil {
		return nil, fmt.Errorf("x11: clipboard: create window: %w", err)
	}
	c.win = win
	return c, nil
}

func (c *clipboard) intern() error {
	a := &c.atoms
	names := map[string]*xproto.Atom{
		"CLIPBOARD":   &a.clipboard,
		"UTF8_STRING": &a.utf8,
		"TEXT":        &a.text,
		"TARGETS":     &a.targets,
		"TIMESTAMP":   &a.timestamp,
		"INCR":        &a.incr,

		"SWITCHBOARD_TIMESTAMP": &a.stamp,
	}
	for i := range a.props {
		names[fmt.Sprintf("SWITCHBOARD_CLIPBOARD_%d", i)] = &a.props[i]
	}
	cookies := map[string]xproto.InternAtomCookie{}
	for name := range names {
		cookies[name] = xproto.InternAtom(c.conn, false, uint16(len(name)), name)
	}
	for name, cookie := range cookies {
		r, err := cookie.Reply()
		if err != nil {
			return fmt.Errorf("x11: clipboard: intern %s: %w", name, err)
		}
		*names[name] = r.Atom
	}
	return nil
}

// close closes the connection and waits, within a bound, for run to
// return (which ends the goroutines of ClipboardChanges).
func (c *clipboard) close() {
	c.conn.Close()
	select {
	case <-c.done:
	case <-time.After(closeTimeout):
		c.log.Warn("the clipboard connection did not close in time")
	}
}

// run reads the connection's events until it closes.
func (c *clipboard) run() {
	defer close(c.done)
	for {
		ev, xerr := c.conn.WaitForEvent()
		if ev == nil && xerr == nil {
			return // closed
		}
		if xerr != nil {
			// Unchecked requests on windows of other clients that
			// went away; nothing waits for them.
			c.log.Debug("x11 clipboard error", "err", xerr)
			continue
		}
		switch e := ev.(type) {
		case xproto.SelectionRequestEvent:
			c.serve(e)
		case xproto.SelectionClearEvent:
			c.lose(e)
		case xproto.PropertyNotifyEvent:
			c.progress(e)
			if e.Window == c.win {
				c.deliver(ev)
			}
		case xproto.SelectionNotifyEvent:
			if e.Requestor == c.win {
				c.deliver(ev)
			}
		default:
			c.notify(ev)
		}
		c.expire(time.Now())
	}
}

// listen makes the caller, who holds opMu, receive the events of the
// clipboard window until it calls stop.
func (c *clipboard) listen() (events <-chan xgb.Event, stop func()) {
	ch := make(chan xgb.Event, waiterBuffer)
	c.waitMu.Lock()
	c.waiter = ch
	c.waitMu.Unlock()
	return ch, func() {
		c.waitMu.Lock()
		c.waiter = nil
		c.waitMu.Unlock()
	}
}

// deliver hands ev to the operation that listens, if any. It never
// blocks: run must go on serving. A listener only waits for one or two
// events at a time, so a full buffer means someone floods the window.
func (c *clipboard) deliver(ev xgb.Event) {
	c.waitMu.Lock()
	ch := c.waiter
	c.waitMu.Unlock()
	if ch == nil {
		return
	}
	select {
	case ch <- ev:
	default:
		c.log.Debug("clipboard event dropped", "event", ev)
	}
}

// await returns the first event that match accepts, within answerTimeout
// and before deadline.
func (c *clipboard) await(events <-chan xgb.Event, deadline time.Time, match func(xgb.Event) bool) (xgb.Event, error) {
	timer := time.NewTimer(min(answerTimeout, time.Until(deadline)))
	defer timer.Stop()
	for {
		select {
		case ev := <-events:
			if match(ev) {
				return ev, nil
			}
		case <-timer.C:
			return nil, errNoAnswer
		case <-c.done:
			return nil, errClipboardClosed
		}
	}
}

// serverTime returns the server's current time, which ICCCM asks for in
// place of CurrentTime: appending nothing to a property of the window
// makes the server report the change with its time.
func (c *clipboard) serverTime(events <-chan xgb.Event) (xproto.Timestamp, error) {
	xproto.ChangeProperty(c.conn, xproto.PropModeAppend, c.win, c.atoms.stamp, xproto.AtomString, 8, 0, nil)
	ev, err := c.await(events, time.Now().Add(answerTimeout), func(ev xgb.Event) bool {
		p, ok := ev.(xproto.PropertyNotifyEvent)
		return ok && p.Atom == c.atoms.stamp && p.State == xproto.PropertyNewValue
	})
	if err != nil {
		return 0, fmt.Errorf("x11: clipboard: timestamp from the X server: %w", err)
	}
	return ev.(xproto.PropertyNotifyEvent).Time, nil
}

// after reports whether timestamp a is later than b; X time wraps around
// every 49.7 days.
func after(a, b xproto.Timestamp) bool {
	return int32(a-b) > 0
}
