//go:build windows

package win32

import (
	"context"
	"fmt"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// idAllow is the command id of Confirm's Allow button; Deny is idCancel,
// so that Esc and the close box deny too.
const idAllow = 10

// Confirm asks question in a dialog with the buttons Allow and Deny and
// reports whether the person clicked Allow. Deny is the default button,
// so Enter, Esc and closing the dialog all deny; only an explicit Allow
// is true. The dialog is topmost and asks for the foreground. When ctx
// ends first the dialog is closed and Confirm returns false with
// ctx.Err(), as the support client's other prompters do.
func (p *Prompter) Confirm(ctx context.Context, question string) (bool, error) {
	d := &dialogSpec{
		title:   p.Title,
		text:    question,
		buttons: []dialogButton{{idAllow, p.Allow}, {idCancel, p.Deny}},
		defID:   idCancel,
		exStyle: wsExTopmost | wsExAppWindow,
	}
	id, err := d.run(ctx)
	if err != nil {
		return false, err
	}
	return id == idAllow, nil
}

// Sharing shows text in a small always-on-top tool window at the bottom
// right of the screen, with a Stop button, while the screen is shared. It
// returns nil when the person clicks Stop or closes the window, and
// ctx.Err() when ctx ends, which destroys the window. The window does not
// take the keyboard from the program the person works in.
func (p *Prompter) Sharing(ctx context.Context, text string) error {
	d := &dialogSpec{
		title:   p.Title,
		text:    text,
		buttons: []dialogButton{{idCancel, p.Stop}},
		defID:   idCancel,
		exStyle: wsExTopmost | wsExToolWindow,
		corner:  true,
	}
	_, err := d.run(ctx)
	return err
}

// openFileName is OPENFILENAMEW.
type openFileName struct {
	structSize    uint32
	owner         uintptr
	instance      uintptr
	filter        *uint16
	customFilter  *uint16
	maxCustFilter uint32
	filterIndex   uint32
	file          *uint16
	maxFile       uint32
	fileTitle     *uint16
	maxFileTitle  uint32
	initialDir    *uint16
	title         *uint16
	flags         uint32
	fileOffset    uint16
	fileExtension uint16
	defExt        *uint16
	custData      uintptr
	hook          uintptr
	templateName  *uint16
	reserved      uintptr
	reserved2     uint32
	flagsEx       uint32
}

const (
	ofnHideReadOnly    = 0x00000004
	ofnNoChangeDir     = 0x00000008
	ofnPathMustExist   = 0x00000800
	ofnFileMustExist   = 0x00001000
	ofnExplorer        = 0x00080000
	ofnDontAddToRecent = 0x02000000

	// maxPath bounds the chosen file's path, in UTF-16 units.
	maxPath = 32768

	// closePoll is how often PickFile looks for the dialog to close when
	// ctx has ended: the dialog may not exist yet.
	closePoll = 50 * time.Millisecond
)

// PickFile lets the person choose a file to send with the standard Open
// dialog, titled title, and returns its path, or "" when none was chosen.
// When ctx ends first the dialog is closed and PickFile returns ctx.Err().
func (p *Prompter) PickFile(ctx context.Context, title string) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	dpiAware()
	type outcome struct {
		path string
		err  error
	}
	owners := make(chan dialogThread, 1)
	done := make(chan outcome, 1)
	go func() {
		// The thread is never unlocked: it ends with the goroutine.
		runtime.LockOSThread()
		path, err := pickFile(title, owners)
		done <- outcome{path, err}
	}()
	var th dialogThread
	select {
	case th = <-owners:
	case o := <-done:
		return "", o.err
	}
	select {
	case o := <-done:
		return o.path, o.err
	case <-ctx.Done():
	}
	tick := time.NewTicker(closePoll)
	defer tick.Stop()
	for {
		// The dialog is a visible window of the thread besides the owner.
		// (GetWindow(owner, GW_ENABLEDPOPUP) would be simpler, but Wine
		// does not implement it.)
		procEnumThreadWindows.Call(uintptr(th.id), closeWindowsCB, th.owner)
		select {
		case <-done:
			return "", ctx.Err()
		case <-tick.C:
		}
	}
}

// dialogThread is the thread of a file dialog and the window that owns the
// dialog.
type dialogThread struct {
	id    uint32
	owner uintptr
}

// closeWindowsCB is an EnumThreadWindows callback that asks every visible
// window but the one in lParam to close.
var closeWindowsCB = windows.NewCallback(func(hwnd, except uintptr) uintptr {
	if visible, _, _ := procIsWindowVisible.Call(hwnd); visible != 0 && hwnd != except {
		postMessage(hwnd, wmClose, 0, 0)
	}
	return 1
})

// pickFile runs GetOpenFileNameW, owned by a tiny topmost window of its
// own (so that the dialog is topmost too), and sends the thread and that
// window on owners.
func pickFile(title string, owners chan<- dialogThread) (string, error) {
	static, caption := utf16z("STATIC"), utf16z(title)
	var work rect
	procSystemParametersInfoW.Call(spiGetWorkArea, 0, uintptr(unsafe.Pointer(&work)), 0)
	owner, _, err := procCreateWindowExW.Call(wsExTopmost|wsExToolWindow,
		uintptr(unsafe.Pointer(&static[0])), uintptr(unsafe.Pointer(&caption[0])), wsPopup,
		uintptr(work.Left+work.width()/3), uintptr(work.Top+work.height()/4), 0, 0, 0, 0, 0, 0)
	if owner == 0 {
		return "", win32Error("CreateWindowExW (file dialog owner)", err)
	}
	defer procDestroyWindow.Call(owner)
	owners <- dialogThread{id: windows.GetCurrentThreadId(), owner: owner}
	procShowWindow.Call(owner, swShow)
	procSetForegroundWindow.Call(owner)

	file := make([]uint16, maxPath)
	ofn := openFileName{
		structSize: uint32(unsafe.Sizeof(openFileName{})),
		owner:      owner,
		file:       &file[0],
		maxFile:    maxPath,
		title:      &caption[0],
		flags:      ofnExplorer | ofnFileMustExist | ofnPathMustExist | ofnHideReadOnly | ofnNoChangeDir | ofnDontAddToRecent,
	}
	if r, _, _ := procGetOpenFileNameW.Call(uintptr(unsafe.Pointer(&ofn))); r != 0 {
		return windows.UTF16ToString(file), nil
	}
	if code, _, _ := procCommDlgExtendedError.Call(); code != 0 {
		return "", fmt.Errorf("win32: open dialog: error %#x", code)
	}
	return "", nil // cancelled
}

// Downloads returns the person's Downloads folder
// (SHGetKnownFolderPath(FOLDERID_Downloads)), where received files go.
func Downloads() (string, error) {
	dir, err := windows.KnownFolderPath(windows.FOLDERID_Downloads, 0)
	if err != nil {
		return "", fmt.Errorf("win32: Downloads folder: %w", err)
	}
	return dir, nil
}
