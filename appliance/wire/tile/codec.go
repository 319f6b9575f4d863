// Package tile encodes screen tiles for the wire (docs/remote-control.md
// §1, "Tile data"): each tile of at most 64×64 RGB pixels becomes the
// smallest of a solid colour, a palette with run lengths, a zlib stream of
// the raw pixels, a JPEG (for photo-like tiles only) or the raw pixels.
// Decode is the reverse, for tests and native tools; the browser's decoder
// follows the same table.
//
// Pixels are RGB, 3 bytes each, row-major, with no padding between rows.
package tile

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// TileSize is the width and height of a full tile.
const TileSize = 64

// Encoding limits.
const (
	// maxPalette is the most colours a palette tile gets; counting gives
	// up past it, which bounds the work on photo-like tiles.
	maxPalette = 64
	// jpegQuality is the quality of photo-like tiles.
	jpegQuality = 75
	// jpegMinPixels: smaller tiles do not pay for a JPEG's headers.
	jpegMinPixels = 16 * 16
)

// ErrCorrupt means tile data does not decode to a tile of the given size.
var ErrCorrupt = errors.New("codec: corrupt tile")

// An Encoder encodes tiles, reusing its buffers. It is not safe for
// concurrent use; the data it returns is valid until the next call.
type Encoder struct {
	out     []byte
	best    []byte
	zbuf    bytes.Buffer
	zfast   *zlib.Writer // for tiles of many colours (rarely deflate well)
	zgood   *zlib.Writer // for tiles of few colours (text, drawings)
	jbuf    bytes.Buffer
	palette []uint32
	index   []uint8
}

// NewEncoder returns an Encoder.
func NewEncoder() *Encoder {
	zfast, _ := zlib.NewWriterLevel(io.Discard, zlib.BestSpeed)
	zgood, _ := zlib.NewWriterLevel(io.Discard, zlib.DefaultCompression)
	return &Encoder{zfast: zfast, zgood: zgood, palette: make([]uint32, 0, maxPalette)}
}

// Encode returns the encoding and data of the tile px (w×h RGB pixels),
// choosing the smallest that is exact, or a JPEG when the tile is
// photo-like and the JPEG is much smaller than every exact encoding.
func (e *Encoder) Encode(px []byte, w, h int) (enc uint8, data []byte) {
	n := w * h
	if len(px) != n*3 || w <= 0 || h <= 0 {
		panic(fmt.Sprintf("codec: %d bytes for a %dx%d tile", len(px), w, h))
	}
	if solid(px) {
		e.out = append(e.out[:0], px[:3]...)
		return wire.EncSolid, e.out
	}
	enc, data = wire.EncRaw, px
	zw := e.zfast
	if e.countColours(px) {
		zw = e.zgood
		data = e.paletteRLE(px)
		enc = wire.EncPaletteRLE
		if len(data) <= n/8 { // already tiny: deflate would gain little
			return enc, data
		}
		e.best = append(e.best[:0], data...)
		data = e.best
	}
	if z := e.deflate(zw, px); len(z) < len(data) {
		enc, data = wire.EncDeflate, z
	}
	// Photo-like: many colours that deflate poorly, changing smoothly
	// (random noise would lose everything in a JPEG).
	if enc != wire.EncPaletteRLE && n >= jpegMinPixels && len(data) > n && smooth(px, w) {
		if j := e.jpeg(px, w, h); len(j)*2 < len(data) {
			enc, data = wire.EncJPEG, j
		}
	}
	return enc, data
}

// Encode encodes one tile with a fresh Encoder; see Encoder.Encode.
func Encode(px []byte, w, h int) (enc uint8, data []byte) {
	enc, data = NewEncoder().Encode(px, w, h)
	return enc, bytes.Clone(data)
}

// maxRoughness is the mean difference between neighbouring samples above
// which a tile is not photo-like.
const maxRoughness = 24

// smooth reports whether neighbouring pixels of the tile (w pixels wide)
// differ little on average, sampling every other row.
func smooth(px []byte, w int) bool {
	sum, count := 0, 0
	stride := w * 3
	for row := 0; row+stride <= len(px); row += 2 * stride {
		for i := row; i+3 < row+stride; i++ {
			d := int(px[i]) - int(px[i+3])
			sum += max(d, -d)
		}
		count += stride - 3
	}
	return count > 0 && sum <= maxRoughness*count
}

func solid(px []byte) bool {
	r, g, b := px[0], px[1], px[2]
	for i := 3; i < len(px); i += 3 {
		if px[i] != r || px[i+1] != g || px[i+2] != b {
			return false
		}
	}
	return true
}

func rgb(px []byte, i int) uint32 {
	return uint32(px[i])<<16 | uint32(px[i+1])<<8 | uint32(px[i+2])
}

// countColours fills e.palette and e.index (one palette index per pixel)
// and reports whether the tile has at most maxPalette colours.
func (e *Encoder) countColours(px []byte) bool {
	e.palette = e.palette[:0]
	e.index = e.index[:0]
	last, lastIdx := ^uint32(0), uint8(0)
	for i := 0; i < len(px); i += 3 {
		c := rgb(px, i)
		if c != last {
			found := false
			for j, p := range e.palette {
				if p == c {
					lastIdx, found = uint8(j), true
					break
				}
			}
			if !found {
				if len(e.palette) == maxPalette {
					return false
				}
				lastIdx = uint8(len(e.palette))
				e.palette = append(e.palette, c)
			}
			last = c
		}
		e.index = append(e.index, lastIdx)
	}
	return true
}

// paletteRLE encodes e.palette and e.index: n, the palette, then runs of
// (index u8, count uvarint).
func (e *Encoder) paletteRLE(px []byte) []byte {
	b := append(e.out[:0], uint8(len(e.palette)))
	for _, c := range e.palette {
		b = append(b, uint8(c>>16), uint8(c>>8), uint8(c))
	}
	idx := e.index
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && idx[j] == idx[i] {
			j++
		}
		b = append(b, idx[i])
		b = binary.AppendUvarint(b, uint64(j-i))
		i = j
	}
	e.out = b
	return b
}

func (e *Encoder) deflate(zw *zlib.Writer, px []byte) []byte {
	e.zbuf.Reset()
	zw.Reset(&e.zbuf)
	zw.Write(px)
	zw.Close()
	return e.zbuf.Bytes()
}

func (e *Encoder) jpeg(px []byte, w, h int) []byte {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := (y*w + x) * 3
			r, g, b := int32(px[i]), int32(px[i+1]), int32(px[i+2])
			// BT.601 full range, as image/color.RGBToYCbCr, without the
			// chroma averaging: the encoder takes every other sample.
			img.Y[y*img.YStride+x] = uint8((19595*r + 38470*g + 7471*b + 1<<15) >> 16)
			if x%2 == 0 && y%2 == 0 {
				ci := (y/2)*img.CStride + x/2
				cb := -11056*r - 21712*g + 32768*b + 257<<15
				cr := 32768*r - 27440*g - 5328*b + 257<<15
				img.Cb[ci] = clamp(cb >> 16)
				img.Cr[ci] = clamp(cr >> 16)
			}
		}
	}
	e.jbuf.Reset()
	if err := jpeg.Encode(&e.jbuf, img, &jpeg.Options{Quality: jpegQuality}); err != nil {
		panic(err) // writing to a buffer cannot fail
	}
	return e.jbuf.Bytes()
}

func clamp(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}
