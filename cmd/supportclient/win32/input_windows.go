//go:build windows

package win32

import (
	"errors"
	"fmt"
	"unicode/utf16"
	"unsafe"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// SendInput's structures and flags.
const (
	inputMouse    = 0
	inputKeyboard = 1

	mouseMove       = 0x0001
	mouseLeftDown   = 0x0002
	mouseLeftUp     = 0x0004
	mouseRightDown  = 0x0008
	mouseRightUp    = 0x0010
	mouseMiddleDown = 0x0020
	mouseMiddleUp   = 0x0040
	mouseWheel      = 0x0800
	mouseHWheel     = 0x1000
	mouseVirtualDsk = 0x4000
	mouseAbsolute   = 0x8000

	wheelDelta = 120 // one notch (WHEEL_DELTA)

	keyExtended = 0x0001
	keyUp       = 0x0002
	keyUnicode  = 0x0004
)

// mouseInput is INPUT with a MOUSEINPUT, the largest member of its union:
// 40 bytes on 64-bit Windows, 28 on 32-bit. The union is aligned as a
// pointer, hence the nested structure.
type mouseInput struct {
	typ uint32
	mi  mouseFields
}

type mouseFields struct {
	dx, dy    int32
	mouseData uint32
	flags     uint32
	time      uint32
	extra     uintptr
}

// keyInput is INPUT with a KEYBDINPUT, padded to the size of mouseInput
// (KEYBDINPUT is 8 bytes shorter than MOUSEINPUT on both 32 and 64 bits).
type keyInput struct {
	typ uint32
	ki  keyFields
	_   [8]byte
}

type keyFields struct {
	vk    uint16
	scan  uint16
	flags uint32
	time  uint32
	extra uintptr
}

// inputSize is sizeof(INPUT), the stride of the array SendInput reads.
const inputSize = unsafe.Sizeof(mouseInput{})

var _ [inputSize - unsafe.Sizeof(keyInput{})]struct{} // the two are the same size
var _ [unsafe.Sizeof(keyInput{}) - inputSize]struct{}

// A pressed key is what went down for a keysym, to be let go of the same
// way: a virtual key, or a UTF-16 unit typed as Unicode (vk 0).
type pressed struct {
	vk   uint16
	ext  bool
	unit uint16
}

// inputState is what input holds down.
type inputState struct {
	keys    map[uint32]pressed // by keysym
	buttons map[uint32]bool    // by wire button: 1 left, 2 middle, 3 right
}

func (s *inputState) init() {
	s.keys = map[uint32]pressed{}
	s.buttons = map[uint32]bool{}
}

// mods returns the modifiers that input holds down.
func (s *inputState) mods() uint8 {
	var m uint8
	for _, p := range s.keys {
		switch p.vk {
		case vkLShift, vkRShift:
			m |= modShift
		case vkLControl, vkRControl:
			m |= modCtrl
		case vkLMenu, vkRMenu:
			m |= modAlt
		}
	}
	return m
}

var errClosed = errors.New("win32: desktop closed")

// Apply injects one input event with SendInput, as the technician's console
// sends it (the semantics of the X11 platform layer): a move to a position
// in the virtual screen (clamped to it), a button (1 left, 2 middle,
// 3 right) after a move to its position, wheel notches (Y negative: up,
// away from the user; X negative: left; at most 10 a event), or an X11
// keysym going down or up.
//
// Windows delivers injected input to the window under the pointer or in
// the foreground, but not to windows of programs that run elevated (UIPI)
// or to the secure desktop (UAC prompts, the lock screen); SendInput does
// not report that.
func (d *Desktop) Apply(in wire.Input) error {
	d.inMu.Lock()
	defer d.inMu.Unlock()
	if d.inClosed {
		return errClosed
	}
	switch in.Kind {
	case wire.InputMove:
		return d.move(in.X, in.Y, 0)
	case wire.InputButton:
		if in.Code < 1 || in.Code > 3 {
			return fmt.Errorf("win32: no mouse button %d", in.Code)
		}
		return d.button(in.Code, in.Down, in.X, in.Y)
	case wire.InputWheel:
		return d.wheel(in.X, in.Y)
	case wire.InputKey:
		return d.key(in.Code, in.Down)
	}
	return fmt.Errorf("win32: unknown input kind %d", in.Kind)
}

func sendInput(inputs unsafe.Pointer, n int) error {
	r, _, err := procSendInput.Call(uintptr(n), uintptr(inputs), inputSize)
	if int(r) != n {
		return win32Error("SendInput", err)
	}
	return nil
}

func sendMouse(mi mouseFields) error {
	in := mouseInput{typ: inputMouse, mi: mi}
	return sendInput(unsafe.Pointer(&in), 1)
}

// move puts the pointer at x,y of the virtual screen, with the button
// flags of extra in the same event.
func (d *Desktop) move(x, y int32, extra uint32) error {
	_, _, w, h := virtualScreen()
	nx, ny := absolute(x, y, int(w), int(h))
	return sendMouse(mouseFields{dx: nx, dy: ny, flags: mouseMove | mouseAbsolute | mouseVirtualDsk | extra})
}

// buttonFlags returns the SendInput flags of a wire button. SendInput
// means the physical buttons, so with the buttons swapped for a left hand
// the technician's left button is Windows' right one.
func buttonFlags(code uint32, down bool) uint32 {
	if systemMetric(smSwapButton) != 0 {
		switch code {
		case 1:
			code = 3
		case 3:
			code = 1
		}
	}
	flags := map[uint32][2]uint32{
		1: {mouseLeftUp, mouseLeftDown},
		2: {mouseMiddleUp, mouseMiddleDown},
		3: {mouseRightUp, mouseRightDown},
	}[code]
	if down {
		return flags[1]
	}
	return flags[0]
}

func (d *Desktop) button(code uint32, down bool, x, y int32) error {
	if down == d.in.buttons[code] {
		return d.move(x, y, 0)
	}
	if err := d.move(x, y, buttonFlags(code, down)); err != nil {
		return err
	}
	if down {
		d.in.buttons[code] = true
	} else {
		delete(d.in.buttons, code)
	}
	return nil
}

func (d *Desktop) wheel(x, y int32) error {
	if n := notches(y); n != 0 {
		// Windows counts away from the user as positive.
		if err := sendMouse(mouseFields{flags: mouseWheel, mouseData: uint32(-n * wheelDelta)}); err != nil {
			return err
		}
	}
	if n := notches(x); n != 0 {
		if err := sendMouse(mouseFields{flags: mouseHWheel, mouseData: uint32(n * wheelDelta)}); err != nil {
			return err
		}
	}
	return nil
}

func sendKey(p pressed, down bool) error {
	in := keyInput{typ: inputKeyboard}
	k := &in.ki
	if p.vk == 0 {
		k.scan, k.flags = p.unit, keyUnicode
	} else {
		const vkToScan = 0 // MAPVK_VK_TO_VSC
		scan, _, _ := procMapVirtualKeyW.Call(uintptr(p.vk), vkToScan)
		k.vk, k.scan = p.vk, uint16(scan)
		if p.ext {
			k.flags = keyExtended
		}
	}
	if !down {
		k.flags |= keyUp
	}
	return sendInput(unsafe.Pointer(&in), 1)
}

func (d *Desktop) key(keysym uint32, down bool) error {
	s := &d.in
	if !down {
		p, ok := s.keys[keysym]
		if !ok {
			return nil // never pressed through Apply
		}
		delete(s.keys, keysym)
		return sendKey(p, false)
	}
	if p, ok := s.keys[keysym]; ok { // auto-repeat
		return sendKey(p, true)
	}
	st, ok := keysymStroke(keysym)
	if !ok {
		return fmt.Errorf("win32: keysym %#x has no Windows key", keysym)
	}
	p := pressed{vk: st.vk, ext: st.ext}
	if st.r != 0 {
		var units []uint16
		if p, units = s.character(st.r); units != nil {
			// A character outside the BMP goes as a surrogate pair, typed
			// at once: nothing stays held for it.
			for _, u := range units {
				if err := sendKey(pressed{unit: u}, true); err != nil {
					return err
				}
				if err := sendKey(pressed{unit: u}, false); err != nil {
					return err
				}
			}
			return nil
		}
	}
	if err := sendKey(p, true); err != nil {
		return err
	}
	s.keys[keysym] = p
	return nil
}

// character returns how to press r: the layout's key for it when that
// works with the modifiers held (see layoutKey), or its UTF-16 unit; for a
// character outside the BMP it returns the surrogate pair to type instead.
func (s *inputState) character(r rune) (pressed, []uint16) {
	if r <= 0xffff {
		vks, _, _ := procVkKeyScanW.Call(uintptr(r))
		caps, _, _ := procGetKeyState.Call(vkCapital)
		if vk, ok := layoutKey(int16(vks), r, s.mods(), caps&1 != 0); ok {
			return pressed{vk: vk}, nil
		}
		return pressed{unit: uint16(r)}, nil
	}
	return pressed{}, utf16.Encode([]rune{r})
}

// ReleaseAll lets go of every key and button that Apply holds down, so
// that nothing stays stuck when control ends.
func (d *Desktop) ReleaseAll() {
	d.inMu.Lock()
	defer d.inMu.Unlock()
	if d.inClosed {
		return
	}
	for ks, p := range d.in.keys {
		if err := sendKey(p, false); err != nil {
			d.log.Debug("release key", "keysym", ks, "err", err)
		}
	}
	clear(d.in.keys)
	for code := range d.in.buttons {
		if err := sendMouse(mouseFields{flags: buttonFlags(code, false)}); err != nil {
			d.log.Debug("release button", "button", code, "err", err)
		}
	}
	clear(d.in.buttons)
}
