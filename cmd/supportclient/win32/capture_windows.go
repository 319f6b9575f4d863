//go:build windows

package win32

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Capture methods, as Method reports them.
const (
	MethodDXGI = "dxgi"
	MethodGDI  = "gdi"
)

// DXGI is tried again after a failure, first after dxgiRetryMin and then
// less and less often.
const (
	dxgiRetryMin = 2 * time.Second
	dxgiRetryMax = 2 * time.Minute
)

// capturer holds the frame that capture composes the screen in, the DXGI
// duplication when there is one, and the RGB buffer it returns.
type capturer struct {
	log    *slog.Logger
	frame  gdiFrame
	dx     *duplicator
	retry  time.Time     // when DXGI may be tried again
	wait   time.Duration // the pause before the next retry after a failure
	method atomic.Value  // string: what the last capture used
	rgb    []byte
}

func (c *capturer) init(log *slog.Logger) {
	c.log = log
	c.wait = dxgiRetryMin
	c.method.Store(MethodGDI)
	x, y, w, h := virtualScreen()
	if dx, err := newDuplicator(rect{x, y, x + w, y + h}); err != nil {
		c.dxgiFailed(err)
	} else {
		c.dx = dx
		c.method.Store(MethodDXGI)
	}
}

// Method reports what Capture uses now: "dxgi" (Desktop Duplication) or
// "gdi" (BitBlt from the screen).
func (d *Desktop) Method() string {
	return d.cap.method.Load().(string)
}

// dxgiFailed drops DXGI until its next retry, or for good when this
// Windows (or Wine) does not implement it.
func (c *capturer) dxgiFailed(err error) {
	if c.dx != nil {
		c.dx.close()
		c.dx = nil
	}
	level := slog.LevelDebug
	if c.method.Load() == MethodDXGI || c.retry.IsZero() {
		level = slog.LevelInfo // the first failure, or DXGI stopped working
	}
	c.method.Store(MethodGDI)
	var missing *windows.DLLError
	if errors.Is(err, eNotImpl) || errors.Is(err, eNoInterface) || errors.As(err, &missing) {
		c.log.Log(context.Background(), level, "screen capture with GDI", "reason", err)
		c.retry = time.Now().Add(100 * 365 * 24 * time.Hour)
		return
	}
	c.log.Log(context.Background(), level, "screen capture with GDI", "reason", err, "dxgi_retry", c.wait)
	c.retry = time.Now().Add(c.wait)
	c.wait = min(2*c.wait, dxgiRetryMax)
}

// Capture returns the whole virtual screen (all monitors) as RGB pixels,
// 3 bytes a pixel, rows top to bottom without padding, with the mouse
// pointer drawn in. The slice is reused by the next call. The size is read
// on each call, so after a change of resolution the frame has the new size.
func (d *Desktop) Capture() (rgb []byte, w, h int, err error) {
	d.capMu.Lock()
	defer d.capMu.Unlock()
	if d.capClosed {
		return nil, 0, 0, errClosed
	}
	c := &d.cap
	vx, vy, vw, vh := virtualScreen()
	if vw <= 0 || vh <= 0 {
		return nil, 0, 0, fmt.Errorf("win32: capture: the desktop has no screen (%d×%d)", vw, vh)
	}
	virt := rect{vx, vy, vx + vw, vy + vh}
	if err := c.frame.ensure(int(vw), int(vh)); err != nil {
		return nil, 0, 0, fmt.Errorf("win32: capture: %w", err)
	}
	if c.captureDXGI(virt) {
		c.method.Store(MethodDXGI)
	} else if err := c.frame.blitScreen(virt); err != nil {
		return nil, 0, 0, fmt.Errorf("win32: capture: %w", err)
	}
	c.frame.drawCursor(virt)
	procGdiFlush.Call()
	n := int(vw) * int(vh) * 3
	if cap(c.rgb) < n {
		c.rgb = make([]byte, n)
	}
	c.rgb = c.rgb[:n]
	bgraToRGB(c.rgb, c.frame.bits, int(vw), int(vh), int(vw)*4)
	return c.rgb, int(vw), int(vh), nil
}

// captureDXGI composes the frame from the DXGI duplication, setting one up
// when it is time to try; it reports false when GDI must do it.
func (c *capturer) captureDXGI(virt rect) bool {
	if c.dx == nil {
		if time.Now().Before(c.retry) {
			return false
		}
		dx, err := newDuplicator(virt)
		if err != nil {
			c.dxgiFailed(err)
			return false
		}
		c.dx = dx
	}
	err := c.dx.capture(c.frame.bits, virt)
	if errors.Is(err, errAccessLost) || errors.Is(err, errLayoutChanged) {
		// A mode change, a desktop switch or a full-screen program: set
		// the duplication up again, once.
		c.dx.close()
		c.dx = nil
		var dx *duplicator
		if dx, err = newDuplicator(virt); err == nil {
			c.dx = dx
			err = dx.capture(c.frame.bits, virt)
		}
	}
	if err != nil {
		c.dxgiFailed(err)
		return false
	}
	c.wait = dxgiRetryMin
	return true
}

func (c *capturer) close() {
	if c.dx != nil {
		c.dx.close()
		c.dx = nil
	}
	c.frame.free()
}

// GDI objects and flags.
const (
	biRGB        = 0
	dibRGBColors = 0
	srcCopy      = 0x00cc0020
	captureBlt   = 0x40000000
	diNormal     = 0x0003
	cursorShows  = 0x00000001 // CURSOR_SHOWING
	idcArrow     = 32512
)

// bitmapInfo is BITMAPINFO with a BITMAPINFOHEADER and no colour table.
type bitmapInfo struct {
	size          uint32
	width         int32
	height        int32
	planes        uint16
	bitCount      uint16
	compression   uint32
	sizeImage     uint32
	xPelsPerMeter int32
	yPelsPerMeter int32
	clrUsed       uint32
	clrImportant  uint32
	colors        [1]uint32
}

// gdiFrame is a 32-bit top-down DIB section of the virtual screen's size,
// selected into a memory DC: GDI blits into it, DXGI copies into its bits,
// and the cursor is drawn on it.
type gdiFrame struct {
	dc, bmp, old uintptr
	bits         []byte // BGRA, w*4 bytes a row
	w, h         int
}

// ensure makes the frame w×h.
func (f *gdiFrame) ensure(w, h int) error {
	if f.dc != 0 && f.w == w && f.h == h {
		return nil
	}
	f.free()
	screen, _, err := procGetDC.Call(0)
	if screen == 0 {
		return win32Error("GetDC", err)
	}
	defer procReleaseDC.Call(0, screen)
	dc, _, err := procCreateCompatibleDC.Call(screen)
	if dc == 0 {
		return win32Error("CreateCompatibleDC", err)
	}
	bi := bitmapInfo{
		size: uint32(unsafe.Sizeof(bitmapInfo{}) - unsafe.Sizeof([1]uint32{})),
		// A negative height makes the rows top-down.
		width: int32(w), height: -int32(h), planes: 1, bitCount: 32, compression: biRGB,
	}
	var bits *byte
	bmp, _, err := procCreateDIBSection.Call(screen, uintptr(unsafe.Pointer(&bi)), dibRGBColors,
		uintptr(unsafe.Pointer(&bits)), 0, 0)
	if bmp == 0 || bits == nil {
		procDeleteDC.Call(dc)
		return win32Error("CreateDIBSection", err)
	}
	old, _, _ := procSelectObject.Call(dc, bmp)
	*f = gdiFrame{dc: dc, bmp: bmp, old: old, bits: unsafe.Slice(bits, w*h*4), w: w, h: h}
	return nil
}

func (f *gdiFrame) free() {
	if f.dc == 0 {
		return
	}
	procSelectObject.Call(f.dc, f.old)
	procDeleteObject.Call(f.bmp)
	procDeleteDC.Call(f.dc)
	*f = gdiFrame{}
}

// blitScreen copies the virtual screen into the frame with BitBlt.
// CAPTUREBLT includes layered windows (tooltips, menus with shadows).
func (f *gdiFrame) blitScreen(virt rect) error {
	screen, _, err := procGetDC.Call(0)
	if screen == 0 {
		return win32Error("GetDC", err)
	}
	defer procReleaseDC.Call(0, screen)
	r, _, err := procBitBlt.Call(f.dc, 0, 0, uintptr(f.w), uintptr(f.h), screen,
		uintptr(virt.Left), uintptr(virt.Top), srcCopy|captureBlt)
	if r == 0 {
		return win32Error("BitBlt", err)
	}
	return nil
}

// cursorInfo is CURSORINFO.
type cursorInfo struct {
	size   uint32
	flags  uint32
	cursor uintptr
	pos    point
}

// iconInfo is ICONINFO.
type iconInfo struct {
	icon         int32
	hotX, hotY   uint32
	mask, colour uintptr
}

// drawCursor draws the mouse pointer into the frame where it is, as the
// person sees it: neither BitBlt nor DXGI includes it. A cursor this
// process cannot draw is drawn as the standard arrow. (Under Wine, cursor
// handles are private to the process that loaded them, so the cursor of
// another program's window always is.)
func (f *gdiFrame) drawCursor(virt rect) {
	ci := cursorInfo{size: uint32(unsafe.Sizeof(cursorInfo{}))}
	if r, _, _ := procGetCursorInfo.Call(uintptr(unsafe.Pointer(&ci))); r == 0 || ci.flags&cursorShows == 0 {
		return
	}
	x, y := ci.pos.X-virt.Left, ci.pos.Y-virt.Top
	if ci.cursor != 0 && f.drawIcon(ci.cursor, x, y) {
		return
	}
	if arrow, _, _ := procLoadCursorW.Call(0, idcArrow); arrow != 0 {
		f.drawIcon(arrow, x, y)
	}
}

// drawIcon draws a cursor with its hot spot at x, y of the frame.
func (f *gdiFrame) drawIcon(cursor uintptr, x, y int32) bool {
	var ii iconInfo
	if r, _, _ := procGetIconInfo.Call(cursor, uintptr(unsafe.Pointer(&ii))); r == 0 {
		return false
	}
	// GetIconInfo hands out copies of the cursor's bitmaps.
	if ii.mask != 0 {
		defer procDeleteObject.Call(ii.mask)
	}
	if ii.colour != 0 {
		defer procDeleteObject.Call(ii.colour)
	}
	r, _, _ := procDrawIconEx.Call(f.dc, uintptr(x-int32(ii.hotX)), uintptr(y-int32(ii.hotY)), cursor, 0, 0, 0, 0, diNormal)
	return r != 0
}
