//go:build windows

// Command wintarget is the Win32 test target of the support client's Wine
// tests; doc.go describes what it shows and logs.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Title is the window's title, which tests look for.
const title = "Switchboard test target"

// The window's client size and colours (COLORREF is 0x00BBGGRR).
const (
	clientW, clientH = 400, 300
	left             = 200 | 30<<8 | 40<<16
	right            = 20 | 110<<8 | 220<<16
)

var (
	user32   = windows.NewLazySystemDLL("user32.dll")
	gdi32    = windows.NewLazySystemDLL("gdi32.dll")
	kernel32 = windows.NewLazySystemDLL("kernel32.dll")

	procRegisterClassExW           = user32.NewProc("RegisterClassExW")
	procCreateWindowExW            = user32.NewProc("CreateWindowExW")
	procDefWindowProcW             = user32.NewProc("DefWindowProcW")
	procAdjustWindowRectEx         = user32.NewProc("AdjustWindowRectEx")
	procShowWindow                 = user32.NewProc("ShowWindow")
	procUpdateWindow               = user32.NewProc("UpdateWindow")
	procSetForegroundWindow        = user32.NewProc("SetForegroundWindow")
	procGetMessageW                = user32.NewProc("GetMessageW")
	procTranslateMessage           = user32.NewProc("TranslateMessage")
	procDispatchMessageW           = user32.NewProc("DispatchMessageW")
	procPostQuitMessage            = user32.NewProc("PostQuitMessage")
	procBeginPaint                 = user32.NewProc("BeginPaint")
	procEndPaint                   = user32.NewProc("EndPaint")
	procFillRect                   = user32.NewProc("FillRect")
	procLoadCursorW                = user32.NewProc("LoadCursorW")
	procAddClipboardFormatListener = user32.NewProc("AddClipboardFormatListener")
	procOpenClipboard              = user32.NewProc("OpenClipboard")
	procCloseClipboard             = user32.NewProc("CloseClipboard")
	procEmptyClipboard             = user32.NewProc("EmptyClipboard")
	procGetClipboardData           = user32.NewProc("GetClipboardData")
	procSetClipboardData           = user32.NewProc("SetClipboardData")
	procCreateSolidBrush           = gdi32.NewProc("CreateSolidBrush")
	procGlobalAlloc                = kernel32.NewProc("GlobalAlloc")
	procGlobalLock                 = kernel32.NewProc("GlobalLock")
	procGlobalUnlock               = kernel32.NewProc("GlobalUnlock")
	procGetModuleHandleW           = kernel32.NewProc("GetModuleHandleW")
)

const (
	wmDestroy         = 0x0002
	wmPaint           = 0x000f
	wmKeyDown         = 0x0100
	wmKeyUp           = 0x0101
	wmLButtonUp       = 0x0202
	wmChar            = 0x0102
	wmLButtonDown     = 0x0201
	wmMouseWheel      = 0x020a
	wmMouseHWheel     = 0x020e
	wmClipboardUpdate = 0x031d

	wsOverlapped = 0x00000000
	wsCaption    = 0x00c00000
	wsSysMenu    = 0x00080000

	cfUnicodeText = 13
	gmemMoveable  = 0x0002
	idcArrow      = 32512
	swShow        = 5
)

type rect struct{ Left, Top, Right, Bottom int32 }

type msg struct {
	hwnd    uintptr
	message uint32
	wParam  uintptr
	lParam  uintptr
	time    uint32
	pt      struct{ X, Y int32 }
	private uint32
}

type wndClassEx struct {
	size       uint32
	style      uint32
	wndProc    uintptr
	clsExtra   int32
	wndExtra   int32
	instance   uintptr
	icon       uintptr
	cursor     uintptr
	background uintptr
	menuName   *uint16
	className  *uint16
	iconSm     uintptr
}

type paintStruct struct {
	hdc       uintptr
	erase     int32
	paint     rect
	restore   int32
	incUpdate int32
	reserved  [32]byte
}

// events is the log file; each line goes out in one write.
var (
	events   *os.File
	eventsMu sync.Mutex
	brushes  [2]uintptr
)

func logf(format string, args ...any) {
	eventsMu.Lock()
	defer eventsMu.Unlock()
	fmt.Fprintf(events, format+"\n", args...)
}

func main() {
	logPath := flag.String("log", "", "append events to `file`")
	clip := flag.String("set-clipboard", "", "put `text` on the clipboard at start")
	flag.Parse()
	if *logPath == "" {
		fmt.Fprintln(os.Stderr, "wintarget: -log is required")
		os.Exit(2)
	}
	var err error
	if events, err = os.OpenFile(*logPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "wintarget:", err)
		os.Exit(1)
	}
	if err := run(*clip); err != nil {
		fmt.Fprintln(os.Stderr, "wintarget:", err)
		os.Exit(1)
	}
}

func run(clip string) error {
	// Windows belong to the thread that made them.
	runtime.LockOSThread()
	module, _, _ := procGetModuleHandleW.Call(0)
	cursor, _, _ := procLoadCursorW.Call(0, idcArrow)
	brushes[0], _, _ = procCreateSolidBrush.Call(left)
	brushes[1], _, _ = procCreateSolidBrush.Call(right)
	class := windows.StringToUTF16Ptr("SwitchboardTestTarget")
	wc := wndClassEx{
		size:      uint32(unsafe.Sizeof(wndClassEx{})),
		wndProc:   windows.NewCallback(wndProc),
		instance:  module,
		cursor:    cursor,
		className: class,
	}
	if r, _, err := procRegisterClassExW.Call(uintptr(unsafe.Pointer(&wc))); r == 0 {
		return fmt.Errorf("RegisterClassExW: %w", err)
	}
	style := uintptr(wsOverlapped | wsCaption | wsSysMenu)
	frame := rect{0, 0, clientW, clientH}
	procAdjustWindowRectEx.Call(uintptr(unsafe.Pointer(&frame)), style, 0, 0)
	hwnd, _, err := procCreateWindowExW.Call(0, uintptr(unsafe.Pointer(class)),
		uintptr(unsafe.Pointer(windows.StringToUTF16Ptr(title))), style,
		0, 0, uintptr(frame.Right-frame.Left), uintptr(frame.Bottom-frame.Top), 0, 0, module, 0)
	if hwnd == 0 {
		return fmt.Errorf("CreateWindowExW: %w", err)
	}
	if clip != "" {
		if err := setClipboard(hwnd, clip); err != nil {
			return err
		}
		logf("clipboard-set")
	}
	if r, _, err := procAddClipboardFormatListener.Call(hwnd); r == 0 {
		return fmt.Errorf("AddClipboardFormatListener: %w", err)
	}
	procShowWindow.Call(hwnd, swShow)
	procUpdateWindow.Call(hwnd)
	procSetForegroundWindow.Call(hwnd)
	logf("ready")
	var m msg
	for {
		r, _, _ := procGetMessageW.Call(uintptr(unsafe.Pointer(&m)), 0, 0, 0)
		if int32(r) <= 0 {
			return nil
		}
		procTranslateMessage.Call(uintptr(unsafe.Pointer(&m)))
		procDispatchMessageW.Call(uintptr(unsafe.Pointer(&m)))
	}
}

func wndProc(hwnd, m, wParam, lParam uintptr) uintptr {
	switch uint32(m) {
	case wmPaint:
		var ps paintStruct
		hdc, _, _ := procBeginPaint.Call(hwnd, uintptr(unsafe.Pointer(&ps)))
		l, r := rect{0, 0, clientW / 2, clientH}, rect{clientW / 2, 0, clientW, clientH}
		procFillRect.Call(hdc, uintptr(unsafe.Pointer(&l)), brushes[0])
		procFillRect.Call(hdc, uintptr(unsafe.Pointer(&r)), brushes[1])
		procEndPaint.Call(hwnd, uintptr(unsafe.Pointer(&ps)))
		return 0
	case wmLButtonDown:
		logf("click %d %d", int16(lParam), int16(lParam>>16))
		return 0
	case wmMouseWheel:
		logf("wheel %d", int16(wParam>>16))
		return 0
	case wmMouseHWheel:
		logf("hwheel %d", int16(wParam>>16))
		return 0
	case wmKeyDown:
		logf("key %d", wParam)
	case wmKeyUp:
		logf("keyup %d", wParam)
	case wmLButtonUp:
		logf("release %d %d", int16(lParam), int16(lParam>>16))
	case wmChar:
		logf("char U+%04X", wParam)
		return 0
	case wmClipboardUpdate:
		text, err := readClipboard(hwnd)
		if err != nil {
			logf("clipboard-error %v", err)
		} else {
			logf("clipboard %s", text)
		}
		return 0
	case wmDestroy:
		procPostQuitMessage.Call(0)
		return 0
	}
	r, _, _ := procDefWindowProcW.Call(hwnd, m, wParam, lParam)
	return r
}

// openClipboard opens the clipboard, waiting a little while another
// program has it open.
func openClipboard(hwnd uintptr) error {
	var err error
	for range 20 {
		var r uintptr
		if r, _, err = procOpenClipboard.Call(hwnd); r != 0 {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("OpenClipboard: %w", err)
}

func readClipboard(hwnd uintptr) (string, error) {
	if err := openClipboard(hwnd); err != nil {
		return "", err
	}
	defer procCloseClipboard.Call()
	h, _, err := procGetClipboardData.Call(cfUnicodeText)
	if h == 0 {
		return "", fmt.Errorf("GetClipboardData: %w", err)
	}
	p, _, err := procGlobalLock.Call(h)
	if p == 0 {
		return "", fmt.Errorf("GlobalLock: %w", err)
	}
	defer procGlobalUnlock.Call(h)
	return windows.UTF16PtrToString(*(**uint16)(unsafe.Pointer(&p))), nil
}

func setClipboard(hwnd uintptr, text string) error {
	units, err := windows.UTF16FromString(text)
	if err != nil {
		return err
	}
	h, _, err := procGlobalAlloc.Call(gmemMoveable, uintptr(len(units)*2))
	if h == 0 {
		return fmt.Errorf("GlobalAlloc: %w", err)
	}
	p, _, _ := procGlobalLock.Call(h)
	copy(unsafe.Slice(*(**uint16)(unsafe.Pointer(&p)), len(units)), units)
	procGlobalUnlock.Call(h)
	if err := openClipboard(hwnd); err != nil {
		return err
	}
	defer procCloseClipboard.Call()
	procEmptyClipboard.Call()
	if r, _, err := procSetClipboardData.Call(cfUnicodeText, h); r == 0 {
		return fmt.Errorf("SetClipboardData: %w", err)
	}
	return nil
}
