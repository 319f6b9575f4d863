package tile

import (
	"bytes"
	"fmt"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// A Tiler remembers the picture its viewers have of a screen and sends
// what changed in a new frame: first copies of regions that moved (a
// window dragged, a page scrolled), then the tiles that still differ, each
// cut to the part of it that changed. It is not safe for concurrent use.
type Tiler struct {
	w, h  int
	prev  []byte // the picture as the viewers have it
	valid bool   // prev holds what was sent
	enc   *Encoder
	tile  []byte
	m     motion
}

// NewTiler returns a Tiler for a w×h screen.
func NewTiler(w, h int) *Tiler {
	return &Tiler{w: w, h: h, prev: make([]byte, w*h*3), enc: NewEncoder(), tile: make([]byte, 0, TileSize*TileSize*3)}
}

// Size returns the screen size the Tiler was made for.
func (t *Tiler) Size() (w, h int) { return t.w, t.h }

// EmitFunc receives one encoded tile; data is valid only during the call.
type EmitFunc func(x, y, w, h int, enc uint8, data []byte) error

// CopyFunc receives one copy, which the viewer applies before the tiles
// that follow it.
type CopyFunc func(c wire.Copy) error

// Changed compares frame (w×h RGB pixels) with the viewers' picture. When
// copy is not nil it first calls copy for each region that only moved;
// then it calls emit for every tile that still differs, or for every whole
// tile when all is true or nothing was sent before. It returns how many
// copies and tiles it sent, and stops at the first error of copy or emit
// (the next call then sends every tile, the viewers' picture being
// unknown).
func (t *Tiler) Changed(frame []byte, all bool, copy CopyFunc, emit EmitFunc) (int, error) {
	if len(frame) != t.w*t.h*3 {
		return 0, fmt.Errorf("codec: frame of %d bytes for a %dx%d screen", len(frame), t.w, t.h)
	}
	all = all || !t.valid
	t.valid = true
	cols := (t.w + TileSize - 1) / TileSize
	sent := 0
	var dirty []int32 // the tiles to look at; nil: every tile
	if !all {
		dirty = t.dirtyTiles(frame, cols)
		if copy != nil && len(dirty) >= minMovedTiles {
			n, err := t.moves(frame, cols, dirty, copy)
			sent += n
			if err != nil {
				t.valid = false
				return sent, err
			}
		}
	}
	visit := func(tx, ty int) error {
		x, y := tx*TileSize, ty*TileSize
		w, h := min(TileSize, t.w-x), min(TileSize, t.h-y)
		if !all {
			var ok bool
			if x, y, w, h, ok = t.changedPart(frame, x, y, w, h); !ok {
				return nil
			}
		}
		if err := t.send(frame, x, y, w, h, emit); err != nil {
			t.valid = false
			return err
		}
		sent++
		return nil
	}
	if all {
		rows := (t.h + TileSize - 1) / TileSize
		for ty := range rows {
			for tx := range cols {
				if err := visit(tx, ty); err != nil {
					return sent, err
				}
			}
		}
		return sent, nil
	}
	for _, i := range dirty {
		if err := visit(int(i)%cols, int(i)/cols); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// dirtyTiles returns the index (row × cols + column) of every tile of
// frame that differs from the picture.
func (t *Tiler) dirtyTiles(frame []byte, cols int) []int32 {
	d := t.m.dirty[:0]
	stride := t.w * 3
	for y := 0; y < t.h; y += TileSize {
		th := min(TileSize, t.h-y)
		for x := 0; x < t.w; x += TileSize {
			off, rowLen := y*stride+x*3, min(TileSize, t.w-x)*3
			for r := range th {
				o := off + r*stride
				if !bytes.Equal(frame[o:o+rowLen], t.prev[o:o+rowLen]) {
					d = append(d, int32(y/TileSize*cols+x/TileSize))
					break
				}
			}
		}
	}
	t.m.dirty = d
	return d
}

// changedPart returns the smallest rectangle of the tile at x,y (w×h) that
// holds every pixel of frame differing from the picture; ok is false when
// none does.
func (t *Tiler) changedPart(frame []byte, x, y, w, h int) (px, py, pw, ph int, ok bool) {
	stride := t.w * 3
	top, bottom, left, right := -1, -1, w, -1
	for r := range h {
		o := (y+r)*stride + x*3
		a, b := frame[o:o+w*3], t.prev[o:o+w*3]
		if bytes.Equal(a, b) {
			continue
		}
		if top < 0 {
			top = r
		}
		bottom = r
		l := 0
		for l < w && a[l*3] == b[l*3] && a[l*3+1] == b[l*3+1] && a[l*3+2] == b[l*3+2] {
			l++
		}
		rr := w - 1
		for rr > l && a[rr*3] == b[rr*3] && a[rr*3+1] == b[rr*3+1] && a[rr*3+2] == b[rr*3+2] {
			rr--
		}
		left, right = min(left, l), max(right, rr)
	}
	if top < 0 {
		return 0, 0, 0, 0, false
	}
	return x + left, y + top, right - left + 1, bottom - top + 1, true
}

// send encodes the w×h rectangle of frame at x,y, emits it and takes it
// into the picture.
func (t *Tiler) send(frame []byte, x, y, w, h int, emit EmitFunc) error {
	stride := t.w * 3
	t.tile = t.tile[:0]
	for r := range h {
		o := (y+r)*stride + x*3
		t.tile = append(t.tile, frame[o:o+w*3]...)
	}
	enc, data := t.enc.Encode(t.tile, w, h)
	if err := emit(x, y, w, h, enc, data); err != nil {
		return err
	}
	for r := range h {
		o := (y+r)*stride + x*3
		copy(t.prev[o:o+w*3], frame[o:o+w*3])
	}
	return nil
}
