package x11

import (
	"fmt"

	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// Keysyms the input code treats specially.
const (
	keysymShiftL = 0xffe1
	keysymShiftR = 0xffe2
)

// maxNotches bounds the wheel clicks of one event.
const maxNotches = 10

// inputState is the keyboard map and what input holds down.
type inputState struct {
	minKey, maxKey xproto.Keycode
	perKey         int
	keysyms        []xproto.Keysym // perKey per keycode from minKey
	stale          bool            // the map changed on the server
	spares         []xproto.Keycode
	bound          map[xproto.Keycode]bool // spares bindSpare used
	nextSpare      int
	keysDown       map[xproto.Keycode]bool
	buttonsDown    map[byte]bool
	shiftDown      bool // a Shift key went down through input
	synthShift     xproto.Keycode
	keyOf          map[uint32]xproto.Keycode // keysym → keycode pressed for it
}

func (s *inputState) init(setup *xproto.SetupInfo) {
	s.minKey, s.maxKey = setup.MinKeycode, setup.MaxKeycode
	s.stale = true
	s.keysDown = map[xproto.Keycode]bool{}
	s.buttonsDown = map[byte]bool{}
	s.keyOf = map[uint32]xproto.Keycode{}
	s.bound = map[xproto.Keycode]bool{}
}

// refresh reloads the keyboard map if it changed.
func (d *Display) refresh() error {
	s := &d.in
	if !s.stale {
		return nil
	}
	count := int(s.maxKey) - int(s.minKey) + 1
	r, err := xproto.GetKeyboardMapping(d.conn, s.minKey, byte(count)).Reply()
	if err != nil {
		return fmt.Errorf("x11: keyboard map: %w", err)
	}
	s.perKey = int(r.KeysymsPerKeycode)
	s.keysyms = r.Keysyms
	s.spares = s.spares[:0]
	for k := range count {
		empty := true
		for _, ks := range s.keysyms[k*s.perKey : (k+1)*s.perKey] {
			empty = empty && ks == 0
		}
		if kc := s.minKey + xproto.Keycode(k); empty || s.bound[kc] {
			s.spares = append(s.spares, kc)
		}
	}
	s.stale = false
	return nil
}

// lookup finds a keycode for keysym in the first two columns (plain and
// shifted) and reports whether it needs Shift.
func (s *inputState) lookup(keysym uint32) (xproto.Keycode, bool, bool) {
	for col := range min(2, s.perKey) {
		for k := 0; k*s.perKey < len(s.keysyms); k++ {
			if uint32(s.keysyms[k*s.perKey+col]) == keysym {
				return s.minKey + xproto.Keycode(k), col == 1, true
			}
		}
	}
	return 0, false, false
}

// Apply injects one input event through XTEST. Positions are clamped to
// the screen.
func (d *Display) Apply(in wire.Input) error {
	d.inMu.Lock()
	defer d.inMu.Unlock()
	if d.closed {
		return fmt.Errorf("x11: display closed")
	}
	if !d.xtest {
		return ErrNoXTEST
	}
	switch in.Kind {
	case wire.InputMove:
		d.move(in.X, in.Y)
	case wire.InputButton:
		if in.Code < 1 || in.Code > 3 {
			return fmt.Errorf("x11: no mouse button %d", in.Code)
		}
		d.move(in.X, in.Y)
		d.button(byte(in.Code), in.Down)
	case wire.InputWheel:
		d.wheel(in.Y, 4, 5)
		d.wheel(in.X, 6, 7)
	case wire.InputKey:
		return d.key(in.Code, in.Down)
	default:
		return fmt.Errorf("x11: unknown input kind %d", in.Kind)
	}
	return nil
}

func (d *Display) move(x, y int32) {
	w, h := d.Size()
	x = max(0, min(x, int32(w)-1))
	y = max(0, min(y, int32(h)-1))
	xtest.FakeInput(d.conn, xproto.MotionNotify, 0, 0, d.root, int16(x), int16(y), 0)
}

func (d *Display) button(b byte, down bool) {
	if down == d.in.buttonsDown[b] {
		return
	}
	typ := byte(xproto.ButtonRelease)
	if down {
		typ = xproto.ButtonPress
	}
	xtest.FakeInput(d.conn, typ, b, 0, d.root, 0, 0, 0)
	if down {
		d.in.buttonsDown[b] = true
	} else {
		delete(d.in.buttonsDown, b)
	}
}

// wheel clicks button neg or pos once per notch of delta.
func (d *Display) wheel(delta int32, neg, pos byte) {
	b := pos
	if delta < 0 {
		b, delta = neg, -delta
	}
	for range min(delta, maxNotches) {
		d.button(b, true)
		d.button(b, false)
	}
}

func (d *Display) fakeKey(k xproto.Keycode, down bool) {
	typ := byte(xproto.KeyRelease)
	if down {
		typ = xproto.KeyPress
	}
	xtest.FakeInput(d.conn, typ, byte(k), 0, d.root, 0, 0, 0)
	if down {
		d.in.keysDown[k] = true
	} else {
		delete(d.in.keysDown, k)
	}
}

func (d *Display) key(keysym uint32, down bool) error {
	s := &d.in
	if keysym == keysymShiftL || keysym == keysymShiftR {
		s.shiftDown = down
	}
	if !down {
		k, ok := s.keyOf[keysym]
		if !ok {
			return nil // never pressed through us
		}
		delete(s.keyOf, keysym)
		d.fakeKey(k, false)
		if s.synthShift != 0 {
			d.fakeKey(s.synthShift, false)
			s.synthShift = 0
		}
		return nil
	}
	if err := d.refresh(); err != nil {
		return err
	}
	if k, ok := s.keyOf[keysym]; ok { // auto-repeat
		d.fakeKey(k, true)
		return nil
	}
	k, shifted, ok := s.lookup(keysym)
	if !ok {
		var err error
		if k, err = d.bindSpare(keysym); err != nil {
			return err
		}
	}
	if shifted && !s.shiftDown {
		// The keysym is on the shifted level: hold Shift around it.
		if sk, _, ok := s.lookup(keysymShiftL); ok && s.synthShift == 0 {
			d.fakeKey(sk, true)
			s.synthShift = sk
		}
	}
	s.keyOf[keysym] = k
	d.fakeKey(k, true)
	return nil
}

// bindSpare maps keysym on a keycode that has no symbols, taking spare
// keycodes round-robin, so that keysyms missing from the layout (accents,
// other scripts) can be typed.
func (d *Display) bindSpare(keysym uint32) (xproto.Keycode, error) {
	s := &d.in
	if len(s.spares) == 0 {
		return 0, fmt.Errorf("x11: keysym %#x is not on the keyboard and no keycode is free", keysym)
	}
	k := s.spares[s.nextSpare%len(s.spares)]
	s.nextSpare++
	syms := make([]xproto.Keysym, s.perKey)
	syms[0] = xproto.Keysym(keysym)
	if s.perKey > 1 {
		syms[1] = xproto.Keysym(keysym)
	}
	if err := xproto.ChangeKeyboardMappingChecked(d.conn, 1, k, byte(s.perKey), syms).Check(); err != nil {
		return 0, fmt.Errorf("x11: bind keysym %#x: %w", keysym, err)
	}
	copy(s.keysyms[int(k-s.minKey)*s.perKey:], syms)
	s.bound[k] = true
	// The server reports our own change too; this map is already right.
	d.log.Debug("bound keysym to a spare keycode", "keysym", keysym, "keycode", k)
	return k, nil
}

// ReleaseAll releases every key and button that input holds down, so that
// nothing stays stuck when control ends.
func (d *Display) ReleaseAll() {
	d.inMu.Lock()
	defer d.inMu.Unlock()
	if d.closed || !d.xtest {
		return
	}
	for k := range d.in.keysDown {
		d.fakeKey(k, false)
	}
	for b := range d.in.buttonsDown {
		d.button(b, false)
	}
	clear(d.in.keyOf)
	d.in.synthShift = 0
	d.in.shiftDown = false
}
