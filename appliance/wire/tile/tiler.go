package tile

import (
	"bytes"
	"fmt"
)

// A Tiler remembers the last frame of a screen and encodes the tiles that
// changed since. It is not safe for concurrent use.
type Tiler struct {
	w, h  int
	prev  []byte // the frame as last sent
	valid bool   // prev holds a frame
	enc   *Encoder
	tile  []byte
}

// NewTiler returns a Tiler for a w×h screen.
func NewTiler(w, h int) *Tiler {
	return &Tiler{w: w, h: h, prev: make([]byte, w*h*3), enc: NewEncoder(), tile: make([]byte, 0, TileSize*TileSize*3)}
}

// Size returns the screen size the Tiler was made for.
func (t *Tiler) Size() (w, h int) { return t.w, t.h }

// EmitFunc receives one encoded tile; data is valid only during the call.
type EmitFunc func(x, y, w, h int, enc uint8, data []byte) error

// Changed compares frame (w×h RGB pixels) with the last one and calls
// emit for every tile that differs, or for every tile when all is true or
// no frame came before. It returns how many tiles it emitted, and stops at
// the first error of emit (the tiles not emitted count as unsent).
func (t *Tiler) Changed(frame []byte, all bool, emit EmitFunc) (int, error) {
	if len(frame) != t.w*t.h*3 {
		return 0, fmt.Errorf("codec: frame of %d bytes for a %dx%d screen", len(frame), t.w, t.h)
	}
	all = all || !t.valid
	t.valid = true
	stride := t.w * 3
	sent := 0
	for y := 0; y < t.h; y += TileSize {
		th := min(TileSize, t.h-y)
		for x := 0; x < t.w; x += TileSize {
			tw := min(TileSize, t.w-x)
			off, rowLen := y*stride+x*3, tw*3
			changed := all
			for r := 0; r < th && !changed; r++ {
				o := off + r*stride
				changed = !bytes.Equal(frame[o:o+rowLen], t.prev[o:o+rowLen])
			}
			if !changed {
				continue
			}
			t.tile = t.tile[:0]
			for r := range th {
				o := off + r*stride
				t.tile = append(t.tile, frame[o:o+rowLen]...)
			}
			enc, data := t.enc.Encode(t.tile, tw, th)
			if err := emit(x, y, tw, th, enc, data); err != nil {
				t.valid = false // the viewer's picture is unknown now
				return sent, err
			}
			sent++
			for r := range th {
				o := off + r*stride
				copy(t.prev[o:o+rowLen], frame[o:o+rowLen])
			}
		}
	}
	return sent, nil
}
