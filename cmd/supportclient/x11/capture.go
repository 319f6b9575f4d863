package x11

import (
	"fmt"
	"math/bits"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// stripBytes bounds the size of one GetImage reply when shared memory is
// not available.
const stripBytes = 4 << 20

// capturer holds the pixel format of the root window and the buffers of
// capture.
type capturer struct {
	root  xproto.Window
	w, h  int
	bpp   int  // bits per pixel of the root depth: 16, 24 or 32
	pad   int  // scanline pad in bits
	msb   bool // image byte order is most significant byte first
	masks [3]uint32
	noShm bool // do not try shared memory (tests; set after a failure)
	shm   *shmSegment
	rgb   []byte
}

func (c *capturer) init(conn *xgb.Conn, setup *xproto.SetupInfo, screen *xproto.ScreenInfo) error {
	c.root = screen.Root
	c.w, c.h = int(screen.WidthInPixels), int(screen.HeightInPixels)
	c.msb = setup.ImageByteOrder == xproto.ImageOrderMSBFirst
	for _, f := range setup.PixmapFormats {
		if f.Depth == screen.RootDepth {
			c.bpp, c.pad = int(f.BitsPerPixel), int(f.ScanlinePad)
		}
	}
	found := false
	for _, dep := range screen.AllowedDepths {
		for _, v := range dep.Visuals {
			if v.VisualId == screen.RootVisual {
				if v.Class != xproto.VisualClassTrueColor && v.Class != xproto.VisualClassDirectColor {
					return fmt.Errorf("x11: the root visual is not true colour (class %d)", v.Class)
				}
				c.masks = [3]uint32{v.RedMask, v.GreenMask, v.BlueMask}
				found = true
			}
		}
	}
	if !found || (c.bpp != 16 && c.bpp != 24 && c.bpp != 32) || c.pad == 0 {
		return fmt.Errorf("x11: unsupported pixel format (depth %d, %d bits per pixel)", screen.RootDepth, c.bpp)
	}
	return nil
}

func (c *capturer) stride(w int) int {
	return (w*c.bpp + c.pad - 1) / c.pad * c.pad / 8
}

// Capture returns the whole screen as RGB pixels and its size. The slice
// is reused by the next call. A screen that changed size is returned at
// its new size.
func (d *Display) Capture() (rgb []byte, w, h int, err error) {
	d.capMu.Lock()
	defer d.capMu.Unlock()
	c := &d.cap
	if d.closed {
		return nil, 0, 0, fmt.Errorf("x11: display closed")
	}
	g, err := xproto.GetGeometry(d.conn, xproto.Drawable(c.root)).Reply()
	if err != nil {
		return nil, 0, 0, fmt.Errorf("x11: screen size: %w", err)
	}
	if int(g.Width) != c.w || int(g.Height) != c.h {
		c.w, c.h = int(g.Width), int(g.Height)
		c.close(d.conn) // the segment has the old size
	}
	if cap(c.rgb) < c.w*c.h*3 {
		c.rgb = make([]byte, c.w*c.h*3)
	}
	c.rgb = c.rgb[:c.w*c.h*3]
	stride := c.stride(c.w)
	if !c.noShm {
		if err := c.captureShm(d.conn, stride); err == nil {
			return c.rgb, c.w, c.h, nil
		} else {
			d.log.Info("screen capture without shared memory", "reason", err)
			c.close(d.conn)
			c.noShm = true
		}
	}
	rows := max(1, stripBytes/stride)
	for y := 0; y < c.h; y += rows {
		n := min(rows, c.h-y)
		img, err := xproto.GetImage(d.conn, xproto.ImageFormatZPixmap, xproto.Drawable(c.root), 0, int16(y), uint16(c.w), uint16(n), ^uint32(0)).Reply()
		if err != nil {
			return nil, 0, 0, fmt.Errorf("x11: capture: %w", err)
		}
		if len(img.Data) < stride*n {
			return nil, 0, 0, fmt.Errorf("x11: capture: %d bytes for %d rows", len(img.Data), n)
		}
		c.convert(c.rgb[y*c.w*3:(y+n)*c.w*3], img.Data, stride, n)
	}
	return c.rgb, c.w, c.h, nil
}

func (c *capturer) captureShm(conn *xgb.Conn, stride int) error {
	if c.shm == nil {
		s, err := newShmSegment(conn, stride*c.h)
		if err != nil {
			return err
		}
		c.shm = s
	}
	if err := c.shm.getImage(conn, c.root, c.w, c.h); err != nil {
		return err
	}
	c.convert(c.rgb, c.shm.data[:stride*c.h], stride, c.h)
	return nil
}

func (c *capturer) close(conn *xgb.Conn) {
	if c.shm != nil {
		c.shm.close(conn)
		c.shm = nil
	}
}

// convert turns rows of native pixels (stride bytes apart) into RGB.
func (c *capturer) convert(dst, src []byte, stride, rows int) {
	w := c.w
	if c.bpp == 32 && !c.msb && c.masks == [3]uint32{0xff0000, 0xff00, 0xff} {
		for y := range rows {
			s := src[y*stride : y*stride+w*4]
			o := dst[y*w*3 : (y+1)*w*3]
			for x := range w {
				o[x*3], o[x*3+1], o[x*3+2] = s[x*4+2], s[x*4+1], s[x*4]
			}
		}
		return
	}
	var shift, width [3]int
	for i, m := range c.masks {
		shift[i] = bits.TrailingZeros32(m)
		width[i] = bits.OnesCount32(m)
	}
	bpp := c.bpp / 8
	for y := range rows {
		for x := range w {
			p := src[y*stride+x*bpp : y*stride+x*bpp+bpp]
			var v uint32
			for i := range bpp {
				if c.msb {
					v = v<<8 | uint32(p[i])
				} else {
					v |= uint32(p[i]) << (8 * i)
				}
			}
			o := (y*w + x) * 3
			for i, m := range c.masks {
				dst[o+i] = scale((v&m)>>shift[i], width[i])
			}
		}
	}
}

// scale widens or narrows a colour value of n bits to 8 bits.
func scale(v uint32, n int) uint8 {
	switch {
	case n == 8:
		return uint8(v)
	case n > 8:
		return uint8(v >> (n - 8))
	case n == 0:
		return 0
	}
	return uint8(v * 255 / (1<<n - 1))
}
