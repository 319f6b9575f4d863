package tile

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// tiles are test tiles of each kind, by name.
func tiles() map[string]struct {
	w, h int
	px   []byte
} {
	r := rand.New(rand.NewPCG(1, 2))
	fill := func(w, h int, f func(x, y int) (uint8, uint8, uint8)) []byte {
		px := make([]byte, 0, w*h*3)
		for y := range h {
			for x := range w {
				a, b, c := f(x, y)
				px = append(px, a, b, c)
			}
		}
		return px
	}
	type tile = struct {
		w, h int
		px   []byte
	}
	return map[string]tile{
		"solid":  {64, 64, fill(64, 64, func(x, y int) (uint8, uint8, uint8) { return 10, 20, 30 })},
		"single": {1, 1, []byte{1, 2, 3}},
		"halves": {64, 64, fill(64, 64, func(x, y int) (uint8, uint8, uint8) { return 0, 0, uint8(y / 32) })},
		"text": {64, 64, fill(64, 64, func(x, y int) (uint8, uint8, uint8) {
			if (x/3+y/5)%4 == 0 && x%7 != 0 {
				return 0, 0, 0
			}
			return 255, 255, 255
		})},
		"edge 17x40 stripes": {17, 40, fill(17, 40, func(x, y int) (uint8, uint8, uint8) { return uint8(x * 15), 0, uint8(y) })},
		"gradient": {64, 64, fill(64, 64, func(x, y int) (uint8, uint8, uint8) {
			return uint8(x * 4), uint8(y * 4), uint8(x + y)
		})},
		"noise": {64, 64, fill(64, 64, func(x, y int) (uint8, uint8, uint8) {
			v := r.Uint32()
			return uint8(v), uint8(v >> 8), uint8(v >> 16)
		})},
		"photo": {64, 64, fill(64, 64, func(x, y int) (uint8, uint8, uint8) {
			n := uint8(r.IntN(12))
			return uint8(x*3) + n, uint8(y*2) + n, 128 + uint8(x+y)/2 + n
		})},
		"255 colours": {64, 64, fill(64, 64, func(x, y int) (uint8, uint8, uint8) { return uint8((y*64 + x) % 255), 1, 2 })},
	}
}

func TestRoundTrip(t *testing.T) {
	for name, tt := range tiles() {
		t.Run(name, func(t *testing.T) {
			enc, data := Encode(tt.px, tt.w, tt.h)
			got, err := Decode(enc, data, tt.w, tt.h)
			if err != nil {
				t.Fatalf("Decode(enc %d): %v", enc, err)
			}
			if enc == wire.EncJPEG {
				if d := meanDiff(got, tt.px); d > 12 {
					t.Errorf("JPEG differs by %.1f per channel on average", d)
				}
			} else if !bytes.Equal(got, tt.px) {
				t.Errorf("encoding %d does not round-trip", enc)
			}
			if len(data) > len(tt.px) {
				t.Errorf("encoding %d takes %d bytes, more than raw %d", enc, len(data), len(tt.px))
			}
			t.Logf("encoding %d: %d bytes of %d", enc, len(data), len(tt.px))
		})
	}
}

func TestChoice(t *testing.T) {
	all := tiles()
	want := map[string]uint8{
		"solid": wire.EncSolid, "single": wire.EncSolid, "halves": wire.EncPaletteRLE,
		"noise": wire.EncRaw, "photo": wire.EncJPEG,
	}
	for name, enc := range want {
		tt := all[name]
		if got, _ := Encode(tt.px, tt.w, tt.h); got != enc {
			t.Errorf("%s: encoding %d, want %d", name, got, enc)
		}
	}
}

// TestEveryEncodingDecodes checks each lossless format against the
// contract's table, built by hand.
func TestEveryEncodingDecodes(t *testing.T) {
	px := []byte{1, 2, 3, 1, 2, 3, 9, 9, 9, 1, 2, 3}
	tests := []struct {
		name string
		enc  uint8
		data []byte
		ok   bool
	}{
		{"raw", wire.EncRaw, px, true},
		{"raw short", wire.EncRaw, px[:11], false},
		{"solid", wire.EncSolid, []byte{1, 2, 3}, false}, // not solid: differs
		{"palette", wire.EncPaletteRLE, []byte{2, 1, 2, 3, 9, 9, 9, 0, 2, 1, 1, 0, 1}, true},
		{"palette overrun", wire.EncPaletteRLE, []byte{1, 1, 2, 3, 0, 5}, false},
		{"palette zero run", wire.EncPaletteRLE, []byte{1, 1, 2, 3, 0, 0, 0, 4}, false},
		{"palette bad index", wire.EncPaletteRLE, []byte{1, 1, 2, 3, 1, 4}, false},
		{"palette short", wire.EncPaletteRLE, []byte{2, 1, 2, 3, 0, 4}, false},
		{"palette no colours", wire.EncPaletteRLE, []byte{0, 0, 4}, false},
		{"palette runs short", wire.EncPaletteRLE, []byte{1, 1, 2, 3, 0, 3}, false},
		{"jpeg garbage", wire.EncJPEG, []byte{0xff, 0xd8, 0}, false},
		{"deflate garbage", wire.EncDeflate, []byte{0x78, 0x01, 0}, false},
		{"unknown", 9, px, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.enc, tt.data, 2, 2)
			if tt.ok && (err != nil || !bytes.Equal(got, px)) {
				t.Fatalf("Decode = %v, %v; want %v", got, err, px)
			}
			if !tt.ok && tt.name != "solid" && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode = %v, want ErrCorrupt", err)
			}
		})
	}
	// A varint run count of 300 (two bytes: 0xac 0x02) over a 20×15 tile.
	if got, err := Decode(wire.EncPaletteRLE, []byte{1, 7, 7, 7, 0, 0xac, 0x02}, 20, 15); err != nil || !bytes.Equal(got, bytes.Repeat([]byte{7}, 900)) {
		t.Errorf("two-byte run: %v", err)
	}
}

func TestTiler(t *testing.T) {
	const w, h = 150, 70 // partial tiles at the right and bottom
	frame := make([]byte, w*h*3)
	tl := NewTiler(w, h)
	pic := NewPicture(w, h)
	count := func(all bool) int {
		t.Helper()
		n, err := tl.Changed(frame, all, nil, pic.tile)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pic.RGB, frame) {
			t.Fatal("decoded screen differs from the frame")
		}
		return n
	}
	if n := count(false); n != 6 {
		t.Errorf("first frame: %d tiles, want all 6", n)
	}
	if n := count(false); n != 0 {
		t.Errorf("unchanged frame: %d tiles", n)
	}
	frame[(65*w+149)*3] = 200 // bottom-right tile only
	var got []wire.Tile
	if _, err := tl.Changed(frame, false, nil, func(x, y, tw, th int, enc uint8, data []byte) error {
		got = append(got, wire.Tile{X: uint16(x), Y: uint16(y), W: uint16(tw), H: uint16(th), Encoding: enc})
		return pic.tile(x, y, tw, th, enc, data)
	}); err != nil {
		t.Fatal(err)
	}
	// Only the pixel that changed is sent, not its whole tile.
	if len(got) != 1 || got[0].X != 149 || got[0].Y != 65 || got[0].W != 1 || got[0].H != 1 {
		t.Errorf("one pixel: sent %+v", got)
	}
	if n := count(true); n != 6 {
		t.Errorf("full frame: %d tiles", n)
	}
}

// tile is an EmitFunc drawing into p.
func (p *Picture) tile(x, y, w, h int, enc uint8, data []byte) error {
	return p.Apply(wire.Tile{X: uint16(x), Y: uint16(y), W: uint16(w), H: uint16(h), Encoding: enc, Data: data})
}

func meanDiff(a, b []byte) float64 {
	sum := 0
	for i := range a {
		d := int(a[i]) - int(b[i])
		sum += max(d, -d)
	}
	return float64(sum) / float64(len(a))
}

func FuzzDecode(f *testing.F) {
	for _, tt := range tiles() {
		enc, data := Encode(tt.px, tt.w, tt.h)
		f.Add(enc, data, uint8(tt.w), uint8(tt.h))
	}
	f.Add(uint8(wire.EncPaletteRLE), []byte{1, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, uint8(64), uint8(64))
	f.Add(uint8(wire.EncDeflate), []byte{0x78, 0x9c}, uint8(1), uint8(1))
	f.Fuzz(func(t *testing.T, enc uint8, data []byte, w, h uint8) {
		px, err := Decode(enc, data, int(w), int(h))
		if err != nil {
			return
		}
		if len(px) != int(w)*int(h)*3 {
			t.Fatalf("decoded %d bytes for %dx%d", len(px), w, h)
		}
		// What decodes re-encodes to a tile that decodes the same
		// (exactly, unless the encoder picks JPEG).
		e2, d2 := Encode(px, int(w), int(h))
		px2, err := Decode(e2, d2, int(w), int(h))
		if err != nil {
			t.Fatalf("re-encoded tile does not decode: %v", err)
		}
		if e2 != wire.EncJPEG && !bytes.Equal(px, px2) {
			t.Fatal("re-encoded tile differs")
		}
	})
}
