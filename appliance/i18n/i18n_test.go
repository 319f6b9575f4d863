package i18n

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCatalogComplete fails when a key lacks a language or a translation
// drops, adds or changes a placeholder.
func TestCatalogComplete(t *testing.T) {
	if len(entries) == 0 {
		t.Fatal("the catalog is empty")
	}
	for _, e := range entries {
		want := argSet(e.verbs)
		for _, lang := range Langs[1:] {
			s, ok := e.texts[lang]
			if !ok || strings.TrimSpace(s) == "" {
				t.Errorf("%q has no %s translation", e.key, lang)
				continue
			}
			vs, err := verbsOf(s)
			if err != nil {
				t.Errorf("%q in %s: %v", e.key, lang, err)
				continue
			}
			if got := argSet(vs); !slices.Equal(got, want) {
				t.Errorf("%q in %s: placeholders %v, want %v (the English's)", e.key, lang, got, want)
			}
		}
	}
}

// argSet is the sorted list of "index:letter" of vs.
func argSet(vs []verb) []string {
	var out []string
	for _, v := range vs {
		out = append(out, string(rune('0'+v.index))+":"+string(v.letter))
	}
	slices.Sort(out)
	return out
}

func TestParseRefuses(t *testing.T) {
	for name, src := range map[string]string{
		"no colon":          "en hello\n",
		"unknown language":  "en: Hello\nxx: Salut\n",
		"translation first": "fr: Bonjour\n",
		"two english":       "en: A\nen: B\n",
		"duplicate key":     "en: A\n\nen: A\n",
		"two french":        "en: A\nfr: B\nfr: C\n",
		"bad verb":          "en: 100% sure\n",
	} {
		if _, err := parse(src); err == nil {
			t.Errorf("%s: parse took %q", name, src)
		}
	}
}

func TestVerbCheckCatchesDroppedPlaceholder(t *testing.T) {
	got, _ := verbsOf("Vous êtes le numéro.")
	want, _ := verbsOf("You are number %d.")
	if slices.Equal(argSet(got), argSet(want)) {
		t.Fatal("a dropped placeholder went unnoticed")
	}
	a, _ := verbsOf("%[2]s a refusé %[1]s.")
	b, _ := verbsOf("%s declined %s.")
	if !slices.Equal(argSet(a), argSet(b)) {
		t.Fatalf("reordered verbs %v differ from %v", argSet(a), argSet(b))
	}
}

func TestTAndText(t *testing.T) {
	if got := T(French, "How can we help?"); got == "How can we help?" || got == "" {
		t.Errorf("French home heading = %q", got)
	}
	if got := T(English, "You are number %d. Estimated wait: about %d min. Keep this page open.", 3, 5); got != "You are number 3. Estimated wait: about 5 min. Keep this page open." {
		t.Errorf("English = %q", got)
	}
	if got := T(German, "no such key %d", 4); got != "no such key 4" {
		t.Errorf("a missing key = %q, want the key formatted", got)
	}
	// A sentence formatted elsewhere is recognised by its pattern and
	// its values carried over.
	en := "Please keep this under 100 characters."
	fr := Text(French, en)
	if fr == en || !strings.Contains(fr, "100") {
		t.Errorf("Text(fr, %q) = %q", en, fr)
	}
	if got := Text(French, "Something nobody wrote"); got != "Something nobody wrote" {
		t.Errorf("unknown text = %q", got)
	}
	if got := Text(English, en); got != en {
		t.Errorf("English Text = %q", got)
	}
}

func TestPick(t *testing.T) {
	for _, c := range []struct{ chosen, accept, fallback, want string }{
		{"", "fr-FR,fr;q=0.9,en;q=0.8", "en", "fr"},
		{"", "de-CH", "en", "de"},
		{"", "es-419,es;q=0.9", "fr", "es"},
		{"de", "fr-FR", "en", "de"},        // the picker wins
		{"xx", "fr-FR", "en", "fr"},        // a bad cookie is ignored
		{"", "it-IT,it;q=0.9", "fr", "fr"}, // nothing we have: the site's
		{"", "ja", "", "en"},
		{"", "", "de", "de"},
		{"", "en-GB", "fr", "en"},
		{"", strings.Repeat("fr-FR;q=0.5,", 200), "en", "fr"}, // long header read in part
		{"", "%%%;;;q=x", "es", "es"},
	} {
		if got := Pick(c.chosen, c.accept, c.fallback); got != c.want {
			t.Errorf("Pick(%q, %.30q, %q) = %q, want %q", c.chosen, c.accept, c.fallback, got, c.want)
		}
	}
}

func TestDate(t *testing.T) {
	at := time.Date(2027, 3, 29, 9, 0, 0, 0, time.UTC) // a Monday
	if got := Date(English, at); got != "Monday 29 March, 09:00" {
		t.Errorf("English date = %q", got)
	}
	for _, lang := range Langs[1:] {
		got := Date(lang, at)
		if strings.Contains(got, "Monday") || strings.Contains(got, "March") || !strings.Contains(got, "29") || !strings.Contains(got, "09:00") {
			t.Errorf("%s date = %q", lang, got)
		}
	}
}

func FuzzPick(f *testing.F) {
	f.Add("fr-FR,fr;q=0.9")
	f.Add("*")
	f.Fuzz(func(t *testing.T, accept string) {
		if got := Pick("", accept, ""); !Valid(got) {
			t.Fatalf("Pick chose %q", got)
		}
	})
}

// TestBoundedWork: Text does not match patterns over input echoed back at
// length, and Pick keeps answers under the part of the header it reads.
func TestBoundedWork(t *testing.T) {
	short := "Sending report.pdf stopped: the disk is full"
	if Text(French, short) == short {
		t.Fatal("the pattern did not match the short sentence")
	}
	long := "Sending " + strings.Repeat("a", 1<<20) + " stopped: x"
	if Text(French, long) != long {
		t.Fatal("Text matched patterns over a megabyte")
	}
	pickedN.Store(0)
	picked.Clear()
	prefix := strings.Repeat("fr-FR;q=0.5,", 30)
	for i := 0; i < 100; i++ {
		Pick("", prefix+strings.Repeat("x", i), "")
	}
	if n := pickedN.Load(); n != 1 {
		t.Fatalf("100 headers alike in what Pick reads took %d entries", n)
	}
}
