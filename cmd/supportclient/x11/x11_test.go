package x11

import (
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"

	"github.com/switchboardhq/switchboard/appliance/wire"
	"github.com/switchboardhq/switchboard/tools/testenv"
)

// eventTimeout bounds each wait for an X event.
const eventTimeout = 10 * time.Second

// testWindow is a window a test creates on the display, with its events.
type testWindow struct {
	conn   *xgb.Conn
	win    xproto.Window
	events chan xgb.Event
}

// newWindow creates and maps a w×h window at x,y whose background is
// colour (0xRRGGBB on the 24-bit Xvfb screen) and waits until it is shown.
func newWindow(t *testing.T, display string, x, y, w, h int, colour uint32) *testWindow {
	t.Helper()
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	screen := xproto.Setup(conn).DefaultScreen(conn)
	id, err := xproto.NewWindowId(conn)
	if err != nil {
		t.Fatal(err)
	}
	mask := uint32(xproto.EventMaskExposure | xproto.EventMaskKeyPress | xproto.EventMaskKeyRelease | xproto.EventMaskButtonPress | xproto.EventMaskButtonRelease)
	err = xproto.CreateWindowChecked(conn, screen.RootDepth, id, screen.Root, int16(x), int16(y), uint16(w), uint16(h), 0,
		xproto.WindowClassInputOutput, screen.RootVisual,
		xproto.CwBackPixel|xproto.CwOverrideRedirect|xproto.CwEventMask, []uint32{colour, 1, mask}).Check()
	if err != nil {
		t.Fatal(err)
	}
	tw := &testWindow{conn: conn, win: id, events: make(chan xgb.Event, 100)}
	go func() {
		for {
			ev, err := conn.WaitForEvent()
			if ev == nil && err == nil {
				close(tw.events)
				return
			}
			if ev != nil {
				tw.events <- ev
			}
		}
	}()
	if err := xproto.MapWindowChecked(conn, id).Check(); err != nil {
		t.Fatal(err)
	}
	tw.wait(t, "expose", func(ev xgb.Event) bool { _, ok := ev.(xproto.ExposeEvent); return ok })
	return tw
}

// wait returns the first event that match accepts, skipping others.
func (tw *testWindow) wait(t *testing.T, what string, match func(xgb.Event) bool) xgb.Event {
	t.Helper()
	timeout := time.After(eventTimeout)
	for {
		select {
		case ev, ok := <-tw.events:
			if !ok {
				t.Fatalf("connection closed waiting for %s", what)
			}
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s within %v", what, eventTimeout)
		}
	}
}

func pixel(rgb []byte, w, x, y int) uint32 {
	i := (y*w + x) * 3
	return uint32(rgb[i])<<16 | uint32(rgb[i+1])<<8 | uint32(rgb[i+2])
}

func TestCapture(t *testing.T) {
	display := testenv.Xvfb(t)
	newWindow(t, display, 100, 50, 200, 100, 0xff8000)
	newWindow(t, display, 150, 70, 10, 10, 0x1234ab)
	for _, noShm := range []bool{false, true} {
		name := "shm"
		if noShm {
			name = "getimage"
		}
		t.Run(name, func(t *testing.T) {
			d, err := Open(display, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			d.cap.noShm = noShm
			rgb, w, h, err := d.Capture()
			if err != nil {
				t.Fatal(err)
			}
			if w != 1280 || h != 800 || len(rgb) != w*h*3 {
				t.Fatalf("captured %dx%d (%d bytes), want 1280x800", w, h, len(rgb))
			}
			if !noShm && d.cap.shm == nil {
				t.Error("MIT-SHM was not used on a local Xvfb")
			}
			for _, p := range []struct {
				x, y int
				want uint32
			}{{100, 50, 0xff8000}, {299, 149, 0xff8000}, {150, 70, 0x1234ab}, {159, 79, 0x1234ab}, {160, 80, 0xff8000}} {
				if got := pixel(rgb, w, p.x, p.y); got != p.want {
					t.Errorf("pixel %d,%d = %06x, want %06x", p.x, p.y, got, p.want)
				}
			}
			if got := pixel(rgb, w, 99, 50); got == 0xff8000 {
				t.Errorf("pixel left of the window has its colour")
			}
		})
	}
}

func TestInput(t *testing.T) {
	display := testenv.Xvfb(t)
	tw := newWindow(t, display, 0, 0, 400, 300, 0xffffff)
	if err := xproto.SetInputFocusChecked(tw.conn, xproto.InputFocusPointerRoot, tw.win, xproto.TimeCurrentTime).Check(); err != nil {
		t.Fatal(err)
	}
	d, err := Open(display, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	apply := func(in wire.Input) {
		t.Helper()
		if err := d.Apply(in); err != nil {
			t.Fatalf("Apply(%+v): %v", in, err)
		}
	}
	apply(wire.Input{Kind: wire.InputMove, X: 10, Y: 10})
	apply(wire.Input{Kind: wire.InputButton, Code: 3, Down: true, X: 120, Y: 80})
	apply(wire.Input{Kind: wire.InputButton, Code: 3, Down: false, X: 120, Y: 80})
	ev := tw.wait(t, "button press", func(ev xgb.Event) bool { _, ok := ev.(xproto.ButtonPressEvent); return ok }).(xproto.ButtonPressEvent)
	if ev.Detail != 3 || ev.EventX != 120 || ev.EventY != 80 {
		t.Errorf("button press: button %d at %d,%d; want 3 at 120,80", ev.Detail, ev.EventX, ev.EventY)
	}
	apply(wire.Input{Kind: wire.InputWheel, Y: -2})
	for range 2 {
		ev := tw.wait(t, "wheel", func(ev xgb.Event) bool { _, ok := ev.(xproto.ButtonPressEvent); return ok }).(xproto.ButtonPressEvent)
		if ev.Detail != 4 {
			t.Errorf("wheel up: button %d, want 4", ev.Detail)
		}
	}

	// "Hi!α": shifted letters, a shifted symbol the technician types
	// with Shift held, and a keysym (Greek alpha) not on the US layout.
	const greekAlpha = 0x7e1
	keys := []struct {
		keysym uint32
		shift  bool // the technician holds Shift
	}{{'H', true}, {'i', false}, {'!', true}, {greekAlpha, false}}
	for _, k := range keys {
		if k.shift {
			apply(wire.Input{Kind: wire.InputKey, Code: keysymShiftL, Down: true})
		}
		apply(wire.Input{Kind: wire.InputKey, Code: k.keysym, Down: true})
		apply(wire.Input{Kind: wire.InputKey, Code: k.keysym, Down: false})
		if k.shift {
			apply(wire.Input{Kind: wire.InputKey, Code: keysymShiftL, Down: false})
		}
	}
	var got []uint32
	for len(got) < len(keys) {
		ev := tw.wait(t, "key press", func(ev xgb.Event) bool { _, ok := ev.(xproto.KeyPressEvent); return ok }).(xproto.KeyPressEvent)
		ks := keysymOf(t, tw.conn, ev.Detail, ev.State&xproto.ModMaskShift != 0)
		if ks == keysymShiftL || ks == keysymShiftR {
			continue
		}
		got = append(got, ks)
	}
	for i, k := range keys {
		if got[i] != k.keysym {
			t.Errorf("key %d: keysym %#x, want %#x", i, got[i], k.keysym)
		}
	}
}

// keysymOf is what a client reads for keycode with or without Shift.
func keysymOf(t *testing.T, conn *xgb.Conn, k xproto.Keycode, shift bool) uint32 {
	t.Helper()
	r, err := xproto.GetKeyboardMapping(conn, k, 1).Reply()
	if err != nil {
		t.Fatal(err)
	}
	if shift && r.KeysymsPerKeycode > 1 && r.Keysyms[1] != 0 {
		return uint32(r.Keysyms[1])
	}
	return uint32(r.Keysyms[0])
}
