package admin

import (
	"net/url"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/i18n"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// The site form's Languages section: the language of the site's own
// texts, its welcome text, and the welcome, agreement and closed message
// in each other language.

func languagesForm(v url.Values, st desk.Site) {
	v.Set("language", st.Lang())
	v.Set("welcome", st.Welcome)
	for lang, t := range st.Texts {
		v.Set("welcome_"+lang, t.Welcome)
		v.Set("agreement_"+lang, t.Agreement)
		v.Set("closed_"+lang, t.Closed)
	}
}

// readTexts reads the section into st.
func readTexts(form url.Values, st *desk.Site) {
	st.Language, st.Welcome = first(form, "language"), first(form, "welcome")
	if st.Language == i18n.English {
		st.Language = ""
	}
	st.Texts = map[string]desk.SiteTexts{}
	for _, lang := range i18n.Langs {
		t := desk.SiteTexts{Welcome: first(form, "welcome_"+lang), Agreement: first(form, "agreement_"+lang), Closed: first(form, "closed_"+lang)}
		if t != (desk.SiteTexts{}) {
			st.Texts[lang] = t
		}
	}
}

func languagesSection(v web.View) section {
	var langs []option
	for _, l := range i18n.Langs {
		langs = append(langs, option{Value: l, Label: i18n.Name(l)})
	}
	def := v.Value("language")
	if !i18n.Valid(def) {
		def = i18n.English
	}
	fields := []field{
		selectField(v, "language", "Default language", langs, "The language the texts above and the welcome below are written in, and the one customers get when their browser asks for none of English, French, Spanish and German."),
		textareaField(v, "welcome", "Welcome text", desk.MaxWelcome, 3, "Shown on the home page under its heading. Leave empty for none."),
	}
	for _, l := range i18n.Langs {
		if l == def {
			continue
		}
		name := i18n.Name(l)
		fields = append(fields,
			textareaField(v, "welcome_"+l, "Welcome text in "+name, desk.MaxWelcome, 2, ""),
			textareaField(v, "agreement_"+l, "Agreement in "+name, desk.MaxAgreement, 3, ""),
			textareaField(v, "closed_"+l, "Closed message in "+name, desk.MaxClosedText, 2, ""),
		)
	}
	return section{ID: "languages", Title: "Languages", Hint: "Customers see the site in their browser's language, or the one they pick at the bottom of each page. The box's own words come in English, French, Spanish and German; your texts are shown in the customer's language where you give them, else in the default language.", Fields: fields}
}
