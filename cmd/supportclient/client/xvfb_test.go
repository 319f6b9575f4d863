//go:build !windows

package client

import (
	"testing"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"

	"github.com/switchboardhq/switchboard/appliance/wire"
	"github.com/switchboardhq/switchboard/appliance/wire/tile"
	"github.com/switchboardhq/switchboard/cmd/supportclient/x11"
	"github.com/switchboardhq/switchboard/tools/testenv"
)

// TestSessionOnXvfb shares a real X display: after "view" is granted the
// first frame covers the whole screen and shows the root window's colour.
func TestSessionOnXvfb(t *testing.T) {
	display := testenv.Xvfb(t)
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	root := xproto.Setup(conn).DefaultScreen(conn).Root
	if err := xproto.ChangeWindowAttributesChecked(conn, root, xproto.CwBackPixel, []uint32{0x336699}).Check(); err != nil {
		t.Fatal(err)
	}
	if err := xproto.ClearAreaChecked(conn, false, root, 0, 0, 0, 0).Check(); err != nil {
		t.Fatal(err)
	}
	d, err := x11.Open(display, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	r := start(t, Config{Prompter: &fakePrompter{answer: allow}, Screen: capturer{d}, Input: d})
	r.send(wire.ConsentAsk{Technician: "Bob", What: "view"})
	if c := expect[wire.ConsentReply](r); !c.Granted {
		t.Fatalf("reply %+v", c)
	}
	area := 0
	for {
		m := r.next()
		if _, ok := m.(wire.FrameEnd); ok {
			break
		}
		tl, ok := m.(wire.Tile)
		if !ok {
			t.Fatalf("got %T in a frame", m)
		}
		px, err := tile.Decode(tl.Encoding, tl.Data, int(tl.W), int(tl.H))
		if err != nil {
			t.Fatal(err)
		}
		if px[0] != 0x33 || px[1] != 0x66 || px[2] != 0x99 {
			t.Fatalf("tile at %d,%d starts with %x, want 336699", tl.X, tl.Y, px[:3])
		}
		area += int(tl.W) * int(tl.H)
	}
	if area != 1280*800 {
		t.Errorf("first frame covers %d pixels, want the 1280x800 screen", area)
	}
}
