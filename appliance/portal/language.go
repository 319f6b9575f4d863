package portal

import (
	"net/http"
	"time"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/i18n"
	"github.com/switchboardhq/switchboard/appliance/samlsp"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// langCookie holds the language a customer picked; it outlives sessions.
const (
	langCookie = "lang"
	langKeep   = 365 * 24 * time.Hour
)

// langOptions are the picker's languages, each named in itself.
var langOptions = func() []web.LangOption {
	out := make([]web.LangOption, len(i18n.Langs))
	for i, l := range i18n.Langs {
		out[i] = web.LangOption{Code: l, Name: i18n.Name(l)}
	}
	return out
}()

// lang is the language of the customer's pages: the one they picked,
// else the browser's, else the site's default.
func (p *Portal) lang(r *http.Request, site desk.Site) string {
	return i18n.Pick(web.Cookie(r, langCookie), r.Header.Get("Accept-Language"), site.Lang())
}

// here is where the language picker comes back to: the page's own path
// for pages anyone can open again, else the home page.
func here(r *http.Request) string {
	if r.Method != http.MethodGet {
		return "/"
	}
	return samlsp.LocalPath(r.URL.RequestURI())
}

// serveLanguage is the picker: it remembers the language and goes back.
func (p *Portal) serveLanguage(w http.ResponseWriter, r *http.Request) error {
	lang := r.PostFormValue("lang")
	if !i18n.Valid(lang) {
		return web.Error(http.StatusBadRequest, "Choose one of the languages listed.", "Go back and pick a language from the list.")
	}
	web.SetCookie(w, langCookie, lang, langKeep)
	return web.Redirect(w, r, samlsp.LocalPath(r.PostFormValue("next")))
}
