// Package portal serves the public site: the page customers open to ask for
// help (technician list, session key, issue survey, classic SOS code, SOS
// Call and support links) and the customer session page with its live
// status and chat. Every form works without JavaScript; portal.js adds live
// updates.
package portal

import (
	"context"
	"embed"
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/i18n"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/appliance/bus"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/samlsp"
	"github.com/switchboardhq/switchboard/appliance/web"
)

//go:embed templates/*.html
var templates embed.FS

// Portal is the public site.
type Portal struct {
	// Limits on what anyone can send: new sessions per source, chat and
	// typing notices per session.
	starts, chat, typing *web.Limiter
	// joins limits presentation keys tried per source.
	joins *web.Limiter
	// saml limits portal sign-ins started and answers posted per source.
	saml       *web.Limiter
	streams    web.Slots
	chatSource *web.Limiter
	// remote is nil when the engines are not running (unit tests).
	remote Remote
	// sso is nil when portal logins are off (SetSSO).
	sso *samlsp.Service

	// cache holds what the public pages show that changes rarely.
	cache publishedCache

	pages *web.Pages
	rt    *web.Router
	desk  *desk.Service
	bus   *bus.Bus
	log   *slog.Logger
}

// New returns the public site. startsPerMinute bounds the sessions one
// network may start (0: no limit).
func New(d *desk.Service, b *bus.Bus, startsPerMinute int, log *slog.Logger) *Portal {
	p := &Portal{desk: d, bus: b, log: log,
		chat: web.NewLimiter(10, time.Second),
		// One network (an address, an IPv6 /64) chatting in many sessions.
		chatSource: web.NewLimiter(30, 2*time.Second),
		typing:     web.NewLimiter(1, 2*time.Second),
		joins:      web.NewLimiter(20, 3*time.Second),
		saml:       web.NewLimiter(20, 3*time.Second),
	}
	p.streams = web.Slots{PerKey: maxStreams, Total: maxAllStreams}
	if startsPerMinute > 0 {
		p.starts = web.NewLimiter(startsPerMinute, time.Minute/time.Duration(startsPerMinute))
	}
	return p
}

// staffPrefixes are the paths that are not the public site's.
var staffPrefixes = []string{"/login", "/console", "/appliance", "/assets/", "/api/", "/brand/"}

// errorLook gives the error pages of the public site its look: the site's
// name in the header and a way back to its home page.
func (p *Portal) errorLook(r *http.Request) (web.View, bool) {
	for _, pre := range staffPrefixes {
		if strings.HasPrefix(r.URL.Path, pre) {
			return web.View{}, false
		}
	}
	return p.view(r, p.site(r.Context(), r), ""), true
}

// Routes registers the public pages.
func (p *Portal) Routes(rt *web.Router) {
	p.pages, p.rt = rt.Pages(), rt
	rt.ErrorLook(p.errorLook)
	p.pages.MustAdd(templates, "templates/*.html")
	rt.Handle("GET /{$}", p.serveHome)
	rt.Handle("GET /technicians/{id}/photo", p.servePhoto)
	rt.Handle("GET /start/technician/{id}", p.serveTechForm)
	rt.Handle("POST /start/technician/{id}", p.serveStartTech)
	rt.Handle("POST /start/key", p.serveStartKey)
	rt.Handle("POST /start/survey", p.serveStartSurvey)
	rt.Handle("POST /start/code", p.serveStartCode)
	rt.Handle("GET /sos/{token}", p.serveSOSForm)
	rt.Handle("POST /sos/{token}", p.serveStartSOS)
	rt.Handle("GET /l/{token}", p.serveLink)
	rt.Handle("POST /l/{token}", p.serveJoin)
	rt.Handle("GET /session", p.serveSession)
	rt.Handle("GET /session/state", p.serveState)
	rt.Handle("GET /session/events", p.serveEvents)
	rt.Handle("POST /session/agree", p.serveAgree)
	rt.Handle("POST /session/chat", p.serveChat)
	rt.Handle("POST /session/typing", p.serveTyping)
	rt.Handle("POST /session/leave", p.serveLeave)
	rt.Handle("POST /session/client/{platform}", p.serveClient)
	rt.Handle("POST /session/share", p.serveShare)
	rt.Handle("GET /present", p.servePresent)
	rt.Handle("GET /p/{token}", p.servePresent)
	rt.Handle("POST /present/join", p.servePresentJoin)
	rt.Handle("POST /language", p.serveLanguage)
	rt.Handle("GET /ios", p.serveIOS)
	rt.Handle("POST /ios/key", p.serveIOSKey)
	rt.Handle("GET /ios/profiles/{id}", p.serveProfile)
	rt.Handle("GET /brand/logo.png", p.serveLogo)
	rt.Handle("GET /brand/site.css", p.serveSiteStyle)
	p.ssoRoutes(rt)
}

// limitStart refuses a new session from a source that started too many.
func (p *Portal) limitStart(r *http.Request) error {
	if p.starts == nil {
		return nil
	}
	if ok, retry := p.starts.Allow(p.source(r)); !ok {
		p.log.Info("session starts limited", "source", p.source(r))
		return web.TooMany(retry)
	}
	return nil
}

// source is the key a client's address counts under.
func (p *Portal) source(r *http.Request) string { return web.SourceKey(p.rt.ClientAddr(r)) }

// defaultSite answers when no public site is configured: session keys only.
var defaultSite = desk.Site{Name: "Support", SessionKey: true, AskName: true}

// site returns the public site for the request's host name; a host no site
// claims gets the first site, and a box without sites the default one.
func (p *Portal) site(ctx context.Context, r *http.Request) desk.Site {
	c, err := p.published(ctx)
	if err != nil {
		p.log.Warn("public site data", "err", err)
		return defaultSite
	}
	return c.siteFor(hostOf(r))
}

// hostOf is the host name the request was sent to, without its port.
func hostOf(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		return h
	}
	return r.Host
}

// view is the base view of a public page, with the site's important
// messages shown now.
func (p *Portal) view(r *http.Request, site desk.Site, title string) web.View {
	lang := p.lang(r, site)
	v := web.View{Title: i18n.T(lang, title), Surface: site.Title(), Home: "/", Notices: p.notices(r, lang, site),
		Lang: lang, Langs: langOptions, Here: here(r), Strings: web.ScriptStrings(lang)}
	if b := site.Branding; site.ID != 0 {
		if b.Logo > 0 {
			v.Logo = fmt.Sprintf("/brand/logo.png?v=%d", b.Logo)
		}
		if b.Accent != "" {
			v.Style = "/brand/site.css?c=" + strings.TrimPrefix(b.Accent, "#")
		}
	}
	return v
}

func (p *Portal) serveLogo(w http.ResponseWriter, r *http.Request) error {
	site := p.site(r.Context(), r)
	logo, err := p.desk.SiteLogo(r.Context(), site.ID)
	if site.ID == 0 || err != nil {
		return web.ErrNotFound
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(logo)
	return nil
}

// serveSiteStyle is the site's accent colour as a stylesheet (inline
// styles are off by the CSP).
func (p *Portal) serveSiteStyle(w http.ResponseWriter, r *http.Request) error {
	site := p.site(r.Context(), r)
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	if a := site.Branding.Accent; a != "" {
		// Accent passed desk's #rrggbb check.
		fmt.Fprintf(w, ":root { --accent: %s; --accent-dark: color-mix(in srgb, %s 80%%, black); }\n", a, a)
	}
	return nil
}

// notices are the site's important messages shown now.
func (p *Portal) notices(r *http.Request, lang string, site desk.Site) []web.Notice {
	if site.ID == 0 {
		return nil
	}
	c, err := p.published(r.Context())
	if err != nil {
		p.log.Warn("important messages", "err", err)
		return nil
	}
	shown := desk.ShownAt(c.messages[site.ID], p.desk.Now())
	out := make([]web.Notice, 0, len(shown))
	for _, an := range shown {
		t := an.Localized(lang)
		out = append(out, web.Notice{Severity: an.Severity, Title: t.Title, Text: t.Text})
	}
	return out
}

const customerCookie = "sb-customer"

// customer returns the session of the customer's browser.
func (p *Portal) customer(r *http.Request) (desk.Session, string, error) {
	tok := web.Cookie(r, customerCookie)
	if tok == "" {
		return desk.Session{}, "", desk.ErrNotFound
	}
	ss, err := p.desk.SessionByCustomer(r.Context(), tok)
	return ss, tok, err
}

// portalText is the public site's words for the domain errors
// (web.ErrorText).
var portalText = web.ErrorText{State: web.Error(http.StatusConflict, "This support session has already ended.", "Start a new session from the home page if you still need help.")}

// deskError maps a domain error to what the customer sees.
func deskError(err error) error { return portalText.Map(err) }

// fieldErrors turns the desk's field errors into form messages.
func fieldErrors(err error) (web.FieldErrors, bool) {
	fe := web.FieldErrors{}
	return fe, web.AddFields(fe, err)
}
