//go:build windows

package win32

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Dialog template styles, control styles and DrawText flags.
const (
	dsSetFont    = 0x40
	dsModalFrame = 0x80

	ssLeft        = 0x0000
	ssNoPrefix    = 0x0080
	ssEditControl = 0x2000

	bsPushButton    = 0x0000
	bsDefPushButton = 0x0001

	dtWordBreak   = 0x0010
	dtExpandTabs  = 0x0040
	dtCalcRect    = 0x0400
	dtNoPrefix    = 0x0800
	dtEditControl = 0x2000

	spiGetWorkArea = 0x0030

	// idText is the dialog's text; button ids are the caller's.
	idText = 100

	dialogFont     = "Segoe UI"
	dialogFontSize = 9 // points
)

var procGetModuleHandleW = kernel32.NewProc("GetModuleHandleW")

// A dialogButton is a button of a dialog: its command id and label.
type dialogButton struct {
	id    uint16
	label string
}

// A dialogSpec describes a small dialog: a title, a text and a row of
// buttons. The dialog manager gives it the keyboard behaviour of every
// Windows dialog: Tab between the buttons, Enter for the default button
// (defID), Esc and the close box for idCancel.
type dialogSpec struct {
	title   string
	text    string
	buttons []dialogButton
	defID   uint16
	exStyle uint32
	// corner puts the dialog at the bottom right of the primary monitor's
	// work area and shows it without taking the keyboard from the
	// program the person uses; otherwise it is centred and brought to the
	// foreground.
	corner bool
}

// template returns the dialog as a DLGTEMPLATE with its items. Positions
// and sizes are placeholders: layout measures the text and sets them.
func (s *dialogSpec) template() []uint16 {
	var t []uint16
	word := func(v uint16) { t = append(t, v) }
	dword := func(v uint32) { t = append(t, uint16(v), uint16(v>>16)) }
	str := func(s string) { t = append(t, utf16z(s)...) }
	item := func(style uint32, id uint16, class uint16, text string) {
		if len(t)%2 != 0 { // items start on a DWORD boundary
			word(0)
		}
		dword(style)
		dword(0) // extended style
		word(0)  // x, y, cx, cy
		word(0)
		word(1)
		word(1)
		word(id)
		word(0xffff)
		word(class)
		str(text)
		word(0) // no creation data
	}
	dword(wsPopup | wsCaption | wsSysMenu | dsModalFrame | dsSetFont)
	dword(s.exStyle)
	word(uint16(1 + len(s.buttons)))
	word(0) // x, y, cx, cy
	word(0)
	word(200)
	word(80)
	word(0) // no menu
	word(0) // the dialog class
	str(s.title)
	word(dialogFontSize)
	str(dialogFont)
	item(wsChild|wsVisible|ssLeft|ssNoPrefix|ssEditControl, idText, 0x0082, toCRLF(s.text)) // STATIC
	for _, b := range s.buttons {
		style := uint32(wsChild | wsVisible | wsTabStop | bsPushButton)
		if b.id == s.defID {
			style |= bsDefPushButton
		}
		// "&" marks a mnemonic in a button label.
		item(style, b.id, 0x0080, strings.ReplaceAll(b.label, "&", "&&")) // BUTTON
	}
	return t
}

// dialogState is a shown dialog, known to dialogProc by its window.
type dialogState struct {
	spec      *dialogSpec
	result    uint16 // the button that closed it
	cancelled bool   // its context ended
}

var (
	dialogsMu     sync.Mutex
	dialogsByID   = map[uintptr]*dialogState{} // until WM_INITDIALOG
	dialogsByHWND = map[uintptr]*dialogState{}
	nextDialogID  uintptr

	dialogProcCB = windows.NewCallback(dialogProc)
)

func dialogOf(hwnd uintptr) *dialogState {
	dialogsMu.Lock()
	defer dialogsMu.Unlock()
	return dialogsByHWND[hwnd]
}

// dialogProc is the DLGPROC of every dialog. It runs on the dialog's own
// thread.
func dialogProc(hwnd, m, wParam, lParam uintptr) uintptr {
	switch uint32(m) {
	case wmInitDialog:
		dialogsMu.Lock()
		st := dialogsByID[lParam]
		delete(dialogsByID, lParam)
		if st != nil {
			dialogsByHWND[hwnd] = st
		}
		dialogsMu.Unlock()
		if st == nil {
			return 1
		}
		st.layout(hwnd)
		if b, _, _ := procGetDlgItem.Call(hwnd, uintptr(st.spec.defID)); b != 0 {
			procSendMessageW.Call(hwnd, wmNextDlgCtl, b, 1)
		}
		return 0 // focus is set
	case wmCommand:
		st := dialogOf(hwnd)
		if st == nil {
			return 0
		}
		id := uint16(wParam)
		known := id == idCancel
		for _, b := range st.spec.buttons {
			known = known || b.id == id
		}
		if known {
			st.result = id
			procDestroyWindow.Call(hwnd)
		}
		return 1
	case wmCancel:
		if st := dialogOf(hwnd); st != nil {
			st.cancelled = true
		}
		procDestroyWindow.Call(hwnd)
		return 1
	case wmDestroy:
		dialogsMu.Lock()
		delete(dialogsByHWND, hwnd)
		dialogsMu.Unlock()
		procPostQuitMessage.Call(0)
	}
	return 0
}

// layout sizes the text to its words, lines the buttons up under it at
// the right, and sizes and places the dialog, all in the dialog's font and
// DPI.
func (st *dialogState) layout(hwnd uintptr) {
	s := st.spec
	dlu := func(x, y int32) (int32, int32) { // dialog units to pixels
		r := rect{0, 0, x, y}
		procMapDialogRect.Call(hwnd, uintptr(unsafe.Pointer(&r)))
		return r.Right, r.Bottom
	}
	margin, vmargin := dlu(7, 7)
	maxText, vgap := dlu(230, 10)
	minButton, buttonH := dlu(50, 14)
	pad, _ := dlu(8, 0)
	gap, _ := dlu(4, 0)

	font, _, _ := procSendMessageW.Call(hwnd, wmGetFont, 0, 0)
	hdc, _, _ := procGetDC.Call(hwnd)
	old, _, _ := procSelectObject.Call(hdc, font)
	text := utf16z(toCRLF(s.text))
	tr := rect{0, 0, maxText, 0}
	procDrawTextW.Call(hdc, uintptr(unsafe.Pointer(&text[0])), ^uintptr(0), uintptr(unsafe.Pointer(&tr)),
		dtCalcRect|dtWordBreak|dtNoPrefix|dtExpandTabs|dtEditControl)
	widths := make([]int32, len(s.buttons))
	row := int32(0)
	for i, b := range s.buttons {
		label := utf16z(b.label)
		var size point
		procGetTextExtentPoint32W.Call(hdc, uintptr(unsafe.Pointer(&label[0])), uintptr(len(label)-1), uintptr(unsafe.Pointer(&size)))
		widths[i] = max(minButton, size.X+2*pad)
		row += widths[i]
		if i > 0 {
			row += gap
		}
	}
	procSelectObject.Call(hdc, old)
	procReleaseDC.Call(hwnd, hdc)

	content := max(tr.Right, row)
	clientW := 2*margin + content
	clientH := vmargin + tr.Bottom + vgap + buttonH + vmargin
	if c, _, _ := procGetDlgItem.Call(hwnd, idText); c != 0 {
		procMoveWindow.Call(c, uintptr(margin), uintptr(vmargin), uintptr(content), uintptr(tr.Bottom), 0)
	}
	x, y := clientW-margin-row, vmargin+tr.Bottom+vgap
	for i, b := range s.buttons {
		if c, _, _ := procGetDlgItem.Call(hwnd, uintptr(b.id)); c != 0 {
			procMoveWindow.Call(c, uintptr(x), uintptr(y), uintptr(widths[i]), uintptr(buttonH), 0)
		}
		x += widths[i] + gap
	}

	var wr, cr, work rect
	procGetWindowRect.Call(hwnd, uintptr(unsafe.Pointer(&wr)))
	procGetClientRect.Call(hwnd, uintptr(unsafe.Pointer(&cr)))
	w := clientW + wr.width() - cr.width()
	h := clientH + wr.height() - cr.height()
	procSystemParametersInfoW.Call(spiGetWorkArea, 0, uintptr(unsafe.Pointer(&work)), 0)
	px, py := work.Left+(work.width()-w)/2, work.Top+(work.height()-h)/2
	if s.corner {
		px, py = work.Right-w-margin, work.Bottom-h-vmargin
	}
	procSetWindowPos.Call(hwnd, hwndTopmost, uintptr(px), uintptr(py), uintptr(w), uintptr(h), swpNoActivate)
}

// run shows the dialog on an OS thread of its own and returns the id of
// the button that closed it (idCancel for Esc and the close box), or
// ctx.Err() when ctx ended first, which destroys the dialog.
func (s *dialogSpec) run(ctx context.Context) (uint16, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	dpiAware()
	type outcome struct {
		st  *dialogState
		err error
	}
	shown := make(chan uintptr, 1)
	done := make(chan outcome, 1)
	go func() {
		// The thread is never unlocked: it ends with the goroutine.
		runtime.LockOSThread()
		st, err := s.show(shown)
		done <- outcome{st, err}
	}()
	var hwnd uintptr
	select {
	case hwnd = <-shown:
	case o := <-done:
		return 0, o.err
	}
	select {
	case o := <-done:
		return o.st.result, o.err
	case <-ctx.Done():
		postMessage(hwnd, wmCancel, 0, 0)
		<-done
		return 0, ctx.Err()
	}
}

// show creates the dialog, sends its window on shown, and runs its message
// loop until it is destroyed.
func (s *dialogSpec) show(shown chan<- uintptr) (*dialogState, error) {
	st := &dialogState{spec: s}
	dialogsMu.Lock()
	nextDialogID++
	id := nextDialogID
	dialogsByID[id] = st
	dialogsMu.Unlock()

	// The template must be DWORD-aligned: copy it into uint32s.
	t := s.template()
	buf := make([]uint32, (len(t)+1)/2)
	copy(unsafe.Slice((*uint16)(unsafe.Pointer(&buf[0])), len(t)), t)
	module, _, _ := procGetModuleHandleW.Call(0)
	hwnd, _, err := procCreateDialogIndirectParamW.Call(module, uintptr(unsafe.Pointer(&buf[0])), 0, dialogProcCB, id)
	dialogsMu.Lock()
	delete(dialogsByID, id)
	dialogsMu.Unlock()
	if hwnd == 0 {
		return nil, win32Error("CreateDialogIndirectParamW", err)
	}
	shown <- hwnd
	if s.corner {
		procShowWindow.Call(hwnd, swShowNoActivate)
	} else {
		procShowWindow.Call(hwnd, swShow)
		procSetForegroundWindow.Call(hwnd)
		if fg, _, _ := procGetForegroundWindow.Call(); fg != hwnd {
			// Windows keeps a background program from taking the
			// foreground; the taskbar button flashes instead.
			procFlashWindow.Call(hwnd, 1)
		}
	}
	pump(func(m *msg) bool {
		r, _, _ := procIsDialogMessageW.Call(hwnd, uintptr(unsafe.Pointer(m)))
		return r != 0
	})
	return st, nil
}
