package e2e

import (
	"fmt"
	"io"
	"log"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// xwin is a window covering an Xvfb screen, painted with a known pattern,
// that reports the pointer and key events it receives: what the customer's
// desktop looks like to the support app, and where its input lands.
type xwin struct {
	t      *testing.T
	conn   *xgb.Conn
	win    xproto.Window
	gc     xproto.Gcontext
	w, h   int
	events chan xgb.Event
	// keysyms maps keycodes to their unshifted keysym.
	keysyms map[xproto.Keycode]uint32
}

// xEvent is an input event the window received.
type xEvent struct {
	kind   string // "button" or "key"
	x, y   int
	button int
	keysym uint32
}

func newXWin(t *testing.T, display string) *xwin {
	t.Helper()
	xgb.Logger = log.New(io.Discard, "", 0) // no Xauthority chatter, no noise at close
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatalf("connect to %s: %v", display, err)
	}
	t.Cleanup(conn.Close)
	setup := xproto.Setup(conn)
	scr := setup.DefaultScreen(conn)
	x := &xwin{t: t, conn: conn, w: int(scr.WidthInPixels), h: int(scr.HeightInPixels), events: make(chan xgb.Event, 256)}
	x.win, _ = xproto.NewWindowId(conn)
	err = xproto.CreateWindowChecked(conn, scr.RootDepth, x.win, scr.Root, 0, 0, uint16(x.w), uint16(x.h), 0,
		xproto.WindowClassInputOutput, scr.RootVisual,
		xproto.CwBackPixel|xproto.CwOverrideRedirect|xproto.CwEventMask,
		[]uint32{0, 1, xproto.EventMaskExposure | xproto.EventMaskButtonPress | xproto.EventMaskKeyPress | xproto.EventMaskStructureNotify}).Check()
	if err != nil {
		t.Fatalf("create the test window: %v", err)
	}
	x.gc, _ = xproto.NewGcontextId(conn)
	if err := xproto.CreateGCChecked(conn, x.gc, xproto.Drawable(x.win), 0, nil).Check(); err != nil {
		t.Fatal(err)
	}
	if err := xproto.MapWindowChecked(conn, x.win).Check(); err != nil {
		t.Fatal(err)
	}
	// Keyboard focus on the window, so typed keys reach it.
	xproto.SetInputFocus(conn, xproto.InputFocusPointerRoot, x.win, xproto.TimeCurrentTime)
	km, err := xproto.GetKeyboardMapping(conn, setup.MinKeycode, byte(setup.MaxKeycode-setup.MinKeycode+1)).Reply()
	if err != nil {
		t.Fatal(err)
	}
	x.keysyms = map[xproto.Keycode]uint32{}
	per := int(km.KeysymsPerKeycode)
	for i := 0; i*per < len(km.Keysyms); i++ {
		if per > 0 && km.Keysyms[i*per] != 0 {
			x.keysyms[xproto.Keycode(int(setup.MinKeycode)+i)] = uint32(km.Keysyms[i*per])
		}
	}
	go func() {
		for {
			ev, err := conn.WaitForEvent()
			if ev == nil && err == nil {
				close(x.events)
				return
			}
			if ev != nil {
				select {
				case x.events <- ev:
				default:
				}
			}
		}
	}()
	x.waitMapped()
	return x
}

func (x *xwin) waitMapped() {
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-x.events:
			if _, ok := ev.(xproto.MapNotifyEvent); ok {
				return
			}
		case <-deadline:
			x.t.Fatal("the test window was never mapped")
		}
	}
}

// fill paints a rectangle with an RGB colour and waits until the server
// has done it.
func (x *xwin) fill(rx, ry, rw, rh int, rgb uint32) {
	x.t.Helper()
	if err := xproto.ChangeGCChecked(x.conn, x.gc, xproto.GcForeground, []uint32{rgb}).Check(); err != nil {
		x.t.Fatal(err)
	}
	if err := xproto.PolyFillRectangleChecked(x.conn, xproto.Drawable(x.win), x.gc,
		[]xproto.Rectangle{{X: int16(rx), Y: int16(ry), Width: uint16(rw), Height: uint16(rh)}}).Check(); err != nil {
		x.t.Fatal(err)
	}
}

// quadrants paints the pattern the console must show: four colours.
var quadrantColors = [4]uint32{0xd03020, 0x20a040, 0x2050d0, 0xf0c020}

func (x *xwin) quadrants() {
	hw, hh := x.w/2, x.h/2
	x.fill(0, 0, hw, hh, quadrantColors[0])
	x.fill(hw, 0, x.w-hw, hh, quadrantColors[1])
	x.fill(0, hh, hw, x.h-hh, quadrantColors[2])
	x.fill(hw, hh, x.w-hw, x.h-hh, quadrantColors[3])
}

// next returns the next button or key press the window receives.
func (x *xwin) next(what string) xEvent {
	x.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-x.events:
			if !ok {
				x.t.Fatalf("%s: the X connection closed", what)
			}
			switch e := ev.(type) {
			case xproto.ButtonPressEvent:
				return xEvent{kind: "button", x: int(e.EventX), y: int(e.EventY), button: int(e.Detail)}
			case xproto.KeyPressEvent:
				return xEvent{kind: "key", keysym: x.keysyms[e.Detail]}
			}
		case <-deadline:
			x.t.Fatalf("%s: no X event arrived", what)
		}
	}
}

func (e xEvent) String() string {
	if e.kind == "key" {
		return fmt.Sprintf("key %#x", e.keysym)
	}
	return fmt.Sprintf("button %d at %d,%d", e.button, e.x, e.y)
}

// copyArea moves a rectangle of the window's pixels at once (as a window
// manager moving a window does) and waits until the server has done it.
func (x *xwin) copyArea(sx, sy, dx, dy, w, h int) {
	x.t.Helper()
	if err := xproto.CopyAreaChecked(x.conn, xproto.Drawable(x.win), xproto.Drawable(x.win), x.gc,
		int16(sx), int16(sy), int16(dx), int16(dy), uint16(w), uint16(h)).Check(); err != nil {
		x.t.Fatal(err)
	}
}
