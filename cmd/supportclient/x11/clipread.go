package x11

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// Clipboard returns the text of the clipboard (the CLIPBOARD selection),
// asked of its owner as UTF8_STRING and, if the owner refuses that, as
// STRING (Latin-1), converted to UTF-8. It returns "" and no error when no
// program owns the clipboard or its owner has no text. Text longer than
// limit bytes is ErrClipboardTooLarge. The owner has 2 s for each answer
// and 10 s for the whole text; a slower one is ErrClipboardTimeout.
func (d *Display) Clipboard(limit int) (string, error) {
	c, err := d.clipboard()
	if err != nil {
		return "", err
	}
	return c.read(min(max(limit, 0), maxRead))
}

func (c *clipboard) read(limit int) (string, error) {
	c.opMu.Lock()
	defer c.opMu.Unlock()
	owner, err := xproto.GetSelectionOwner(c.conn, c.atoms.clipboard).Reply()
	if err != nil {
		return "", fmt.Errorf("x11: clipboard owner: %w", err)
	}
	if owner.Owner == xproto.WindowNone {
		return "", nil
	}
	events, stop := c.listen()
	defer stop()
	t, err := c.serverTime(events)
	if err != nil {
		return "", err
	}
	deadline := time.Now().Add(transferTimeout)
	prop := c.atoms.props[c.nextProp]
	c.nextProp = (c.nextProp + 1) % len(c.atoms.props)
	for _, target := range []xproto.Atom{c.atoms.utf8, xproto.AtomString} {
		xproto.ConvertSelection(c.conn, c.win, c.atoms.clipboard, target, prop, t)
		ev, err := c.await(events, deadline, func(ev xgb.Event) bool {
			n, ok := ev.(xproto.SelectionNotifyEvent)
			// An answer to an earlier read that timed out has an
			// earlier time.
			return ok && n.Selection == c.atoms.clipboard && (n.Time == t || n.Time == xproto.TimeCurrentTime)
		})
		if err != nil {
			return "", ownerErr(err)
		}
		if ev.(xproto.SelectionNotifyEvent).Property == xproto.AtomNone {
			continue // refused
		}
		data, typ, err := c.receive(events, prop, limit, deadline)
		if err != nil {
			return "", err
		}
		var s string
		switch typ {
		case c.atoms.utf8:
			s = strings.ToValidUTF8(string(data), string(utf8.RuneError))
		case xproto.AtomString:
			s = latin1ToUTF8(data)
		default:
			c.log.Debug("clipboard owner answered with an unknown type", "target", target, "type", typ)
			continue
		}
		if len(s) > limit {
			return "", ErrClipboardTooLarge
		}
		return s, nil
	}
	return "", nil
}

// ownerErr turns await's time-out into ErrClipboardTimeout.
func ownerErr(err error) error {
	if errors.Is(err, errNoAnswer) {
		return ErrClipboardTimeout
	}
	return err
}

// receive reads and deletes the answer the owner wrote in prop, following
// an INCR transfer, and returns it with its type (0 for data that is not
// 8-bit). It reads at most limit+1 bytes, to tell that there were more.
func (c *clipboard) receive(events <-chan xgb.Event, prop xproto.Atom, limit int, deadline time.Time) ([]byte, xproto.Atom, error) {
	r, err := c.take(prop, limit)
	if err != nil {
		return nil, 0, err
	}
	if r.Type != c.atoms.incr {
		if r.BytesAfter > 0 || len(r.Value) > limit {
			return nil, 0, ErrClipboardTooLarge
		}
		return r.Value, textType(r), nil
	}
	// Deleting the INCR property (take did) asks for the first chunk.
	// Its value is a lower bound on the size.
	if len(r.Value) >= 4 && int64(xgb.Get32(r.Value)) > int64(limit) {
		return nil, 0, ErrClipboardTooLarge
	}
	var data []byte
	typ := xproto.Atom(xproto.AtomNone)
	for {
		_, err := c.await(events, deadline, func(ev xgb.Event) bool {
			p, ok := ev.(xproto.PropertyNotifyEvent)
			return ok && p.Atom == prop && p.State == xproto.PropertyNewValue
		})
		if err != nil {
			return nil, 0, ownerErr(err)
		}
		r, err := c.take(prop, limit-len(data))
		if err != nil {
			return nil, 0, err
		}
		switch {
		case r.Type == xproto.AtomNone:
			// No property: the event was for the INCR property,
			// deleted since.
			continue
		case r.BytesAfter > 0 || len(data)+len(r.Value) > limit:
			return nil, 0, ErrClipboardTooLarge
		case len(r.Value) == 0:
			return data, typ, nil // the end
		}
		if typ == xproto.AtomNone {
			typ = textType(r)
		}
		data = append(data, r.Value...)
	}
}

// take reads up to limit+1 bytes of prop and deletes it.
func (c *clipboard) take(prop xproto.Atom, limit int) (*xproto.GetPropertyReply, error) {
	// GetProperty deletes only a property it read to the end.
	r, err := xproto.GetProperty(c.conn, true, c.win, prop, xproto.GetPropertyTypeAny, 0, uint32(limit/4+1)).Reply()
	if err != nil {
		return nil, fmt.Errorf("x11: clipboard: read the answer: %w", err)
	}
	if r.BytesAfter > 0 {
		xproto.DeleteProperty(c.conn, c.win, prop)
	}
	return r, nil
}

// textType returns the type of a property of 8-bit data, and 0 for other
// formats.
func textType(r *xproto.GetPropertyReply) xproto.Atom {
	if r.Format != 8 {
		return xproto.AtomNone
	}
	return r.Type
}

// latin1ToUTF8 converts ISO 8859-1 (the encoding of STRING) to UTF-8.
func latin1ToUTF8(b []byte) string {
	var s strings.Builder
	s.Grow(len(b))
	for _, c := range b {
		s.WriteRune(rune(c))
	}
	return s.String()
}

// utf8ToLatin1 converts s to ISO 8859-1, with '?' for what it cannot
// encode, and reports whether it could encode everything.
func utf8ToLatin1(s string) ([]byte, bool) {
	b := make([]byte, 0, len(s))
	exact := true
	for _, r := range s {
		if r > 0xff {
			r, exact = '?', false
		}
		b = append(b, byte(r))
	}
	return b, exact
}
