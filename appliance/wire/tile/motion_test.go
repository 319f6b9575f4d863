package tile

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// screen is a small synthetic desktop for the motion tests: a flat
// background and windows full of text-like glyphs in a few colours (so no
// tile is a JPEG and every decode is exact).
type screen struct {
	w, h int
	px   []byte
}

func newScreen(w, h int) *screen { return &screen{w, h, make([]byte, w*h*3)} }

func (s *screen) fill(x, y, w, h int, c [3]byte) {
	for yy := max(y, 0); yy < min(y+h, s.h); yy++ {
		for xx := max(x, 0); xx < min(x+w, s.w); xx++ {
			copy(s.px[(yy*s.w+xx)*3:], c[:])
		}
	}
}

// window draws a w×h window at x,y (clipped by the screen) whose text
// starts at line first.
func (s *screen) window(x, y, w, h, first int, seed uint64) {
	s.fill(x, y, w, h, [3]byte{60, 60, 70})
	s.fill(x+1, y+1, w-2, 14, [3]byte{48, 104, 176})
	s.fill(x+1, y+15, w-2, h-16, [3]byte{250, 250, 250})
	for line := 0; 18+line*10+8 < h; line++ {
		r := rand.New(rand.NewPCG(seed, uint64(first+line)))
		for gx := x + 4; gx+6 < x+w-2; gx += 6 {
			if r.IntN(6) == 0 {
				continue
			}
			bits := r.Uint32()
			for k := range 20 {
				if bits&(1<<k) != 0 {
					xx, yy := gx+k%5, y+18+line*10+k/5*2
					if xx >= 0 && xx < s.w && yy >= 0 && yy < s.h {
						copy(s.px[(yy*s.w+xx)*3:], []byte{20, 20, 20})
					}
				}
			}
		}
	}
}

type layout struct {
	ax, ay, bx, by int // the two windows
	first          int // first line shown in window b
}

func (s *screen) draw(l layout) []byte {
	s.fill(0, 0, s.w, s.h, [3]byte{36, 52, 71})
	s.window(l.ax, l.ay, 150, 110, 0, 1)
	s.window(l.bx, l.by, 170, 120, l.first, 2)
	return bytes.Clone(s.px)
}

// run sends frame through tl and pic, checking the picture afterwards, and
// returns the copies and the bytes sent.
func run(t *testing.T, tl *Tiler, pic *Picture, frame []byte) (copies, size int) {
	t.Helper()
	_, err := tl.Changed(frame, false, func(c wire.Copy) error {
		copies++
		size += wire.HeaderLen + 12
		return pic.Apply(c)
	}, func(x, y, w, h int, enc uint8, data []byte) error {
		size += wire.HeaderLen + 9 + len(data)
		return pic.tile(x, y, w, h, enc, data)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pic.RGB, frame) {
		t.Fatal("the viewer's picture differs from the frame")
	}
	return copies, size
}

// TestMoves: a window moved or a region scrolled goes as copies and costs
// a small part of sending its tiles again; the viewer's picture is exact.
func TestMoves(t *testing.T) {
	const w, h = 480, 320
	base := layout{ax: 20, ay: 30, bx: 250, by: 120}
	cases := []struct {
		name string
		next layout
	}{
		{"move a window", layout{ax: 57, ay: 53, bx: 250, by: 120}},
		{"move a window onto itself", layout{ax: 23, ay: 29, bx: 250, by: 120}},
		{"move a window off the edge", layout{ax: -40, ay: 250, bx: 250, by: 120}},
		{"move a window under another", layout{ax: 200, ay: 100, bx: 250, by: 120}},
		{"scroll down a region", layout{ax: 20, ay: 30, bx: 250, by: 120, first: 1}},
		{"scroll up a region", layout{ax: 20, ay: 30, bx: 250, by: 120, first: -1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newScreen(w, h)
			start, next := s.draw(base), s.draw(c.next)
			// Without copies, for comparison.
			plain := NewTiler(w, h)
			plain.Changed(start, true, nil, discard)
			without := 0
			plain.Changed(next, false, nil, func(x, y, w, h int, enc uint8, data []byte) error {
				without += wire.HeaderLen + 9 + len(data)
				return nil
			})
			tl, pic := NewTiler(w, h), NewPicture(w, h)
			run(t, tl, pic, start)
			copies, size := run(t, tl, pic, next)
			if copies == 0 {
				t.Fatalf("no copy; %d bytes (%d without copies)", size, without)
			}
			if size*4 > without {
				t.Errorf("%d copies and %d bytes, %d without copies: want at most a quarter", copies, size, without)
			}
			// And back again.
			if copies, _ := run(t, tl, pic, start); copies == 0 {
				t.Error("no copy moving back")
			}
		})
	}
}

func discard(x, y, w, h int, enc uint8, data []byte) error { return nil }

// TestMovesRandom: whatever moves, scrolls or changes, the viewer's
// picture is the frame after every frame, and a failing copy makes the
// next frame whole.
func TestMovesRandom(t *testing.T) {
	const w, h = 300, 200
	r := rand.New(rand.NewPCG(3, 4))
	s := newScreen(w, h)
	l := layout{ax: 10, ay: 10, bx: 120, by: 60}
	tl, pic := NewTiler(w, h), NewPicture(w, h)
	total := 0
	for i := range 200 {
		switch r.IntN(4) {
		case 0:
			l.ax += r.IntN(81) - 40
			l.ay += r.IntN(61) - 30
		case 1:
			l.bx += r.IntN(21) - 10
			l.by += r.IntN(21) - 10
		case 2:
			l.first += r.IntN(5) - 2
		}
		l.ax, l.ay = max(-100, min(l.ax, w-20)), max(-80, min(l.ay, h-20))
		l.bx, l.by = max(-100, min(l.bx, w-20)), max(-80, min(l.by, h-20))
		frame := s.draw(l)
		if r.IntN(5) == 0 { // and some pixels change
			for range 20 {
				frame[r.IntN(len(frame))] = uint8(r.IntN(256))
			}
		}
		copies, _ := run(t, tl, pic, frame)
		total += copies
		if i == 100 {
			// A copy the viewer did not get: the next frame is whole.
			l = layout{ax: 10, ay: 10, bx: 120, by: 60}
			frame := s.draw(l)
			run(t, tl, pic, frame)
			moved := s.draw(layout{ax: 19, ay: 19, bx: 120, by: 60})
			if _, err := tl.Changed(moved, false, func(wire.Copy) error { return errFailed }, discard); err != errFailed {
				t.Fatalf("moving a window: %v, want the copy's error", err)
			}
			n, err := tl.Changed(frame, false, nil, pic.tile)
			if cols, rows := (w+63)/64, (h+63)/64; err != nil || n != cols*rows {
				t.Fatalf("after a failed copy, %d tiles (%v), want all %d", n, err, cols*rows)
			}
			if !bytes.Equal(pic.RGB, frame) {
				t.Fatal("after a failed copy, the picture differs")
			}
		}
	}
	if total < 50 {
		t.Errorf("only %d copies in 200 frames of moving windows", total)
	}
}

var errFailed = errors.New("the viewer is gone")

// TestPictureRefuses: a copy or tile reaching outside the screen is
// ErrCorrupt and changes nothing.
func TestPictureRefuses(t *testing.T) {
	p := NewPicture(100, 50)
	p.RGB[0] = 9
	for _, m := range []wire.Message{
		wire.Copy{SrcX: 90, W: 11, H: 1},
		wire.Copy{DstY: 49, W: 1, H: 2},
		wire.Copy{W: 0, H: 1},
		wire.Copy{SrcX: 65535, SrcY: 65535, W: 65535, H: 65535},
		wire.Tile{X: 99, W: 2, H: 1, Encoding: wire.EncSolid, Data: []byte{1, 2, 3}},
	} {
		if err := p.Apply(m); err == nil {
			t.Errorf("%+v: accepted", m)
		}
	}
	if p.RGB[0] != 9 || bytes.Count(p.RGB, []byte{0}) != len(p.RGB)-1 {
		t.Error("a refused message changed the picture")
	}
}

// FuzzPicture: any stream of frames decodes without a panic, and what the
// picture refuses is ErrCorrupt or malformed.
func FuzzPicture(f *testing.F) {
	for _, g := range streams(f) {
		var b []byte
		for _, fr := range g.Frames {
			b = append(b, fr...)
		}
		f.Add(uint16(g.W), uint16(g.H), b)
	}
	f.Add(uint16(10), uint16(10), []byte{byte(wire.TCopy), 0, 0, 0, 0, 12, 0, 0, 0, 0, 0, 1, 0, 1, 0, 9, 0, 9})
	f.Fuzz(func(t *testing.T, w, h uint16, stream []byte) {
		if w == 0 || h == 0 || int(w)*int(h) > 1<<18 {
			return
		}
		p := NewPicture(int(w), int(h))
		r := bytes.NewReader(stream)
		for {
			fr, err := wire.ReadFrame(r, nil)
			if err != nil {
				return
			}
			m, err := wire.Decode(fr)
			if err != nil {
				continue
			}
			p.Apply(m)
		}
	})
}
