//go:build windows

package win32

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The Win32 functions the package calls, loaded from the system directory
// on first use. A function missing from an old Windows (or from Wine)
// makes its Call panic, so optional ones are checked with Find first.
var (
	user32   = windows.NewLazySystemDLL("user32.dll")
	gdi32    = windows.NewLazySystemDLL("gdi32.dll")
	kernel32 = windows.NewLazySystemDLL("kernel32.dll")
	comdlg32 = windows.NewLazySystemDLL("comdlg32.dll")

	procSetProcessDpiAwarenessContext = user32.NewProc("SetProcessDpiAwarenessContext")
	procSetProcessDPIAware            = user32.NewProc("SetProcessDPIAware")
	procGetSystemMetrics              = user32.NewProc("GetSystemMetrics")
	procEnumDisplayMonitors           = user32.NewProc("EnumDisplayMonitors")
	procGetMonitorInfoW               = user32.NewProc("GetMonitorInfoW")
	procGetDC                         = user32.NewProc("GetDC")
	procReleaseDC                     = user32.NewProc("ReleaseDC")
	procGetCursorInfo                 = user32.NewProc("GetCursorInfo")
	procGetIconInfo                   = user32.NewProc("GetIconInfo")
	procDrawIconEx                    = user32.NewProc("DrawIconEx")
	procLoadCursorW                   = user32.NewProc("LoadCursorW")
	procSendInput                     = user32.NewProc("SendInput")
	procVkKeyScanW                    = user32.NewProc("VkKeyScanW")
	procMapVirtualKeyW                = user32.NewProc("MapVirtualKeyW")
	procGetKeyState                   = user32.NewProc("GetKeyState")
	procOpenClipboard                 = user32.NewProc("OpenClipboard")
	procCloseClipboard                = user32.NewProc("CloseClipboard")
	procEmptyClipboard                = user32.NewProc("EmptyClipboard")
	procGetClipboardData              = user32.NewProc("GetClipboardData")
	procSetClipboardData              = user32.NewProc("SetClipboardData")
	procIsClipboardFormatAvailable    = user32.NewProc("IsClipboardFormatAvailable")
	procGetClipboardSequenceNumber    = user32.NewProc("GetClipboardSequenceNumber")
	procCreateWindowExW               = user32.NewProc("CreateWindowExW")
	procDestroyWindow                 = user32.NewProc("DestroyWindow")
	procShowWindow                    = user32.NewProc("ShowWindow")
	procSetWindowPos                  = user32.NewProc("SetWindowPos")
	procGetWindowRect                 = user32.NewProc("GetWindowRect")
	procGetClientRect                 = user32.NewProc("GetClientRect")
	procMoveWindow                    = user32.NewProc("MoveWindow")
	procEnumThreadWindows             = user32.NewProc("EnumThreadWindows")
	procIsWindowVisible               = user32.NewProc("IsWindowVisible")
	procSetForegroundWindow           = user32.NewProc("SetForegroundWindow")
	procGetForegroundWindow           = user32.NewProc("GetForegroundWindow")
	procFlashWindow                   = user32.NewProc("FlashWindow")
	procGetMessageW                   = user32.NewProc("GetMessageW")
	procTranslateMessage              = user32.NewProc("TranslateMessage")
	procDispatchMessageW              = user32.NewProc("DispatchMessageW")
	procPostMessageW                  = user32.NewProc("PostMessageW")
	procSendMessageW                  = user32.NewProc("SendMessageW")
	procPostQuitMessage               = user32.NewProc("PostQuitMessage")
	procPeekMessageW                  = user32.NewProc("PeekMessageW")
	procIsDialogMessageW              = user32.NewProc("IsDialogMessageW")
	procCreateDialogIndirectParamW    = user32.NewProc("CreateDialogIndirectParamW")
	procGetDlgItem                    = user32.NewProc("GetDlgItem")
	procMapDialogRect                 = user32.NewProc("MapDialogRect")
	procDrawTextW                     = user32.NewProc("DrawTextW")
	procSystemParametersInfoW         = user32.NewProc("SystemParametersInfoW")

	procCreateCompatibleDC    = gdi32.NewProc("CreateCompatibleDC")
	procCreateDIBSection      = gdi32.NewProc("CreateDIBSection")
	procSelectObject          = gdi32.NewProc("SelectObject")
	procDeleteObject          = gdi32.NewProc("DeleteObject")
	procDeleteDC              = gdi32.NewProc("DeleteDC")
	procBitBlt                = gdi32.NewProc("BitBlt")
	procGdiFlush              = gdi32.NewProc("GdiFlush")
	procGetTextExtentPoint32W = gdi32.NewProc("GetTextExtentPoint32W")

	procGlobalAlloc  = kernel32.NewProc("GlobalAlloc")
	procGlobalFree   = kernel32.NewProc("GlobalFree")
	procGlobalLock   = kernel32.NewProc("GlobalLock")
	procGlobalUnlock = kernel32.NewProc("GlobalUnlock")
	procGlobalSize   = kernel32.NewProc("GlobalSize")

	procGetOpenFileNameW     = comdlg32.NewProc("GetOpenFileNameW")
	procCommDlgExtendedError = comdlg32.NewProc("CommDlgExtendedError")
)

// Window messages and styles.
const (
	wmDestroy    = 0x0002
	wmClose      = 0x0010
	wmQuit       = 0x0012
	wmSetFont    = 0x0030
	wmGetFont    = 0x0031
	wmInitDialog = 0x0110
	wmCommand    = 0x0111
	wmNextDlgCtl = 0x0028
	wmApp        = 0x8000

	wsPopup        = 0x80000000
	wsChild        = 0x40000000
	wsVisible      = 0x10000000
	wsCaption      = 0x00c00000
	wsSysMenu      = 0x00080000
	wsTabStop      = 0x00010000
	wsExTopmost    = 0x00000008
	wsExToolWindow = 0x00000080
	wsExAppWindow  = 0x00040000

	swShow           = 5
	swShowNoActivate = 4
	swpNoActivate    = 0x0010
	swpNoSize        = 0x0001
	swpNoMove        = 0x0002

	idOK     = 1
	idCancel = 2
)

// hwndTopmost and hwndMessage are the special window handles -1 and -3.
var (
	hwndTopmost = ^uintptr(0)
	hwndMessage = ^uintptr(2)
)

type point struct{ X, Y int32 }

type rect struct{ Left, Top, Right, Bottom int32 }

func (r rect) width() int32  { return r.Right - r.Left }
func (r rect) height() int32 { return r.Bottom - r.Top }

// msg is MSG.
type msg struct {
	hwnd    uintptr
	message uint32
	wParam  uintptr
	lParam  uintptr
	time    uint32
	pt      point
	private uint32
}

// win32Error makes an error of a Win32 call's failure. The last error
// value x/sys hands back is a windows.Errno, 0 when the function set none.
func win32Error(fn string, err error) error {
	var errno windows.Errno
	if err == nil || (errors.As(err, &errno) && errno == 0) {
		return fmt.Errorf("win32: %s failed", fn)
	}
	return fmt.Errorf("win32: %s: %w", fn, err)
}

// utf16z is s as a NUL-terminated UTF-16 string, with any NUL in s left
// out (Windows would end the string there).
func utf16z(s string) []uint16 {
	return append(utf16.Encode([]rune(strings.ReplaceAll(s, "\x00", ""))), 0)
}

// at turns an address Windows returned into a pointer. The memory it points
// to is not Go's; the garbage collector ignores such pointers.
func at[T any](addr uintptr) *T {
	return *(**T)(unsafe.Pointer(&addr))
}

// systemMetric is GetSystemMetrics(index).
func systemMetric(index int) int32 {
	r, _, _ := procGetSystemMetrics.Call(uintptr(index))
	return int32(r)
}

// GetSystemMetrics indexes.
const (
	smSwapButton      = 23
	smXVirtualScreen  = 76
	smYVirtualScreen  = 77
	smCXVirtualScreen = 78
	smCYVirtualScreen = 79
)

// virtualScreen returns the rectangle of all monitors in desktop
// coordinates: its top-left corner may be negative.
func virtualScreen() (x, y, w, h int32) {
	return systemMetric(smXVirtualScreen), systemMetric(smYVirtualScreen),
		systemMetric(smCXVirtualScreen), systemMetric(smCYVirtualScreen)
}

// postMessage is PostMessageW; it may be called from any thread.
func postMessage(hwnd uintptr, m uint32, wParam, lParam uintptr) error {
	r, _, err := procPostMessageW.Call(hwnd, uintptr(m), wParam, lParam)
	if r == 0 {
		return win32Error("PostMessageW", err)
	}
	return nil
}

// pump runs the message loop of the calling thread until WM_QUIT, passing
// each message to filter first: a message it reports handled is not
// dispatched.
func pump(filter func(m *msg) bool) {
	var m msg
	for {
		r, _, _ := procGetMessageW.Call(uintptr(unsafe.Pointer(&m)), 0, 0, 0)
		if int32(r) <= 0 { // WM_QUIT, or -1 for an error
			return
		}
		if filter != nil && filter(&m) {
			continue
		}
		procTranslateMessage.Call(uintptr(unsafe.Pointer(&m)))
		procDispatchMessageW.Call(uintptr(unsafe.Pointer(&m)))
	}
}

// makeQueue gives the calling thread a message queue, so that messages
// may be posted to it.
func makeQueue() {
	var m msg
	procPeekMessageW.Call(uintptr(unsafe.Pointer(&m)), 0, 0, 0, 0)
}
