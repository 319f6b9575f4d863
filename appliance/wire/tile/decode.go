package tile

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"image/jpeg"
	"io"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// Decode returns the w×h RGB pixels of a tile in encoding enc. Tiles are
// at most TileSize pixels on a side; anything that does not decode to
// exactly w×h pixels is ErrCorrupt. All encodings but EncJPEG are exact.
func Decode(enc uint8, data []byte, w, h int) ([]byte, error) {
	if w <= 0 || h <= 0 || w > TileSize || h > TileSize {
		return nil, fmt.Errorf("%w: %dx%d tile", ErrCorrupt, w, h)
	}
	n := w * h
	switch enc {
	case wire.EncRaw:
		if len(data) != n*3 {
			return nil, fmt.Errorf("%w: raw tile of %d bytes, want %d", ErrCorrupt, len(data), n*3)
		}
		return bytes.Clone(data), nil
	case wire.EncSolid:
		if len(data) != 3 {
			return nil, fmt.Errorf("%w: solid tile of %d bytes", ErrCorrupt, len(data))
		}
		return bytes.Repeat(data, n), nil
	case wire.EncPaletteRLE:
		return decodePalette(data, n)
	case wire.EncDeflate:
		zr, err := zlib.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		px := make([]byte, n*3)
		if _, err := io.ReadFull(zr, px); err != nil {
			return nil, fmt.Errorf("%w: deflate: %v", ErrCorrupt, err)
		}
		// The stream must end here, with a valid checksum.
		if k, err := zr.Read(make([]byte, 1)); k != 0 || err != io.EOF {
			return nil, fmt.Errorf("%w: deflate stream longer than the tile or damaged", ErrCorrupt)
		}
		return px, nil
	case wire.EncJPEG:
		return decodeJPEG(data, w, h)
	}
	return nil, fmt.Errorf("%w: encoding %d", ErrCorrupt, enc)
}

func decodePalette(data []byte, n int) ([]byte, error) {
	if len(data) < 1 || data[0] == 0 || len(data) < 1+int(data[0])*3 {
		return nil, fmt.Errorf("%w: palette cut short", ErrCorrupt)
	}
	colours := int(data[0])
	pal := data[1 : 1+colours*3]
	runs := data[1+colours*3:]
	px := make([]byte, 0, n*3)
	for len(runs) > 0 {
		idx := int(runs[0])
		count, k := binary.Uvarint(runs[1:])
		if k <= 0 || count == 0 || idx >= colours || count > uint64(n-len(px)/3) {
			return nil, fmt.Errorf("%w: bad run at pixel %d", ErrCorrupt, len(px)/3)
		}
		runs = runs[1+k:]
		c := pal[idx*3 : idx*3+3]
		for range count {
			px = append(px, c...)
		}
	}
	if len(px) != n*3 {
		return nil, fmt.Errorf("%w: runs cover %d of %d pixels", ErrCorrupt, len(px)/3, n)
	}
	return px, nil
}

func decodeJPEG(data []byte, w, h int) ([]byte, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if cfg.Width != w || cfg.Height != h {
		return nil, fmt.Errorf("%w: %dx%d JPEG for a %dx%d tile", ErrCorrupt, cfg.Width, cfg.Height, w, h)
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	b := img.Bounds()
	px := make([]byte, 0, w*h*3)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			px = append(px, uint8(r>>8), uint8(g>>8), uint8(bl>>8))
		}
	}
	return px, nil
}

// Picture is a screen as a viewer draws it from the wire: tiles decoded
// into place and copies applied, in the order they came. The browser's
// decoder (remote.js) does the same on its canvas.
type Picture struct {
	W, H int
	RGB  []byte
}

// NewPicture returns a black w×h picture.
func NewPicture(w, h int) *Picture { return &Picture{W: w, H: h, RGB: make([]byte, w*h*3)} }

// Apply draws one Tile or Copy; other messages are ignored. A tile or copy
// reaching outside the picture, or a tile that does not decode, is
// ErrCorrupt and leaves the picture as it was.
func (p *Picture) Apply(m wire.Message) error {
	switch m := m.(type) {
	case wire.Tile:
		x, y, w, h := int(m.X), int(m.Y), int(m.W), int(m.H)
		if x+w > p.W || y+h > p.H {
			return fmt.Errorf("%w: %dx%d tile at %d,%d outside the %dx%d screen", ErrCorrupt, w, h, x, y, p.W, p.H)
		}
		px, err := Decode(m.Encoding, m.Data, w, h)
		if err != nil {
			return err
		}
		for r := range h {
			copy(p.RGB[((y+r)*p.W+x)*3:], px[r*w*3:(r+1)*w*3])
		}
	case wire.Copy:
		if !Inside(m, p.W, p.H) {
			return fmt.Errorf("%w: %dx%d copy from %d,%d to %d,%d outside the %dx%d screen", ErrCorrupt, m.W, m.H, m.SrcX, m.SrcY, m.DstX, m.DstY, p.W, p.H)
		}
		Move(p.RGB, p.W, m)
	}
	return nil
}

// Inside reports whether both rectangles of c lie inside a w×h screen and
// c has an area.
func Inside(c wire.Copy, w, h int) bool {
	cw, ch := int(c.W), int(c.H)
	return cw > 0 && ch > 0 && int(c.SrcX)+cw <= w && int(c.DstX)+cw <= w && int(c.SrcY)+ch <= h && int(c.DstY)+ch <= h
}
