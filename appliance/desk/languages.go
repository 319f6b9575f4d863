package desk

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/appliance/i18n"
	"github.com/switchboardhq/switchboard/appliance/text"
)

// MaxWelcome bounds a site's welcome text, in characters.
const MaxWelcome = 2000

// SiteTexts are a site's own words in one language other than its
// default; an empty field falls back to the default language's.
type SiteTexts struct {
	Welcome   string `json:"welcome,omitempty"`
	Agreement string `json:"agreement,omitempty"`
	Closed    string `json:"closed,omitempty"`
}

// Localized returns the site's texts in lang: each given in lang if the
// site has it, else in the site's default language.
func (st Site) Localized(lang string) SiteTexts {
	out := SiteTexts{Welcome: st.Welcome, Agreement: st.Agreement}
	if st.Hours != nil {
		out.Closed = st.Hours.Closed
	}
	if lang == st.Lang() {
		return out
	}
	if t, ok := st.Texts[lang]; ok {
		out.Welcome = or(t.Welcome, out.Welcome)
		out.Agreement = or(t.Agreement, out.Agreement)
		out.Closed = or(t.Closed, out.Closed)
	}
	return out
}

// Lang is the language of the site's own texts (English unless set).
func (st Site) Lang() string {
	if st.Language == "" {
		return i18n.English
	}
	return st.Language
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// normalizeTexts checks the site's default language, welcome and the
// texts per language; a language with no text left is dropped.
func (st *Site) normalizeTexts(fe *FieldErrors) {
	st.Welcome = strings.TrimSpace(st.Welcome)
	if st.Language != "" && !i18n.Valid(st.Language) {
		fe.add("language", "Choose one of the languages listed.")
	}
	checkLongText(fe, "welcome", st.Welcome, MaxWelcome)
	for lang, t := range st.Texts {
		if !i18n.Valid(lang) {
			fe.add("texts", fmt.Sprintf("%q is not a language the site can show.", text.ClipRunes(lang, 20)))
			delete(st.Texts, lang)
			continue
		}
		t = SiteTexts{Welcome: strings.TrimSpace(t.Welcome), Agreement: strings.TrimSpace(t.Agreement), Closed: strings.TrimSpace(t.Closed)}
		if t == (SiteTexts{}) {
			delete(st.Texts, lang)
			continue
		}
		if lang == st.Lang() {
			fe.add("welcome_"+lang, "These texts are in the site's default language: put them in the welcome, agreement and closed message fields instead.")
			continue
		}
		checkLongText(fe, "welcome_"+lang, t.Welcome, MaxWelcome)
		checkLongText(fe, "closed_"+lang, t.Closed, MaxClosedText)
		if len(t.Agreement) > MaxAgreement {
			fe.add("agreement_"+lang, fmt.Sprintf("Use at most %d KiB of text.", MaxAgreement>>10))
		}
		if t.Agreement != "" && st.Agreement == "" {
			fe.add("agreement_"+lang, "Give the agreement in the site's default language first; the translations show where it is asked.")
		}
		st.Texts[lang] = t
	}
	if len(st.Texts) == 0 {
		st.Texts = nil
	}
}

// checkLongText refuses text longer than max characters or holding
// direction controls.
func checkLongText(fe *FieldErrors, field, s string, max int) {
	if utf8.RuneCountInString(s) > max || text.HasBidiControl(s) {
		fe.add(field, fmt.Sprintf("Keep this under %d characters, without direction controls.", max))
	}
}
