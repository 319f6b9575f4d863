// Package text holds the checks every front end and domain applies to text
// people type and other people read: names, chat, file names.
package text

import "strings"

// BidiControl reports whether r is an explicit bidirectional embedding,
// override or isolate (U+202A–U+202E, U+2066–U+2069). Placed in a name or a
// file name they reorder what follows, so "invoice‮fdp.exe" shows as
// "invoiceexe.pdf"; nobody needs them to type a name.
func BidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069
}

// HasBidiControl reports whether s holds a BidiControl.
func HasBidiControl(s string) bool { return strings.IndexFunc(s, BidiControl) >= 0 }

// BidiMessage is what to tell someone whose name was refused for one.
const BidiMessage = "Remove the invisible characters that change the direction of the text (such as U+202E)."

// StripBidiControls returns s without its BidiControls: for text that is
// shown rather than refused, such as chat and received file names.
func StripBidiControls(s string) string {
	if !HasBidiControl(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if BidiControl(r) {
			return -1
		}
		return r
	}, s)
}

// Clip cuts s to at most n bytes, on a rune boundary.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// ClipRunes cuts s to at most n runes.
func ClipRunes(s string, n int) string {
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}
