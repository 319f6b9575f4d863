package win32

import (
	"errors"
	"strings"
)

// ErrNotWindows is what the package's functions return on other systems.
var ErrNotWindows = errors.New("win32: not Windows")

// maxNotches bounds the wheel clicks of one event, as on X11.
const maxNotches = 10

// absolute maps a pixel position in a virtual screen of w×h pixels
// (relative to its top-left corner) to the normalised coordinates of
// MOUSEEVENTF_ABSOLUTE|MOUSEEVENTF_VIRTUALDESK, 0..65535 on each axis,
// clamping it to the screen first.
//
// Windows turns a normalised coordinate n back into a pixel with either
// n*w/65536 rounded down or n*w/65535 rounded to nearest, depending on the
// version; the smallest n whose first form lands on the pixel,
// ceil(x*65536/w), lands on it with the second form too for any screen
// narrower than 16384 pixels.
func absolute(x, y int32, w, h int) (nx, ny int32) {
	return axis(x, w), axis(y, h)
}

func axis(v int32, size int) int32 {
	if size <= 1 {
		return 0
	}
	p := int64(max(0, min(v, int32(size-1))))
	n := (p*65536 + int64(size) - 1) / int64(size)
	return int32(min(n, 65535))
}

// notches clamps a wheel movement to ±maxNotches.
func notches(n int32) int32 {
	return max(-maxNotches, min(n, maxNotches))
}

// bgraToRGB converts w×h pixels of 32-bit BGRA rows, stride bytes apart,
// into packed RGB in dst (w*h*3 bytes).
func bgraToRGB(dst, src []byte, w, h, stride int) {
	for y := range h {
		s := src[y*stride : y*stride+w*4]
		d := dst[y*w*3 : (y+1)*w*3]
		for x := range w {
			d[x*3], d[x*3+1], d[x*3+2] = s[x*4+2], s[x*4+1], s[x*4]
		}
	}
}

// blit copies a sw×sh image of 4-byte pixels (rows spitch bytes apart) into
// a packed dw×dh image of 4-byte pixels at position x,y, leaving out what
// falls outside it.
func blit(dst []byte, dw, dh int, src []byte, sw, sh, spitch, x, y int) {
	x0, y0 := max(x, 0), max(y, 0)
	x1, y1 := min(x+sw, dw), min(y+sh, dh)
	if x0 >= x1 || y0 >= y1 {
		return
	}
	for row := y0; row < y1; row++ {
		s := src[(row-y)*spitch+(x0-x)*4 : (row-y)*spitch+(x1-x)*4]
		copy(dst[(row*dw+x0)*4:(row*dw+x1)*4], s)
	}
}

// toCRLF writes line breaks the Windows way, as the clipboard expects:
// every "\n" not already after "\r" becomes "\r\n".
func toCRLF(s string) string {
	if !strings.Contains(s, "\n") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + strings.Count(s, "\n"))
	for i := range len(s) {
		if s[i] == '\n' && (i == 0 || s[i-1] != '\r') {
			b.WriteByte('\r')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// fromCRLF turns the clipboard's "\r\n" into "\n", as the other platforms
// write text.
func fromCRLF(s string) string {
	return strings.ReplaceAll(s, "\r\n", "\n")
}
