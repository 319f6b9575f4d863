// Package i18n is the one message catalog: what customers read, in
// English, French, Spanish and German. English sentences are the keys
// (catalog.txt holds each with its translations); a key with printf verbs
// (%s, %d, %[2]s) is a pattern, and every translation uses the same
// verbs. Pages call T with the request's language; text that arrives
// already formatted from another layer (a form error from desk) goes
// through Text, which also recognises the patterns.
//
// The console and /login stay in English for now: their strings pass
// through T with English, which returns them unchanged.
package i18n

import (
	_ "embed"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/text/language"
)

// Languages, with English first: the default and the language of the keys.
const (
	English = "en"
	French  = "fr"
	Spanish = "es"
	German  = "de"
)

// Langs are the languages the catalog holds, English first.
var Langs = []string{English, French, Spanish, German}

// names are each language's name in itself, for the picker.
var names = map[string]string{English: "English", French: "Français", Spanish: "Español", German: "Deutsch"}

// Name is lang's name in itself ("Français"), or "" if the catalog does
// not hold it.
func Name(lang string) string { return names[lang] }

// Valid reports whether the catalog holds lang.
func Valid(lang string) bool { return names[lang] != "" }

//go:embed catalog.txt
var catalogText string

// entry is one key with its translations, by language.
type entry struct {
	key   string
	texts map[string]string
	// re matches the key's sentence once formatted; nil for keys without
	// verbs.
	re    *regexp.Regexp
	verbs []verb
}

// maxTextLen bounds what Text tries to recognise: the longest key with
// room for its values.
var maxTextLen int

var (
	entries  []*entry
	byKey    map[string]*entry
	patterns []*entry
)

func init() {
	var err error
	entries, err = parse(catalogText)
	if err != nil {
		panic(err)
	}
	byKey = make(map[string]*entry, len(entries))
	for _, e := range entries {
		maxTextLen = max(maxTextLen, len(e.key)+512)
		byKey[e.key] = e
		if len(e.verbs) > 0 {
			patterns = append(patterns, e)
		}
	}
}

// T returns key in lang, formatted with args (fmt's verbs). A key the
// catalog lacks, or a language it lacks, gives the key itself.
func T(lang, key string, args ...any) string {
	msg := key
	if e := byKey[key]; e != nil && lang != English {
		if s, ok := e.texts[lang]; ok {
			msg = s
		}
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// Text translates s, an English sentence as it was written: a key, or a
// key's pattern formatted with its values ("Please keep this under 100
// characters."), whose values are carried into the translation. Anything
// else stays as it is.
func Text(lang, s string) string {
	// No key is this long: a longer sentence is someone's input echoed,
	// and matching patterns over it would only cost time.
	if lang == English || lang == "" || s == "" || len(s) > maxTextLen {
		return s
	}
	if e := byKey[s]; e != nil {
		return T(lang, s)
	}
	for _, e := range patterns {
		m := e.re.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		args := make([]any, len(e.verbs))
		for i, v := range e.verbs {
			arg := m[i+1]
			switch v.letter {
			case 'd':
				n, err := strconv.Atoi(arg)
				if err != nil {
					return s
				}
				args[v.index-1] = n
			case 'q':
				u, err := strconv.Unquote(arg)
				if err != nil {
					return s
				}
				args[v.index-1] = u
			default:
				args[v.index-1] = arg
			}
		}
		return T(lang, e.key, args...)
	}
	return s
}

// Has reports whether key is in the catalog.
func Has(key string) bool { return byKey[key] != nil }

// Table returns the translations of keys in lang, keyed by the English, for
// a page's script.
func Table(lang string, keys []string) map[string]string {
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		out[k] = T(lang, k)
	}
	return out
}

var matcher = language.NewMatcher([]language.Tag{language.English, language.French, language.Spanish, language.German})

// maxAccept bounds the Accept-Language header read: a real one is a few
// dozen bytes.
const maxAccept = 256

// Pick chooses the language of a request: the one the person picked
// (chosen, from the picker's cookie) if the catalog holds it, else the
// best match for the browser's Accept-Language, else fallback (the site's
// default language), else English.
func Pick(chosen, acceptLanguage, fallback string) string {
	if Valid(chosen) {
		return chosen
	}
	// Browsers send a handful of distinct headers; matching one is the
	// costly part, so the answers are kept (a bounded number, under a
	// bounded key: only the part pick reads).
	acceptLanguage = clipAccept(acceptLanguage)
	key := acceptLanguage + "\x00" + fallback
	if l, ok := picked.Load(key); ok {
		return l.(string)
	}
	l := pick(acceptLanguage, fallback)
	if pickedN.Add(1) > maxPicked {
		picked.Clear()
		pickedN.Store(0)
	}
	picked.Store(key, l)
	return l
}

var (
	picked  sync.Map // Accept-Language + fallback → language
	pickedN atomic.Int64
)

// maxPicked bounds the answers Pick keeps.
const maxPicked = 4096

// clipAccept cuts an Accept-Language header to maxAccept bytes, whole
// entries only (at the last comma within the bound).
func clipAccept(h string) string {
	if len(h) <= maxAccept {
		return h
	}
	h = h[:maxAccept]
	if i := strings.LastIndexByte(h, ','); i > 0 {
		h = h[:i]
	}
	return h
}

func pick(acceptLanguage, fallback string) string {
	if acceptLanguage != "" {
		if tags, _, err := language.ParseAcceptLanguage(acceptLanguage); err == nil && len(tags) > 0 {
			tag, _, conf := matcher.Match(tags...)
			if conf != language.No {
				if b, _ := tag.Base(); Valid(b.String()) {
					return b.String()
				}
			}
		}
	}
	if Valid(fallback) {
		return fallback
	}
	return English
}

var (
	weekdays = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	months   = [12]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
)

// Date says t as a day and a time of day in lang, in t's location:
// "Monday 2 March, 09:00".
func Date(lang string, t time.Time) string {
	return T(lang, "%[1]s %[2]d %[3]s, %[4]s", T(lang, weekdays[t.Weekday()]), t.Day(), T(lang, months[t.Month()-1]), t.Format("15:04"))
}

// verb is one printf verb of a key: its argument (1-based) and letter.
type verb struct {
	index  int
	letter byte
}

var verbRe = regexp.MustCompile(`%(?:\[(\d)\])?([sdqv%])`)

// verbsOf returns the verbs of s in order, numbering implicit ones as fmt
// does.
func verbsOf(s string) ([]verb, error) {
	var out []verb
	next := 1
	for _, m := range verbRe.FindAllStringSubmatch(s, -1) {
		if m[2] == "%" {
			continue
		}
		i := next
		if m[1] != "" {
			i, _ = strconv.Atoi(m[1])
		}
		out = append(out, verb{index: i, letter: m[2][0]})
		next = i + 1
	}
	if strings.Contains(verbRe.ReplaceAllString(s, ""), "%") {
		return nil, fmt.Errorf("a %% that is not %%s, %%v, %%d, %%q, %%[n]s or %%%%")
	}
	return out, nil
}

// pattern builds the expression that matches s formatted: each verb a
// group, in the order they appear in the sentence.
func pattern(s string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, loc := range verbRe.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(regexp.QuoteMeta(s[last:loc[0]]))
		switch s[loc[4]] {
		case 'd':
			b.WriteString(`(-?\d+)`)
		case 'q':
			b.WriteString(`("(?:[^"\\]|\\.)*")`)
		case 's', 'v':
			b.WriteString(`(.+?)`)
		case '%':
			b.WriteString("%")
		}
		last = loc[1]
	}
	b.WriteString(regexp.QuoteMeta(s[last:]))
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}
