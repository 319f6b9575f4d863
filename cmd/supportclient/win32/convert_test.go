package win32

import (
	"bytes"
	"testing"
)

// TestAbsolute: every pixel of a screen maps to a normalised coordinate
// that Windows maps back to the same pixel, whichever of its two
// conversions it uses, and positions outside the screen are clamped.
func TestAbsolute(t *testing.T) {
	floorBack := func(n int32, size int) int32 { return int32(int64(n) * int64(size) / 65536) }
	roundBack := func(n int32, size int) int32 { return int32((int64(n)*int64(size) + 65535/2) / 65535) }
	for _, size := range []int{1, 2, 3, 640, 800, 1024, 1080, 1280, 1366, 1920, 2560, 3840, 5120, 7680, 16383} {
		for p := range int32(size) {
			n := axis(p, size)
			if n < 0 || n > 65535 {
				t.Fatalf("size %d: pixel %d → %d, outside 0..65535", size, p, n)
			}
			if size == 1 {
				continue
			}
			if got := floorBack(n, size); got != p {
				t.Fatalf("size %d: pixel %d → %d → %d with n*w/65536", size, p, n, got)
			}
			if got := roundBack(n, size); got != p {
				t.Fatalf("size %d: pixel %d → %d → %d with round(n*w/65535)", size, p, n, got)
			}
		}
	}
	for _, tc := range []struct {
		x, y   int32
		w, h   int
		nx, ny int32
	}{
		{0, 0, 1920, 1080, 0, 0},
		{-5, -100, 1920, 1080, 0, 0},
		{1919, 1079, 1920, 1080, axis(1919, 1920), axis(1079, 1080)},
		{5000, 99999, 1920, 1080, axis(1919, 1920), axis(1079, 1080)},
		{-2147483648, 2147483647, 1920, 1080, 0, axis(1079, 1080)},
		{10, 10, 0, 0, 0, 0},
	} {
		nx, ny := absolute(tc.x, tc.y, tc.w, tc.h)
		if nx != tc.nx || ny != tc.ny {
			t.Errorf("absolute(%d, %d, %d, %d) = %d, %d; want %d, %d", tc.x, tc.y, tc.w, tc.h, nx, ny, tc.nx, tc.ny)
		}
	}
}

func TestNotches(t *testing.T) {
	for in, want := range map[int32]int32{0: 0, 1: 1, -1: -1, 10: 10, 11: 10, -11: -10, 1 << 30: 10, -1 << 31: -10} {
		if got := notches(in); got != want {
			t.Errorf("notches(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestBGRAToRGB(t *testing.T) {
	// 2×2 pixels in rows of 12 bytes (4 bytes of padding each).
	src := []byte{
		1, 2, 3, 0xff, 4, 5, 6, 0xff, 0xee, 0xee, 0xee, 0xee,
		7, 8, 9, 0, 10, 11, 12, 0, 0xee, 0xee, 0xee, 0xee,
	}
	dst := make([]byte, 12)
	bgraToRGB(dst, src, 2, 2, 12)
	want := []byte{3, 2, 1, 6, 5, 4, 9, 8, 7, 12, 11, 10}
	if !bytes.Equal(dst, want) {
		t.Errorf("bgraToRGB = %v, want %v", dst, want)
	}
}

func TestBlit(t *testing.T) {
	// A 2×2 source of pixels numbered 1..4 (each 4 bytes of that number)
	// with a row pitch of 12 bytes, into a 3×3 frame of zeros.
	src := []byte{
		1, 1, 1, 1, 2, 2, 2, 2, 9, 9, 9, 9,
		3, 3, 3, 3, 4, 4, 4, 4, 9, 9, 9, 9,
	}
	frame := func(px ...byte) []byte {
		var b []byte
		for _, p := range px {
			b = append(b, p, p, p, p)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		x, y int
		want []byte
	}{
		{"inside", 1, 1, frame(0, 0, 0, 0, 1, 2, 0, 3, 4)},
		{"origin", 0, 0, frame(1, 2, 0, 3, 4, 0, 0, 0, 0)},
		{"clipped right and bottom", 2, 2, frame(0, 0, 0, 0, 0, 0, 0, 0, 1)},
		{"clipped left and top", -1, -1, frame(4, 0, 0, 0, 0, 0, 0, 0, 0)},
		{"outside", 3, 0, frame(0, 0, 0, 0, 0, 0, 0, 0, 0)},
		{"far outside", -5, 1, frame(0, 0, 0, 0, 0, 0, 0, 0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dst := make([]byte, 3*3*4)
			blit(dst, 3, 3, src, 2, 2, 12, tc.x, tc.y)
			if !bytes.Equal(dst, tc.want) {
				t.Errorf("got %v, want %v", dst, tc.want)
			}
		})
	}
}

func TestCRLF(t *testing.T) {
	for _, tc := range []struct{ in, crlf string }{
		{"", ""},
		{"one line", "one line"},
		{"a\nb", "a\r\nb"},
		{"a\r\nb", "a\r\nb"},
		{"\n\n", "\r\n\r\n"},
		{"a\rb", "a\rb"},
		{"ü\n€\n", "ü\r\n€\r\n"},
	} {
		if got := toCRLF(tc.in); got != tc.crlf {
			t.Errorf("toCRLF(%q) = %q, want %q", tc.in, got, tc.crlf)
		}
	}
	for in, want := range map[string]string{"a\r\nb": "a\nb", "a\nb": "a\nb", "a\rb": "a\rb", "\r\n\r\n": "\n\n"} {
		if got := fromCRLF(in); got != want {
			t.Errorf("fromCRLF(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNewPrompter(t *testing.T) {
	p := NewPrompter("T", "", "Nein", "")
	if *p != (Prompter{Title: "T", Allow: defaultAllow, Deny: "Nein", Stop: defaultStop}) {
		t.Errorf("NewPrompter = %+v", *p)
	}
}
