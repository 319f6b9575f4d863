//go:build windows

package win32

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

const (
	cfUnicodeText = 13
	gmemMoveable  = 0x0002

	// maxClipboardUnits bounds the UTF-16 units read from the clipboard;
	// longer text is cut (the wire carries far less).
	maxClipboardUnits = 1 << 20

	// Another program may hold the clipboard open for a moment.
	openTries = 10
	openPause = 20 * time.Millisecond
)

// ClipboardSeq returns the clipboard's sequence number, which Windows
// increases on every change. It is cheap: poll it and read the text only
// when it moved.
func (d *Desktop) ClipboardSeq() uint32 {
	r, _, _ := procGetClipboardSequenceNumber.Call()
	return uint32(r)
}

// ClipboardText returns the text on the clipboard (CF_UNICODETEXT, line
// breaks as "\n"; "" when it holds no text) and the sequence number it was
// read at.
func (d *Desktop) ClipboardText() (text string, seq uint32, err error) {
	runErr := d.clip.do(func() {
		seq = d.ClipboardSeq()
		text, err = readClipboard(d.clip.hwnd)
	})
	if runErr != nil {
		return "", 0, fmt.Errorf("win32: clipboard: %w", runErr)
	}
	return fromCRLF(text), seq, err
}

// SetClipboardText puts text on the clipboard, with Windows line breaks.
func (d *Desktop) SetClipboardText(text string) error {
	if strings.ContainsRune(text, 0) {
		return errors.New("win32: clipboard text holds a NUL character")
	}
	var err error
	if runErr := d.clip.do(func() { err = writeClipboard(d.clip.hwnd, toCRLF(text)) }); runErr != nil {
		return fmt.Errorf("win32: clipboard: %w", runErr)
	}
	return err
}

// openClipboard opens the clipboard for hwnd, waiting a little while
// another program has it open.
func openClipboard(hwnd uintptr) error {
	var err error
	for try := range openTries {
		var r uintptr
		if r, _, err = procOpenClipboard.Call(hwnd); r != 0 {
			return nil
		}
		if try < openTries-1 {
			time.Sleep(openPause)
		}
	}
	return win32Error("OpenClipboard", err)
}

func readClipboard(hwnd uintptr) (string, error) {
	if r, _, _ := procIsClipboardFormatAvailable.Call(cfUnicodeText); r == 0 {
		return "", nil
	}
	if err := openClipboard(hwnd); err != nil {
		return "", err
	}
	defer procCloseClipboard.Call()
	h, _, err := procGetClipboardData.Call(cfUnicodeText)
	if h == 0 {
		return "", win32Error("GetClipboardData", err)
	}
	p, _, err := procGlobalLock.Call(h)
	if p == 0 {
		return "", win32Error("GlobalLock", err)
	}
	defer procGlobalUnlock.Call(h)
	size, _, _ := procGlobalSize.Call(h)
	units := unsafe.Slice(at[uint16](p), min(size/2, maxClipboardUnits))
	return windows.UTF16ToString(units), nil // up to the first NUL
}

func writeClipboard(hwnd uintptr, text string) error {
	units := utf16z(text)
	h, _, err := procGlobalAlloc.Call(gmemMoveable, uintptr(len(units)*2))
	if h == 0 {
		return win32Error("GlobalAlloc", err)
	}
	owned := false // by the clipboard, once SetClipboardData took it
	defer func() {
		if !owned {
			procGlobalFree.Call(h)
		}
	}()
	p, _, err := procGlobalLock.Call(h)
	if p == 0 {
		return win32Error("GlobalLock", err)
	}
	copy(unsafe.Slice(at[uint16](p), len(units)), units)
	procGlobalUnlock.Call(h)

	if err := openClipboard(hwnd); err != nil {
		return err
	}
	defer procCloseClipboard.Call()
	if r, _, err := procEmptyClipboard.Call(); r == 0 {
		return win32Error("EmptyClipboard", err)
	}
	if r, _, err := procSetClipboardData.Call(cfUnicodeText, h); r == 0 {
		return win32Error("SetClipboardData", err)
	}
	owned = true
	return nil
}
