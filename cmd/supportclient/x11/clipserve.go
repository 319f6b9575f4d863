package x11

import (
	"fmt"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// SetClipboard makes text the clipboard's content: the display takes the
// CLIPBOARD selection and answers other programs' requests for UTF8_STRING,
// STRING (Latin-1, '?' for what it lacks), TEXT, TARGETS and TIMESTAMP
// until another program takes the selection or the display closes. Text
// larger than one request goes by INCR transfers; the caller bounds its
// size.
func (d *Display) SetClipboard(text string) error {
	c, err := d.clipboard()
	if err != nil {
		return err
	}
	return c.own(text)
}

func (c *clipboard) own(text string) error {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	events, stop := c.listen()
	defer stop()
	t, err := c.serverTime(events)
	if err != nil {
		return err
	}
	c.ownMu.Lock()
	c.owning, c.owned, c.ownSince = true, []byte(text), t
	c.ownMu.Unlock()
	xproto.SetSelectionOwner(c.conn, c.win, c.atoms.clipboard, t)
	r, err := xproto.GetSelectionOwner(c.conn, c.atoms.clipboard).Reply()
	if err == nil && r.Owner != c.win {
		err = fmt.Errorf("another program took it at the same time")
	}
	if err != nil {
		c.ownMu.Lock()
		c.owning, c.owned = false, nil
		c.ownMu.Unlock()
		return fmt.Errorf("x11: take the clipboard: %w", err)
	}
	return nil
}

// lose forgets the text once another program took the selection. A
// SelectionClear older than the current ownership (we took the selection
// back before run saw it) changes nothing.
func (c *clipboard) lose(e xproto.SelectionClearEvent) {
	if e.Selection != c.atoms.clipboard || e.Owner != c.win {
		return
	}
	c.ownMu.Lock()
	defer c.ownMu.Unlock()
	if after(e.Time, c.ownSince) {
		c.owning, c.owned = false, nil
	}
}

// serve answers a request for the selection's contents. It runs on run's
// goroutine and sends only requests that need no reply, so that it never
// waits for the server.
func (c *clipboard) serve(e xproto.SelectionRequestEvent) {
	answer := xproto.SelectionNotifyEvent{Time: e.Time, Requestor: e.Requestor, Selection: e.Selection, Target: e.Target, Property: xproto.AtomNone}
	prop := e.Property
	if prop == xproto.AtomNone {
		prop = e.Target // a client older than ICCCM 2
	}
	c.ownMu.Lock()
	text, since, owning := c.owned, c.ownSince, c.owning
	c.ownMu.Unlock()
	// A request made before we took the selection is for the previous
	// owner's contents.
	current := e.Time == xproto.TimeCurrentTime || !after(since, e.Time)
	if owning && current && e.Selection == c.atoms.clipboard && e.Owner == c.win && c.convert(e.Requestor, prop, e.Target, text, since) {
		answer.Property = prop
	}
	xproto.SendEvent(c.conn, false, e.Requestor, xproto.EventMaskNoEvent, string(answer.Bytes()))
}

// convert writes text as target into prop on win and reports whether it
// knows the target.
func (c *clipboard) convert(win xproto.Window, prop, target xproto.Atom, text []byte, since xproto.Timestamp) bool {
	a := &c.atoms
	switch target {
	case a.targets:
		list := []xproto.Atom{a.targets, a.timestamp, a.utf8, xproto.AtomString, a.text}
		buf := make([]byte, 4*len(list))
		for i, t := range list {
			xgb.Put32(buf[4*i:], uint32(t))
		}
		xproto.ChangeProperty(c.conn, xproto.PropModeReplace, win, prop, xproto.AtomAtom, 32, uint32(len(list)), buf)
	case a.timestamp:
		buf := make([]byte, 4)
		xgb.Put32(buf, uint32(since))
		xproto.ChangeProperty(c.conn, xproto.PropModeReplace, win, prop, xproto.AtomInteger, 32, 1, buf)
	case a.utf8:
		return c.write(win, prop, a.utf8, text)
	case xproto.AtomString:
		latin1, _ := utf8ToLatin1(string(text))
		return c.write(win, prop, xproto.AtomString, latin1)
	case a.text:
		// The owner picks the encoding of TEXT: STRING where it is
		// exact, for older programs, and UTF-8 otherwise.
		if latin1, exact := utf8ToLatin1(string(text)); exact {
			return c.write(win, prop, xproto.AtomString, latin1)
		}
		return c.write(win, prop, a.utf8, text)
	default:
		return false
	}
	return true
}

// transferKey names an INCR transfer by the property it goes through.
type transferKey struct {
	win  xproto.Window
	prop xproto.Atom
}

// transfer is an INCR transfer being served.
type transfer struct {
	typ  xproto.Atom
	data []byte
	sent int
	last time.Time // of the last chunk
}

// write puts data of type typ into prop on win, in one request if it fits
// and by INCR otherwise: the property then holds INCR and the size, and
// progress writes a chunk each time the requestor deletes the property.
func (c *clipboard) write(win xproto.Window, prop, typ xproto.Atom, data []byte) bool {
	if len(data) <= c.chunk {
		xproto.ChangeProperty(c.conn, xproto.PropModeReplace, win, prop, typ, 8, uint32(len(data)), data)
		return true
	}
	key := transferKey{win, prop}
	if _, again := c.transfers[key]; !again && len(c.transfers) >= maxTransfers {
		c.log.Info("clipboard request refused: too many transfers at once", "transfers", len(c.transfers))
		return false
	}
	if win != c.win {
		// Our own window already reports property changes to us.
		xproto.ChangeWindowAttributes(c.conn, win, xproto.CwEventMask, []uint32{xproto.EventMaskPropertyChange})
	}
	size := make([]byte, 4)
	xgb.Put32(size, uint32(len(data)))
	xproto.ChangeProperty(c.conn, xproto.PropModeReplace, win, prop, c.atoms.incr, 32, 1, size)
	c.transfers[key] = &transfer{typ: typ, data: data, last: time.Now()}
	return true
}

// progress sends the next chunk of the transfer whose property the
// requestor deleted; the last chunk is empty.
func (c *clipboard) progress(e xproto.PropertyNotifyEvent) {
	key := transferKey{e.Window, e.Atom}
	t, ok := c.transfers[key]
	if !ok || e.State != xproto.PropertyDelete {
		return
	}
	n := min(c.chunk, len(t.data)-t.sent)
	xproto.ChangeProperty(c.conn, xproto.PropModeReplace, e.Window, e.Atom, t.typ, 8, uint32(n), t.data[t.sent:t.sent+n])
	t.sent += n
	t.last = time.Now()
	if n == 0 {
		c.end(key)
	}
}

// expire ends the transfers whose requestor stopped taking chunks (it
// gave up, or its window is gone).
func (c *clipboard) expire(now time.Time) {
	for key, t := range c.transfers {
		if now.Sub(t.last) > transferTimeout {
			c.log.Debug("clipboard transfer abandoned", "window", key.win, "sent", t.sent, "size", len(t.data))
			c.end(key)
		}
	}
}

// end forgets a transfer and, when it was the last one to its window,
// stops the property events of that window.
func (c *clipboard) end(key transferKey) {
	delete(c.transfers, key)
	if key.win == c.win {
		return
	}
	for k := range c.transfers {
		if k.win == key.win {
			return
		}
	}
	xproto.ChangeWindowAttributes(c.conn, key.win, xproto.CwEventMask, []uint32{xproto.EventMaskNoEvent})
}
