package win32

import "testing"

func TestKeysymStroke(t *testing.T) {
	for _, tc := range []struct {
		name   string
		keysym uint32
		want   stroke
		ok     bool
	}{
		{"space", 0x20, stroke{r: ' '}, true},
		{"a", 0x61, stroke{r: 'a'}, true},
		{"Z", 0x5a, stroke{r: 'Z'}, true},
		{"tilde", 0x7e, stroke{r: '~'}, true},
		{"nbsp", 0xa0, stroke{r: 0xa0}, true},
		{"ü", 0xfc, stroke{r: 'ü'}, true},
		{"ÿ", 0xff, stroke{r: 'ÿ'}, true},
		{"euro", 0x010020ac, stroke{r: '€'}, true},
		{"emoji", 0x0101f600, stroke{r: '😀'}, true},
		{"cyrillic", 0x01000416, stroke{r: 'Ж'}, true},
		{"BackSpace", 0xff08, stroke{vk: vkBack}, true},
		{"Tab", 0xff09, stroke{vk: vkTab}, true},
		{"Return", 0xff0d, stroke{vk: vkReturn}, true},
		{"Escape", 0xff1b, stroke{vk: vkEscape}, true},
		{"Delete", 0xffff, stroke{vk: vkDelete, ext: true}, true},
		{"Home", 0xff50, stroke{vk: vkHome, ext: true}, true},
		{"Left", 0xff51, stroke{vk: vkLeft, ext: true}, true},
		{"Up", 0xff52, stroke{vk: vkUp, ext: true}, true},
		{"Right", 0xff53, stroke{vk: vkRight, ext: true}, true},
		{"Down", 0xff54, stroke{vk: vkDown, ext: true}, true},
		{"Page_Up", 0xff55, stroke{vk: vkPrior, ext: true}, true},
		{"Page_Down", 0xff56, stroke{vk: vkNext, ext: true}, true},
		{"End", 0xff57, stroke{vk: vkEnd, ext: true}, true},
		{"Insert", 0xff63, stroke{vk: vkInsert, ext: true}, true},
		{"Print", 0xff61, stroke{vk: vkSnapshot, ext: true}, true},
		{"Menu", 0xff67, stroke{vk: vkApps, ext: true}, true},
		{"F1", 0xffbe, stroke{vk: 0x70}, true},
		{"F12", 0xffc9, stroke{vk: 0x7b}, true},
		{"F24", 0xffd5, stroke{vk: 0x87}, true},
		{"Shift_L", 0xffe1, stroke{vk: vkLShift}, true},
		{"Shift_R", 0xffe2, stroke{vk: vkRShift}, true},
		{"Control_L", 0xffe3, stroke{vk: vkLControl}, true},
		{"Control_R", 0xffe4, stroke{vk: vkRControl, ext: true}, true},
		{"Alt_L", 0xffe9, stroke{vk: vkLMenu}, true},
		{"Alt_R", 0xffea, stroke{vk: vkRMenu, ext: true}, true},
		{"Super_L", 0xffeb, stroke{vk: vkLWin, ext: true}, true},
		{"Super_R", 0xffec, stroke{vk: vkRWin, ext: true}, true},
		{"Caps_Lock", 0xffe5, stroke{vk: vkCapital}, true},
		{"KP_Enter", 0xff8d, stroke{vk: vkReturn, ext: true}, true},
		{"KP_0", 0xffb0, stroke{vk: vkNumpad0}, true},
		{"KP_9", 0xffb9, stroke{vk: vkNumpad0 + 9}, true},
		{"KP_Divide", 0xffaf, stroke{vk: vkDivide, ext: true}, true},
		{"KP_Home", 0xff95, stroke{vk: vkHome}, true},

		{"nothing", 0, stroke{}, false},
		{"control character", 0x1f, stroke{}, false},
		{"DEL", 0x7f, stroke{}, false},
		{"C1 control", 0x85, stroke{}, false},
		{"Unicode control", 0x01000007, stroke{}, false},
		{"Unicode C1", 0x01000090, stroke{}, false},
		{"surrogate", 0x0100d800, stroke{}, false},
		{"beyond Unicode", 0x01110000, stroke{}, false},
		{"F25", 0xffd6, stroke{}, false},
		{"Hyper_L", 0xffed, stroke{}, false},
		{"dead_grave", 0xfe50, stroke{}, false},
		{"legacy Latin-2", 0x01a1, stroke{}, false},
		{"huge", 0xffffffff, stroke{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := keysymStroke(tc.keysym)
			if got != tc.want || ok != tc.ok {
				t.Errorf("keysymStroke(%#x) = %+v, %v; want %+v, %v", tc.keysym, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestLayoutKey(t *testing.T) {
	// VkKeyScanW results on a US layout, and one of a German layout's
	// AltGr characters.
	const (
		vkA      = 0x41
		shiftA   = int16(modShift<<8 | vkA) // 'A'
		plainA   = int16(vkA)               // 'a'
		plain1   = int16(0x31)              // '1'
		altGrQ   = int16((modCtrl|modAlt)<<8 | 0x51)
		hankaku  = int16(8<<8 | 0x41)
		noKey    = int16(-1)
		noneHeld = 0
	)
	for _, tc := range []struct {
		name     string
		vks      int16
		r        rune
		held     uint8
		capsLock bool
		vk       uint16
		ok       bool
	}{
		{"a", plainA, 'a', noneHeld, false, vkA, true},
		{"A with Shift held", shiftA, 'A', modShift, false, vkA, true},
		{"A without Shift: Unicode", shiftA, 'A', noneHeld, false, 0, false},
		{"1 with Shift held (French keyboard): Unicode", plain1, '1', modShift, false, 0, false},
		{"Ctrl-C", plainA, 'a', modCtrl, false, vkA, true},
		{"Ctrl-Shift-A", shiftA, 'A', modCtrl | modShift, false, vkA, true},
		{"Ctrl with an upper-case letter", shiftA, 'A', modCtrl, false, vkA, true},
		{"Alt-a", plainA, 'a', modAlt, false, vkA, true},
		{"AltGr character without AltGr: Unicode", altGrQ, '@', noneHeld, false, 0, false},
		{"AltGr character with Ctrl and Alt", altGrQ, '@', modCtrl | modAlt, false, 0x51, true},
		{"AltGr character with Ctrl only", altGrQ, '@', modCtrl, false, 0, false},
		{"no key on the layout", noKey, '€', noneHeld, false, 0, false},
		{"no key, Ctrl held", noKey, '€', modCtrl, false, 0, false},
		{"other shift states", hankaku, 'a', noneHeld, false, 0, false},
		{"Caps Lock: a is the shifted key", plainA, 'a', noneHeld, true, 0, false},
		{"Caps Lock: A is the plain key", shiftA, 'A', noneHeld, true, vkA, true},
		{"Caps Lock does not turn digits", plain1, '1', noneHeld, true, 0x31, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vk, ok := layoutKey(tc.vks, tc.r, tc.held, tc.capsLock)
			if vk != tc.vk || ok != tc.ok {
				t.Errorf("layoutKey(%#x, %q, %b, %v) = %#x, %v; want %#x, %v", tc.vks, tc.r, tc.held, tc.capsLock, vk, ok, tc.vk, tc.ok)
			}
		})
	}
}
