package text

import "testing"

func TestBidiControls(t *testing.T) {
	for _, c := range []struct {
		in, stripped string
		has          bool
	}{
		{"Alice", "Alice", false},
		{"invoice\u202Efdp.exe", "invoicefdp.exe", true},
		{"\u2066isolated\u2069", "isolated", true},
		{"\u202Aemb\u202B\u202C\u202D", "emb", true},
		{"שלום Ali\u200Fce", "שלום Ali\u200Fce", false},     // right-to-left text and marks are fine
		{"family 👨‍👩‍👧", "family 👨‍👩‍👧", false},             // joiners stay
		{"\u2065\u202F\u2070", "\u2065\u202F\u2070", false}, // neighbours are not controls
	} {
		if got := HasBidiControl(c.in); got != c.has {
			t.Errorf("HasBidiControl(%q) = %v", c.in, got)
		}
		if got := StripBidiControls(c.in); got != c.stripped {
			t.Errorf("StripBidiControls(%q) = %q, want %q", c.in, got, c.stripped)
		}
	}
}

func FuzzStripBidiControls(f *testing.F) {
	f.Add("invoice\u202Efdp.exe")
	f.Fuzz(func(t *testing.T, s string) {
		if HasBidiControl(StripBidiControls(s)) {
			t.Fatalf("%q still holds a control", s)
		}
	})
}

func TestClip(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{{"héllo", 2, "h"}, {"héllo", 3, "hé"}, {"abc", 5, "abc"}, {"", 0, ""}} {
		if got := Clip(c.in, c.n); got != c.want {
			t.Errorf("Clip(%q, %d) = %q", c.in, c.n, got)
		}
	}
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{{"héllo", 2, "hé"}, {"abc", 5, "abc"}, {"日本語", 1, "日"}, {"ab", 0, ""}} {
		if got := ClipRunes(c.in, c.n); got != c.want {
			t.Errorf("ClipRunes(%q, %d) = %q", c.in, c.n, got)
		}
	}
}
