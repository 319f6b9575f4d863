//go:build windows

package win32

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// waitFor bounds each wait for the target or a window.
const waitFor = 20 * time.Second

var (
	procFindWindowW       = user32.NewProc("FindWindowW")
	procClientToScreen    = user32.NewProc("ClientToScreen")
	procGetWindowLongPtrW = user32.NewProc("GetWindowLongPtrW")
	procGetAsyncKeyState  = user32.NewProc("GetAsyncKeyState")
)

// TestStructSizes: the structures handed to Windows have the sizes of the
// SDK's, as a 64-bit C compiler lays them out.
func TestStructSizes(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the sizes are those of 64-bit Windows")
	}
	for _, tc := range []struct {
		name      string
		got, want uintptr
	}{
		{"INPUT (mouse)", unsafe.Sizeof(mouseInput{}), 40},
		{"INPUT (keyboard)", unsafe.Sizeof(keyInput{}), 40},
		{"CURSORINFO", unsafe.Sizeof(cursorInfo{}), 24},
		{"ICONINFO", unsafe.Sizeof(iconInfo{}), 32},
		{"OPENFILENAMEW", unsafe.Sizeof(openFileName{}), 152},
		{"OPENFILENAMEW.lpstrTitle", unsafe.Offsetof(openFileName{}.title), 88},
		{"OPENFILENAMEW.FlagsEx", unsafe.Offsetof(openFileName{}.flagsEx), 148},
		{"DXGI_OUTPUT_DESC", unsafe.Sizeof(outputDesc{}), 96},
		{"DXGI_OUTPUT_DESC.Monitor", unsafe.Offsetof(outputDesc{}.monitor), 88},
		{"DXGI_OUTDUPL_DESC", unsafe.Sizeof(duplDesc{}), 36},
		{"DXGI_OUTDUPL_FRAME_INFO", unsafe.Sizeof(frameInfo{}), 48},
		{"D3D11_TEXTURE2D_DESC", unsafe.Sizeof(textureDesc{}), 44},
		{"D3D11_MAPPED_SUBRESOURCE", unsafe.Sizeof(mappedSubresource{}), 16},
		{"MSG", unsafe.Sizeof(msg{}), 48},
		{"MONITORINFO", unsafe.Sizeof(monitorInfo{}), 40},
		{"BITMAPINFO", unsafe.Sizeof(bitmapInfo{}), 44},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %d bytes, want %d", tc.name, tc.got, tc.want)
		}
	}
}

// TestWineInside drives the desktop of a Wine session against
// tools/wintarget; the Linux side starts both and answers the dialogs.
func TestWineInside(t *testing.T) {
	if os.Getenv(envInside) != "1" {
		t.Skipf("run by TestWine on Linux (%s=1)", envInside)
	}
	tlog := &targetLog{path: os.Getenv(envTargetLog)}
	syncFile := os.Getenv(envSync)
	d, err := Open(slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	w, h := d.Size()
	t.Logf("virtual screen %d×%d, screens %v, capture method %s", w, h, d.Screens(), d.Method())
	if len(d.Screens()) == 0 || w <= 0 || h <= 0 {
		t.Fatalf("Size %d×%d, Screens %v", w, h, d.Screens())
	}

	target := findWindow(t, targetTitle)
	var origin point // of the target's client area, on the screen
	procClientToScreen.Call(target, uintptr(unsafe.Pointer(&origin)))
	vx, vy, _, _ := virtualScreen()
	// Positions in the frame and for Apply are relative to the virtual
	// screen's top-left corner.
	pos := func(cx, cy int32) (int32, int32) { return origin.X - vx + cx, origin.Y - vy + cy }
	t.Logf("target client area at %d,%d", origin.X, origin.Y)

	apply := func(in wire.Input) {
		t.Helper()
		if err := d.Apply(in); err != nil {
			t.Fatalf("Apply(%+v): %v", in, err)
		}
	}
	move := func(x, y int32) { apply(wire.Input{Kind: wire.InputMove, X: x, Y: y}) }
	click := func(x, y int32) {
		apply(wire.Input{Kind: wire.InputButton, Code: 1, Down: true, X: x, Y: y})
		apply(wire.Input{Kind: wire.InputButton, Code: 1, Down: false, X: x, Y: y})
	}
	key := func(keysym uint32, down bool) { apply(wire.Input{Kind: wire.InputKey, Code: keysym, Down: down}) }
	tap := func(keysym uint32) { key(keysym, true); key(keysym, false) }

	t.Run("capture", func(t *testing.T) {
		move(int32(w-1), int32(h-1)) // the pointer out of the way
		rgb, cw, ch, err := d.Capture()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("captured %d×%d with %s", cw, ch, d.Method())
		if cw != w || ch != h || len(rgb) != w*h*3 {
			t.Fatalf("Capture: %d×%d, %d bytes; Size %d×%d", cw, ch, len(rgb), w, h)
		}
		pixel := func(x, y int32) [3]byte {
			o := (int(y)*cw + int(x)) * 3
			return [3]byte{rgb[o], rgb[o+1], rgb[o+2]}
		}
		for _, p := range []struct {
			cx, cy int32
			want   [3]byte
		}{
			{100, 150, [3]byte{200, 30, 40}},
			{10, 10, [3]byte{200, 30, 40}},
			{300, 150, [3]byte{20, 110, 220}},
			{390, 290, [3]byte{20, 110, 220}},
		} {
			if got := pixel(pos(p.cx, p.cy)); got != p.want {
				t.Errorf("pixel at client %d,%d: %v, want %v", p.cx, p.cy, got, p.want)
			}
		}

		// With the pointer over the left half, it is drawn in.
		x, y := pos(100, 150)
		move(x, y)
		waitUntil(t, "the pointer drawn into the capture", func() bool {
			rgb, _, _, err = d.Capture()
			if err != nil {
				t.Fatal(err)
			}
			for dy := range int32(16) {
				for dx := range int32(10) {
					if pixel(x+dx, y+dy) != [3]byte{200, 30, 40} {
						return true
					}
				}
			}
			return false
		})
	})

	t.Run("click", func(t *testing.T) {
		click(pos(100, 150))
		tlog.wait(t, "click 100 150")
		click(pos(390, 290))
		tlog.wait(t, "click 390 290")
		click(pos(0, 0))
		tlog.wait(t, "click 0 0")
	})

	t.Run("wheel", func(t *testing.T) {
		move(pos(200, 150))
		apply(wire.Input{Kind: wire.InputWheel, Y: -2})
		tlog.wait(t, "wheel 240") // up, away from the user
		apply(wire.Input{Kind: wire.InputWheel, Y: 99})
		tlog.wait(t, "wheel -1200") // at most 10 notches
	})

	t.Run("keys", func(t *testing.T) {
		click(pos(200, 150)) // the target has the keyboard
		tlog.wait(t, "click 200 150")
		tap('a')
		tlog.wait(t, "key 65")
		tlog.wait(t, "char U+0061")
		tap('Z') // Shift is not held: typed as Unicode
		tlog.wait(t, "char U+005A")
		key(0xffe1, true) // Shift_L
		tap('Z')          // now with the key
		key(0xffe1, false)
		tlog.wait(t, "key 16")
		tlog.wait(t, "key 90")
		tlog.wait(t, "char U+005A")
		tap(0x010020ac) // €
		tlog.wait(t, "char U+20AC")
		tap(0x0101f600) // 😀, a surrogate pair
		tlog.wait(t, "char U+D83D")
		tlog.wait(t, "char U+DE00")
		tap(0xff0d) // Return
		tlog.wait(t, "key 13")
	})

	t.Run("release all", func(t *testing.T) {
		const vkLButton = 0x01
		down := func(vk uintptr) bool {
			r, _, _ := procGetAsyncKeyState.Call(vk)
			return r&0x8000 != 0
		}
		// The target's messages say it, whatever Wine's global key state
		// (GetAsyncKeyState) lags behind under load.
		key(0xffe3, true) // Control_L
		x, y := pos(150, 100)
		apply(wire.Input{Kind: wire.InputButton, Code: 1, Down: true, X: x, Y: y})
		tlog.wait(t, "key 17")
		tlog.wait(t, "click 150 100")
		d.ReleaseAll()
		tlog.wait(t, "keyup 17")
		tlog.wait(t, "release 150 100")
		waitUntil(t, "Ctrl and the left button up", func() bool { return !down(vkLControl) && !down(vkLButton) })
		key(0xffe3, false) // released already: nothing to do
	})

	t.Run("bad input", func(t *testing.T) {
		for _, in := range []wire.Input{
			{Kind: 0},
			{Kind: 5},
			{Kind: 255},
			{Kind: wire.InputButton, Code: 0, Down: true},
			{Kind: wire.InputButton, Code: 4, Down: true},
			{Kind: wire.InputButton, Code: 1 << 31, Down: true},
			{Kind: wire.InputKey, Code: 0, Down: true},
			{Kind: wire.InputKey, Code: 0xfe50, Down: true}, // dead_grave
			{Kind: wire.InputKey, Code: 0x0100d800, Down: true},
			{Kind: wire.InputKey, Code: 0xffffffff, Down: true},
		} {
			if err := d.Apply(in); err == nil {
				t.Errorf("Apply(%+v) = nil, want an error", in)
			}
		}
		// Far outside the screen is clamped, not refused.
		move(-1<<31, 1<<31-1)
		if got := d.Refuses(); len(got) != 1 || got[0] != "Ctrl-Alt-Del" {
			t.Errorf("Refuses() = %q", got)
		}
	})

	t.Run("clipboard", func(t *testing.T) {
		text, seq, err := d.ClipboardText()
		if err != nil {
			t.Fatal(err)
		}
		if want := os.Getenv(envClipboard); text != want {
			t.Errorf("ClipboardText = %q, want %q (set by the target)", text, want)
		}
		const sent = "from the technician: ü€ 😀"
		if err := d.SetClipboardText(sent); err != nil {
			t.Fatal(err)
		}
		tlog.wait(t, "clipboard "+sent)
		if now := d.ClipboardSeq(); now == seq {
			t.Errorf("ClipboardSeq stayed %d after SetClipboardText", now)
		}
		if text, _, err := d.ClipboardText(); err != nil || text != sent {
			t.Errorf("ClipboardText = %q, %v; want %q", text, err, sent)
		}
		if err := d.SetClipboardText("one\ntwo\r\nthree"); err != nil {
			t.Fatal(err)
		}
		if text, _, err := d.ClipboardText(); err != nil || text != "one\ntwo\nthree" {
			t.Errorf("ClipboardText = %q, %v; want the lines back", text, err)
		}
		if err := d.SetClipboardText("nul\x00inside"); err == nil {
			t.Error("SetClipboardText with a NUL: no error")
		}
	})

	p := NewPrompter(promptTitle, "Allow", "Deny", "Stop")

	t.Run("confirm allowed", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		answer := make(chan error, 1)
		var ok bool
		go func() {
			var err error
			ok, err = p.Confirm(ctx, "Ann (technician) wants to see your screen & use it.")
			answer <- err
		}()
		dlg := findWindow(t, promptTitle)
		ex, _, _ := procGetWindowLongPtrW.Call(dlg, ^uintptr(19)) // GWL_EXSTYLE, -20
		if ex&wsExTopmost == 0 {
			t.Errorf("the dialog is not topmost (extended style %#x)", ex)
		}
		x, y := centre(t, dlg, idAllow)
		shot(t, d, "confirm")
		announce(t, syncFile, "confirm-shown %d %d", x, y) // the Linux side clicks Allow
		if err := <-answer; err != nil || !ok {
			t.Fatalf("Confirm = %v, %v; want true (Allow clicked)", ok, err)
		}
		waitGone(t, promptTitle)
	})

	t.Run("confirm unanswered", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		answer := make(chan error, 1)
		var ok bool
		go func() {
			var err error
			ok, err = p.Confirm(ctx, "Nobody will answer this.")
			answer <- err
		}()
		findWindow(t, promptTitle)
		announce(t, syncFile, "confirm2-shown") // the Linux side sees it and leaves it
		if err := <-answer; ok || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Confirm = %v, %v; want false, %v", ok, err, context.DeadlineExceeded)
		}
		waitGone(t, promptTitle)
	})

	t.Run("sharing stopped", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		stopped := make(chan error, 1)
		go func() { stopped <- p.Sharing(ctx, "Ann sees your screen.") }()
		win := findWindow(t, promptTitle)
		ex, _, _ := procGetWindowLongPtrW.Call(win, ^uintptr(19))
		if ex&(wsExTopmost|wsExToolWindow) != wsExTopmost|wsExToolWindow {
			t.Errorf("the sharing window's extended style is %#x, want topmost and tool window", ex)
		}
		x, y := centre(t, win, idCancel)
		shot(t, d, "sharing")
		announce(t, syncFile, "sharing-shown %d %d", x, y) // the Linux side clicks Stop
		if err := <-stopped; err != nil {
			t.Fatalf("Sharing = %v, want nil (Stop clicked)", err)
		}
		waitGone(t, promptTitle)
	})

	t.Run("sharing ended", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan error, 1)
		go func() { stopped <- p.Sharing(ctx, "Ann sees your screen.") }()
		findWindow(t, promptTitle)
		cancel()
		if err := <-stopped; !errors.Is(err, context.Canceled) {
			t.Fatalf("Sharing = %v, want %v", err, context.Canceled)
		}
		waitGone(t, promptTitle)
	})

	t.Run("pick file ended", func(t *testing.T) {
		const title = pickTitle
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		path, err := p.PickFile(ctx, title)
		if path != "" || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("PickFile = %q, %v; want \"\", %v", path, err, context.DeadlineExceeded)
		}
		waitGone(t, title)
	})

	t.Run("pick file chosen", func(t *testing.T) {
		const title = pickTitle
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		announce(t, syncFile, "pick-started") // the Linux side types the file's name
		path, err := p.PickFile(ctx, title)
		if want := os.Getenv(envPick); err != nil || !strings.EqualFold(path, want) {
			t.Fatalf("PickFile = %q, %v; want %q", path, err, want)
		}
		waitGone(t, title)
	})

	t.Run("downloads", func(t *testing.T) {
		dir, err := Downloads()
		if err != nil || dir == "" {
			t.Fatalf("Downloads = %q, %v", dir, err)
		}
		t.Logf("Downloads: %s", dir)
	})

	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, _, err := d.Capture(); err == nil {
		t.Error("Capture after Close: no error")
	}
	if err := d.Apply(wire.Input{Kind: wire.InputMove}); err == nil {
		t.Error("Apply after Close: no error")
	}
	announce(t, syncFile, "done")
}

// shot writes the screen as name.png into the directory envShots names, if
// any, to look at the dialogs.
func shot(t *testing.T, d *Desktop, name string) {
	t.Helper()
	dir := os.Getenv(envShots)
	if dir == "" {
		return
	}
	rgb, w, h, err := d.Capture()
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		copy(img.Pix[i*4:], rgb[i*3:i*3+3])
		img.Pix[i*4+3] = 0xff
	}
	f, err := os.Create(filepath.Join(dir, name+".png"))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
}

// testWriter writes the desktop's log to the test's.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// waitUntil polls cond until it holds, failing the test after waitFor.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitFor)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// findWindow waits for a visible top-level window titled title and returns
// it. (A dialog exists, with its title, before its controls are made and
// laid out; it is shown after that.)
func findWindow(t *testing.T, title string) uintptr {
	t.Helper()
	name := utf16z(title)
	var hwnd uintptr
	waitUntil(t, fmt.Sprintf("window %q", title), func() bool {
		hwnd, _, _ = procFindWindowW.Call(0, uintptr(unsafe.Pointer(&name[0])))
		visible, _, _ := procIsWindowVisible.Call(hwnd)
		return hwnd != 0 && visible != 0
	})
	return hwnd
}

// waitGone waits until no top-level window is titled title.
func waitGone(t *testing.T, title string) {
	t.Helper()
	name := utf16z(title)
	waitUntil(t, fmt.Sprintf("window %q gone", title), func() bool {
		hwnd, _, _ := procFindWindowW.Call(0, uintptr(unsafe.Pointer(&name[0])))
		return hwnd == 0
	})
}

// centre returns the screen position of the middle of a dialog's control.
func centre(t *testing.T, dlg uintptr, id uint16) (int32, int32) {
	t.Helper()
	c, _, _ := procGetDlgItem.Call(dlg, uintptr(id))
	if c == 0 {
		t.Fatalf("the dialog has no control %d", id)
	}
	var r rect
	procGetWindowRect.Call(c, uintptr(unsafe.Pointer(&r)))
	if r.width() <= 0 || r.height() <= 0 {
		t.Fatalf("control %d is %d×%d", id, r.width(), r.height())
	}
	return r.Left + r.width()/2, r.Top + r.height()/2
}

// announce appends a line to the file the Linux side polls.
func announce(t *testing.T, path, format string, args ...any) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, format+"\n", args...); err != nil {
		t.Fatal(err)
	}
}

// targetLog reads the lines tools/wintarget appends, in order.
type targetLog struct {
	path string
	next int // lines already matched
}

// wait waits for a line equal to want after the last one matched.
func (l *targetLog) wait(t *testing.T, want string) {
	t.Helper()
	var lines []string
	deadline := time.Now().Add(waitFor)
	for {
		b, err := os.ReadFile(l.path)
		if err != nil {
			t.Fatal(err)
		}
		lines = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		for i := l.next; i < len(lines); i++ {
			if lines[i] == want {
				l.next = i + 1
				return
			}
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("the target did not log %q within %v; after line %d it logged:\n%s", want, waitFor, l.next,
		strings.Join(lines[min(l.next, len(lines)):], "\n"))
}
