package x11

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"go.uber.org/goleak"

	"github.com/switchboardhq/switchboard/tools/testenv"
)

// clipLimit is what the support client allows.
const clipLimit = 256 << 10

func openDisplay(t *testing.T, display string) *Display {
	t.Helper()
	d, err := Open(display, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func internAtom(t *testing.T, conn *xgb.Conn, name string) xproto.Atom {
	t.Helper()
	r, err := xproto.InternAtom(conn, false, uint16(len(name)), name).Reply()
	if err != nil {
		t.Fatal(err)
	}
	return r.Atom
}

// repeatTo repeats s to about n bytes, whole copies only.
func repeatTo(s string, n int) string {
	return strings.Repeat(s, n/len(s))
}

func TestClipboard(t *testing.T) {
	display := testenv.Xvfb(t)
	owner := openDisplay(t, display)
	reader := openDisplay(t, display)

	t.Run("nobody owns it", func(t *testing.T) {
		got, err := reader.Clipboard(clipLimit)
		if got != "" || err != nil {
			t.Fatalf("Clipboard() = %q, %v; want \"\", nil", got, err)
		}
	})

	// 100 KiB and more go by INCR: xgb sends at most 256 KiB a request.
	big := repeatTo("Grüße 🌍 0123456789\n", 100<<10)
	for _, tc := range []struct{ name, text string }{
		{"ascii", "hello"},
		{"non-ASCII", "Grüße 🌍"},
		{"empty", ""},
		{"100 KiB", big},
		{"at the limit", strings.Repeat("x", clipLimit)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := owner.SetClipboard(tc.text); err != nil {
				t.Fatal(err)
			}
			for _, d := range []struct {
				name string
				d    *Display
			}{{"other display", reader}, {"own display", owner}} {
				got, err := d.d.Clipboard(clipLimit)
				if err != nil {
					t.Fatalf("%s: %v", d.name, err)
				}
				if got != tc.text {
					t.Errorf("%s: read %d bytes %.40q, want %d bytes %.40q", d.name, len(got), got, len(tc.text), tc.text)
				}
			}
		})
	}

	for _, tc := range []struct {
		name  string
		text  string
		limit int
	}{
		{"in one request", strings.Repeat("a", 1000), 999},
		{"by INCR", big, len(big) - 1},
		{"nothing allowed", "a", 0},
	} {
		t.Run("too large "+tc.name, func(t *testing.T) {
			if err := owner.SetClipboard(tc.text); err != nil {
				t.Fatal(err)
			}
			if got, err := reader.Clipboard(tc.limit); !errors.Is(err, ErrClipboardTooLarge) {
				t.Errorf("Clipboard(%d) of %d bytes = %d bytes, %v; want ErrClipboardTooLarge", tc.limit, len(tc.text), len(got), err)
			}
			// A transfer given up does not spoil the next.
			if got, err := reader.Clipboard(len(tc.text)); err != nil || got != tc.text {
				t.Errorf("Clipboard(%d) after = %d bytes, %v; want the text", len(tc.text), len(got), err)
			}
		})
	}

	t.Run("targets", func(t *testing.T) {
		const text = "Grüße 🌍"
		if err := owner.SetClipboard(text); err != nil {
			t.Fatal(err)
		}
		// A requestor written here, not the package's own reader.
		req := newRequestor(t, display)
		utf8String, targets, textAtom, timestamp, incr := req.atom("UTF8_STRING"), req.atom("TARGETS"), req.atom("TEXT"), req.atom("TIMESTAMP"), req.atom("INCR")

		if typ, data := req.convert(t, utf8String); typ != utf8String || string(data) != text {
			t.Errorf("UTF8_STRING: type %d, %q; want %d, %q", typ, data, utf8String, text)
		}
		if typ, data := req.convert(t, xproto.AtomString); typ != xproto.AtomString || string(data) != "Gr\xfc\xdfe ?" {
			t.Errorf("STRING: type %d, %q; want Latin-1", typ, data)
		}
		if typ, data := req.convert(t, textAtom); typ != utf8String || string(data) != text {
			t.Errorf("TEXT of non-Latin-1 text: type %d, %q; want UTF8_STRING", typ, data)
		}
		typ, data := req.convert(t, targets)
		var got []xproto.Atom
		for i := 0; i+4 <= len(data); i += 4 {
			got = append(got, xproto.Atom(xgb.Get32(data[i:])))
		}
		for _, want := range []xproto.Atom{targets, utf8String, xproto.AtomString, textAtom, timestamp} {
			if typ != xproto.AtomAtom || !contains(got, want) {
				t.Errorf("TARGETS: type %d, %v; want ATOM with %d", typ, got, want)
			}
		}
		if typ, data := req.convert(t, timestamp); typ != xproto.AtomInteger || len(data) != 4 || xgb.Get32(data) == 0 {
			t.Errorf("TIMESTAMP: type %d, %x; want INTEGER", typ, data)
		}
		if typ, _ := req.convert(t, req.atom("image/png")); typ != xproto.AtomNone {
			t.Errorf("image/png: type %d, want a refusal", typ)
		}

		if err := owner.SetClipboard(big); err != nil {
			t.Fatal(err)
		}
		if typ, data := req.convert(t, utf8String); typ != incr || len(data) != 4 || int(xgb.Get32(data)) != len(big) {
			t.Errorf("UTF8_STRING of %d bytes: type %d, %x; want INCR and the size", len(big), typ, data)
		}
	})
}

func contains(list []xproto.Atom, a xproto.Atom) bool {
	for _, b := range list {
		if a == b {
			return true
		}
	}
	return false
}

// requestor asks for the clipboard through a window of its own.
type requestor struct {
	*testWindow
	t    *testing.T
	prop xproto.Atom
}

func newRequestor(t *testing.T, display string) *requestor {
	r := &requestor{testWindow: newWindow(t, display, 0, 0, 10, 10, 0), t: t}
	r.prop = r.atom("TEST_ANSWER")
	return r
}

func (r *requestor) atom(name string) xproto.Atom { return internAtom(r.t, r.conn, name) }

// convert returns the type and data of the owner's answer for target, and
// AtomNone for a refusal.
func (r *requestor) convert(t *testing.T, target xproto.Atom) (xproto.Atom, []byte) {
	t.Helper()
	xproto.ConvertSelection(r.conn, r.win, r.atom("CLIPBOARD"), target, r.prop, xproto.TimeCurrentTime)
	ev := r.wait(t, "selection notify", func(ev xgb.Event) bool { _, ok := ev.(xproto.SelectionNotifyEvent); return ok }).(xproto.SelectionNotifyEvent)
	if ev.Property == xproto.AtomNone {
		return xproto.AtomNone, nil
	}
	p, err := xproto.GetProperty(r.conn, true, r.win, r.prop, xproto.GetPropertyTypeAny, 0, 1<<20).Reply()
	if err != nil {
		t.Fatal(err)
	}
	return p.Type, p.Value
}

// fakeOwner takes the clipboard for a window of its own and answers each
// request with answer (AtomNone: refuse), or never, with a nil answer.
func fakeOwner(t *testing.T, display string, answer func(target xproto.Atom) (xproto.Atom, []byte)) *testWindow {
	t.Helper()
	return fakeIncrOwner(t, display, 0, answer)
}

// fakeIncrOwner is fakeOwner sending answers longer than chunk bytes
// by INCR, in chunks of that size, with 0 as the size it announces.
func fakeIncrOwner(t *testing.T, display string, chunk int, answer func(target xproto.Atom) (xproto.Atom, []byte)) *testWindow {
	t.Helper()
	tw := newWindow(t, display, 20, 0, 10, 10, 0)
	clipboard := internAtom(t, tw.conn, "CLIPBOARD")
	if err := xproto.SetSelectionOwnerChecked(tw.conn, tw.win, clipboard, xproto.TimeCurrentTime).Check(); err != nil {
		t.Fatal(err)
	}
	if answer == nil {
		return tw // the events pile up unread
	}
	incr := internAtom(t, tw.conn, "INCR")
	type send struct {
		typ  xproto.Atom
		rest []byte
		done bool
	}
	sending := map[xproto.Atom]*send{} // by property; one requestor
	go func() {
		for ev := range tw.events {
			if p, ok := ev.(xproto.PropertyNotifyEvent); ok && p.State == xproto.PropertyDelete && sending[p.Atom] != nil {
				s := sending[p.Atom]
				if s.done {
					delete(sending, p.Atom)
					continue
				}
				n := min(chunk, len(s.rest))
				xproto.ChangeProperty(tw.conn, xproto.PropModeReplace, p.Window, p.Atom, s.typ, 8, uint32(n), s.rest[:n])
				s.rest, s.done = s.rest[n:], n == 0
				continue
			}
			e, ok := ev.(xproto.SelectionRequestEvent)
			if !ok {
				continue
			}
			n := xproto.SelectionNotifyEvent{Time: e.Time, Requestor: e.Requestor, Selection: e.Selection, Target: e.Target}
			typ, data := answer(e.Target)
			switch {
			case typ == xproto.AtomNone:
			case chunk > 0 && len(data) > chunk:
				xproto.ChangeWindowAttributes(tw.conn, e.Requestor, xproto.CwEventMask, []uint32{xproto.EventMaskPropertyChange})
				xproto.ChangeProperty(tw.conn, xproto.PropModeReplace, e.Requestor, e.Property, incr, 32, 1, make([]byte, 4))
				sending[e.Property] = &send{typ: typ, rest: data}
				n.Property = e.Property
			default:
				xproto.ChangeProperty(tw.conn, xproto.PropModeReplace, e.Requestor, e.Property, typ, 8, uint32(len(data)), data)
				n.Property = e.Property
			}
			xproto.SendEvent(tw.conn, false, e.Requestor, 0, string(n.Bytes()))
		}
	}()
	return tw
}

func TestClipboardOfOtherPrograms(t *testing.T) {
	display := testenv.Xvfb(t)
	reader := openDisplay(t, display)

	t.Run("STRING only", func(t *testing.T) {
		fakeOwner(t, display, func(target xproto.Atom) (xproto.Atom, []byte) {
			if target != xproto.AtomString {
				return xproto.AtomNone, nil
			}
			return xproto.AtomString, []byte("Gr\xfc\xdfe")
		})
		if got, err := reader.Clipboard(clipLimit); err != nil || got != "Grüße" {
			t.Errorf("Clipboard() = %q, %v; want Grüße", got, err)
		}
		// Latin-1 grows in UTF-8: 7 bytes there, 5 on the wire.
		if got, err := reader.Clipboard(6); !errors.Is(err, ErrClipboardTooLarge) {
			t.Errorf("Clipboard(6) = %q, %v; want ErrClipboardTooLarge", got, err)
		}
	})
	t.Run("no text", func(t *testing.T) {
		fakeOwner(t, display, func(xproto.Atom) (xproto.Atom, []byte) { return xproto.AtomNone, nil })
		if got, err := reader.Clipboard(clipLimit); got != "" || err != nil {
			t.Errorf("Clipboard() = %q, %v; want \"\", nil", got, err)
		}
	})
	t.Run("invalid UTF-8", func(t *testing.T) {
		utf8String := internAtom(t, reader.conn, "UTF8_STRING")
		fakeOwner(t, display, func(xproto.Atom) (xproto.Atom, []byte) { return utf8String, []byte("a\xffb") })
		if got, err := reader.Clipboard(clipLimit); got != "a\uFFFDb" || err != nil {
			t.Errorf("Clipboard() = %q, %v; want the invalid byte replaced", got, err)
		}
	})
	t.Run("INCR", func(t *testing.T) {
		utf8String := internAtom(t, reader.conn, "UTF8_STRING")
		text := repeatTo("Grüße 🌍 0123456789\n", 50<<10)
		fakeIncrOwner(t, display, 4000, func(target xproto.Atom) (xproto.Atom, []byte) {
			if target != utf8String {
				return xproto.AtomNone, nil
			}
			return utf8String, []byte(text)
		})
		if got, err := reader.Clipboard(clipLimit); got != text || err != nil {
			t.Errorf("Clipboard() = %d bytes, %v; want %d bytes", len(got), err, len(text))
		}
		// The owner announced no size: the reader counts the chunks.
		if got, err := reader.Clipboard(len(text) - 1); !errors.Is(err, ErrClipboardTooLarge) {
			t.Errorf("Clipboard(%d) = %d bytes, %v; want ErrClipboardTooLarge", len(text)-1, len(got), err)
		}
		if got, err := reader.Clipboard(clipLimit); got != text || err != nil {
			t.Errorf("Clipboard() after giving up = %d bytes, %v; want %d bytes", len(got), err, len(text))
		}
	})
	t.Run("owner never answers", func(t *testing.T) {
		fakeOwner(t, display, nil)
		if got, err := reader.Clipboard(clipLimit); !errors.Is(err, ErrClipboardTimeout) {
			t.Fatalf("Clipboard() = %q, %v; want ErrClipboardTimeout", got, err)
		}
		// The next owner is read as usual.
		other := openDisplay(t, display)
		if err := other.SetClipboard("next"); err != nil {
			t.Fatal(err)
		}
		if got, err := reader.Clipboard(clipLimit); got != "next" || err != nil {
			t.Errorf("Clipboard() after a time-out = %q, %v; want next", got, err)
		}
	})
}

func TestClipboardChanges(t *testing.T) {
	display := testenv.Xvfb(t)
	d := openDisplay(t, display)
	other := openDisplay(t, display)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// changed reads the clipboard, as the support client does.
	seen := make(chan string, 10)
	err := d.ClipboardChanges(ctx, func() {
		s, err := d.Clipboard(clipLimit)
		if err != nil {
			s = "error: " + err.Error()
		}
		seen <- s
	})
	if err != nil {
		t.Fatal(err)
	}
	next := func(want string) {
		t.Helper()
		select {
		case got := <-seen:
			if got != want {
				t.Fatalf("first change seen: %q, want %q", got, want)
			}
		case <-time.After(eventTimeout):
			t.Fatalf("no change seen within %v, want %q", eventTimeout, want)
		}
	}
	set := func(d *Display, text string) {
		t.Helper()
		if err := d.SetClipboard(text); err != nil {
			t.Fatal(err)
		}
	}
	for i, text := range []string{"one", "two"} {
		set(d, "ours")
		// Reading is a round trip on the clipboard's connection: its
		// events come in order, so the change to our own text has been
		// seen (and passed over) before this returns.
		if got, err := d.Clipboard(clipLimit); got != "ours" || err != nil {
			t.Fatalf("round %d: own Clipboard() = %q, %v", i, got, err)
		}
		set(other, text)
		next(text)
	}
}

func TestClipboardClose(t *testing.T) {
	display := testenv.Xvfb(t)
	ignore := goleak.IgnoreCurrent()
	d, err := Open(display, nil)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Open(display, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ClipboardChanges(context.Background(), func() {}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetClipboard(strings.Repeat("x", 200<<10)); err != nil {
		t.Fatal(err)
	}
	if got, err := other.Clipboard(clipLimit); err != nil || len(got) != 200<<10 {
		t.Fatalf("Clipboard() = %d bytes, %v", len(got), err)
	}

	// A read that waits for an owner that never answers ends when its
	// display closes.
	silent := fakeOwner(t, display, nil)
	done := make(chan error, 1)
	go func() {
		_, err := other.Clipboard(clipLimit)
		done <- err
	}()
	other.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Clipboard() during Close returned no error")
		}
	case <-time.After(eventTimeout):
		t.Fatal("Clipboard() did not return after Close")
	}

	d.Close()
	d.Close()
	if _, err := d.Clipboard(clipLimit); err == nil {
		t.Error("Clipboard() after Close returned no error")
	}
	if err := d.SetClipboard("x"); err == nil {
		t.Error("SetClipboard() after Close returned no error")
	}
	if err := d.ClipboardChanges(context.Background(), func() {}); err == nil {
		t.Error("ClipboardChanges() after Close returned no error")
	}
	silent.conn.Close()
	for range silent.events {
	}
	goleak.VerifyNone(t, ignore)
}

func FuzzLatin1(f *testing.F) {
	for _, s := range []string{"", "Grüße", "\x00\x7f\x80\xff", "a\xffb"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := latin1ToUTF8(b)
		if !utf8.ValidString(s) {
			t.Fatalf("latin1ToUTF8(%q) = %q, not UTF-8", b, s)
		}
		back, exact := utf8ToLatin1(s)
		if !exact || !bytes.Equal(back, b) {
			t.Fatalf("utf8ToLatin1(latin1ToUTF8(%q)) = %q, %v", b, back, exact)
		}
	})
}
