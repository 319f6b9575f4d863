package win32

import "unicode"

// Virtual-key codes (WinUser.h) the keysym table and input use.
const (
	vkBack     = 0x08
	vkTab      = 0x09
	vkClear    = 0x0c
	vkReturn   = 0x0d
	vkPause    = 0x13
	vkCapital  = 0x14
	vkEscape   = 0x1b
	vkPrior    = 0x21
	vkNext     = 0x22
	vkEnd      = 0x23
	vkHome     = 0x24
	vkLeft     = 0x25
	vkUp       = 0x26
	vkRight    = 0x27
	vkDown     = 0x28
	vkSelect   = 0x29
	vkSnapshot = 0x2c
	vkInsert   = 0x2d
	vkDelete   = 0x2e
	vkHelp     = 0x2f
	vkLWin     = 0x5b
	vkRWin     = 0x5c
	vkApps     = 0x5d
	vkNumpad0  = 0x60
	vkMultiply = 0x6a
	vkAdd      = 0x6b
	vkSep      = 0x6c
	vkSubtract = 0x6d
	vkDecimal  = 0x6e
	vkDivide   = 0x6f
	vkF1       = 0x70
	vkNumLock  = 0x90
	vkScroll   = 0x91
	vkLShift   = 0xa0
	vkRShift   = 0xa1
	vkLControl = 0xa2
	vkRControl = 0xa3
	vkLMenu    = 0xa4
	vkRMenu    = 0xa5
	vkMute     = 0xad
	vkVolDown  = 0xae
	vkVolUp    = 0xaf
	vkNextTr   = 0xb0
	vkPrevTr   = 0xb1
	vkStop     = 0xb2
	vkPlay     = 0xb3
)

// Modifier bits, as in the high byte of VkKeyScanW's result.
const (
	modShift = 1
	modCtrl  = 2
	modAlt   = 4
)

// A stroke is what an X11 keysym becomes on Windows: a virtual key (vk,
// with ext for KEYEVENTF_EXTENDEDKEY), or, when r is not 0, a character,
// which input types with the key the layout has for it or as Unicode.
type stroke struct {
	vk  uint16
	ext bool
	r   rune
}

// keysymKeys maps the keysyms of keys that are not characters to virtual
// keys. The technician's console sends these (appliance/web/assets/remote.js);
// the keypad ones come from X11 clients.
var keysymKeys = map[uint32]stroke{
	0xff08: {vk: vkBack},
	0xff09: {vk: vkTab},
	0xfe20: {vk: vkTab}, // ISO_Left_Tab (Shift-Tab)
	0xff0b: {vk: vkClear},
	0xff0d: {vk: vkReturn},
	0xff13: {vk: vkPause},
	0xff14: {vk: vkScroll},
	0xff1b: {vk: vkEscape},
	0xffff: {vk: vkDelete, ext: true},
	0xff50: {vk: vkHome, ext: true},
	0xff51: {vk: vkLeft, ext: true},
	0xff52: {vk: vkUp, ext: true},
	0xff53: {vk: vkRight, ext: true},
	0xff54: {vk: vkDown, ext: true},
	0xff55: {vk: vkPrior, ext: true},
	0xff56: {vk: vkNext, ext: true},
	0xff57: {vk: vkEnd, ext: true},
	0xff60: {vk: vkSelect},
	0xff61: {vk: vkSnapshot, ext: true},
	0xff63: {vk: vkInsert, ext: true},
	0xff67: {vk: vkApps, ext: true},
	0xff6a: {vk: vkHelp},
	0xff7f: {vk: vkNumLock, ext: true},
	0xffe1: {vk: vkLShift},
	0xffe2: {vk: vkRShift},
	0xffe3: {vk: vkLControl},
	0xffe4: {vk: vkRControl, ext: true},
	0xffe5: {vk: vkCapital},
	0xffe7: {vk: vkLMenu}, // Meta_L: X servers often give Alt this keysym
	0xffe8: {vk: vkRMenu, ext: true},
	0xffe9: {vk: vkLMenu},
	0xffea: {vk: vkRMenu, ext: true},
	0xfe03: {vk: vkRMenu, ext: true}, // ISO_Level3_Shift (AltGr)
	0xffeb: {vk: vkLWin, ext: true},
	0xffec: {vk: vkRWin, ext: true},

	// Keypad.
	0xff8d: {vk: vkReturn, ext: true},
	0xff89: {vk: vkTab},
	0xff95: {vk: vkHome},
	0xff96: {vk: vkLeft},
	0xff97: {vk: vkUp},
	0xff98: {vk: vkRight},
	0xff99: {vk: vkDown},
	0xff9a: {vk: vkPrior},
	0xff9b: {vk: vkNext},
	0xff9c: {vk: vkEnd},
	0xff9d: {vk: vkClear},
	0xff9e: {vk: vkInsert},
	0xff9f: {vk: vkDelete},
	0xffaa: {vk: vkMultiply},
	0xffab: {vk: vkAdd},
	0xffac: {vk: vkSep},
	0xffad: {vk: vkSubtract},
	0xffae: {vk: vkDecimal},
	0xffaf: {vk: vkDivide, ext: true},
	0xff80: {r: ' '}, // KP_Space
	0xffbd: {r: '='}, // KP_Equal

	// Media keys (XF86).
	0x1008ff11: {vk: vkVolDown, ext: true},
	0x1008ff12: {vk: vkMute, ext: true},
	0x1008ff13: {vk: vkVolUp, ext: true},
	0x1008ff14: {vk: vkPlay, ext: true},
	0x1008ff15: {vk: vkStop, ext: true},
	0x1008ff16: {vk: vkPrevTr, ext: true},
	0x1008ff17: {vk: vkNextTr, ext: true},
}

// keysymStroke maps an X11 keysym to a stroke: the keys above, the
// keypad digits, F1–F24, and characters (Latin-1 keysyms, which are their
// code points, and 0x01000000 plus any other code point). It reports false
// for keysyms Windows has no key or character for.
func keysymStroke(ks uint32) (stroke, bool) {
	switch {
	case ks >= 0x20 && ks <= 0x7e, ks >= 0xa0 && ks <= 0xff:
		return stroke{r: rune(ks)}, true
	case ks&0xff000000 == 0x01000000:
		r := rune(ks & 0x00ffffff)
		if r < 0x20 || (r >= 0x7f && r < 0xa0) || r > unicode.MaxRune || (r >= 0xd800 && r <= 0xdfff) {
			return stroke{}, false
		}
		return stroke{r: r}, true
	case ks >= 0xffb0 && ks <= 0xffb9: // KP_0 … KP_9
		return stroke{vk: vkNumpad0 + uint16(ks-0xffb0)}, true
	case ks >= 0xffbe && ks <= 0xffd5: // F1 … F24
		return stroke{vk: vkF1 + uint16(ks-0xffbe)}, true
	}
	s, ok := keysymKeys[ks]
	return s, ok
}

// layoutKey decides how to type the character r: with the virtual key that
// VkKeyScanW found for it on the keyboard layout (vks: the key in the low
// byte, the modifiers it needs in the high byte, -1 for none), or as a
// Unicode character when the layout has no key for it or the key would need
// other modifiers than those held. held is the modifiers input holds down;
// capsLock is whether Caps Lock is on, which inverts Shift for letters.
//
// A key is better when it works: shortcuts such as Ctrl-C need the key,
// not a character. So with Ctrl or Alt held the key is taken even when
// Shift differs, and only a key that needs Ctrl or Alt that is not held
// (AltGr characters) is typed as Unicode. Without Ctrl or Alt, Shift must
// match exactly, or "1" typed with Shift held (as on a French keyboard)
// would come out as "!".
func layoutKey(vks int16, r rune, held uint8, capsLock bool) (uint16, bool) {
	if vks == -1 {
		return 0, false
	}
	vk, need := uint16(vks&0xff), uint8(uint16(vks)>>8)
	if need&^(modShift|modCtrl|modAlt) != 0 {
		return 0, false // Hankaku and other states input does not press
	}
	if need&(modCtrl|modAlt)&^held != 0 {
		return 0, false
	}
	if held&(modCtrl|modAlt) != 0 {
		return vk, true
	}
	shift := held&modShift != 0
	if capsLock && unicode.ToUpper(r) != unicode.ToLower(r) {
		shift = !shift
	}
	if shift != (need&modShift != 0) {
		return 0, false
	}
	return vk, true
}
