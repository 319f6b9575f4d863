package x11

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xfixes"
	"github.com/jezek/xgb/xproto"
)

// ErrNoXFIXES means the X server does not offer the XFIXES extension, so
// clipboard changes cannot be watched.
var ErrNoXFIXES = errors.New("x11: the X server has no XFIXES extension")

// ClipboardChanges calls changed, from a goroutine of its own, each time a
// program other than this one takes the clipboard (which a program does
// on every copy) or the program that owned it goes away. Calls do not
// overlap, and changes made while changed runs are reported by one more
// call. SetClipboard's own changes are not reported. It stops when ctx
// ends or the display closes, and returns ErrNoXFIXES when the server
// cannot report changes.
func (d *Display) ClipboardChanges(ctx context.Context, changed func()) error {
	c, err := d.clipboard()
	if err != nil {
		return err
	}
	return c.watch(ctx, changed)
}

func (c *clipboard) watch(ctx context.Context, changed func()) error {
	if !c.fixes {
		return ErrNoXFIXES
	}
	select {
	case <-c.done:
		return errClipboardClosed
	default:
	}
	if err := c.selectChanges(); err != nil {
		return err
	}
	ch := make(chan struct{}, 1)
	c.watchMu.Lock()
	c.watchers[ch] = struct{}{}
	c.watchMu.Unlock()
	go func() {
		defer func() {
			c.watchMu.Lock()
			delete(c.watchers, ch)
			c.watchMu.Unlock()
		}()
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.done:
				return
			case <-ch:
				if ctx.Err() != nil {
					return
				}
				changed()
			}
		}
	}()
	return nil
}

// selectChanges asks the server, once, for the XFIXES events of the
// CLIPBOARD selection.
func (c *clipboard) selectChanges() error {
	c.selMu.Lock()
	defer c.selMu.Unlock()
	if c.selected {
		return nil
	}
	mask := uint32(xfixes.SelectionEventMaskSetSelectionOwner | xfixes.SelectionEventMaskSelectionWindowDestroy | xfixes.SelectionEventMaskSelectionClientClose)
	if err := xfixes.SelectSelectionInputChecked(c.conn, c.win, c.atoms.clipboard, mask).Check(); err != nil {
		return fmt.Errorf("x11: watch the clipboard: %w", err)
	}
	c.selected = true
	return nil
}

// notify tells the watchers about an XFIXES change of the selection that
// another program made. It runs on run's goroutine and does not block: a
// watcher with a call pending gets no second one.
func (c *clipboard) notify(ev xgb.Event) {
	e, ok := ev.(xfixes.SelectionNotifyEvent)
	if !ok || e.Selection != c.atoms.clipboard || e.Owner == c.win {
		return
	}
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	for ch := range c.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// xfixesTables records the event and error numbers under which this
// package put the XFIXES decoders into xgb's tables.
var xfixesTables struct {
	sync.Mutex
	done                   bool
	firstEvent, firstError byte
}

// initXFIXES does what xfixes.Init does, but writes xgb's process-wide
// tables of event and error decoders only the first time (and again for a
// server whose numbers differ): every connection's reader goroutine reads
// those maps without a lock, so writing them again on each clipboard
// connection would race with the connections already open. It is called
// before the connection's window exists, so no event of its own is read
// at the same time.
func initXFIXES(conn *xgb.Conn) error {
	const name = "XFIXES"
	ext, err := xproto.QueryExtension(conn, uint16(len(name)), name).Reply()
	if err != nil {
		return fmt.Errorf("query XFIXES: %w", err)
	}
	if !ext.Present {
		return ErrNoXFIXES
	}
	conn.ExtLock.Lock()
	conn.Extensions[name] = ext.MajorOpcode
	conn.ExtLock.Unlock()

	t := &xfixesTables
	t.Lock()
	if !t.done || t.firstEvent != ext.FirstEvent || t.firstError != ext.FirstError {
		for n, f := range xgb.NewExtEventFuncs[name] {
			xgb.NewEventFuncs[int(ext.FirstEvent)+n] = f
		}
		for n, f := range xgb.NewExtErrorFuncs[name] {
			xgb.NewErrorFuncs[int(ext.FirstError)+n] = f
		}
		t.done, t.firstEvent, t.firstError = true, ext.FirstEvent, ext.FirstError
	}
	t.Unlock()

	// The server ignores other XFIXES requests until the client said
	// which version it speaks; selection events came with version 1.
	v, err := xfixes.QueryVersion(conn, 5, 0).Reply()
	if err != nil {
		return fmt.Errorf("XFIXES version: %w", err)
	}
	if v.MajorVersion < 1 {
		return fmt.Errorf("XFIXES %d.%d has no selection events", v.MajorVersion, v.MinorVersion)
	}
	return nil
}
