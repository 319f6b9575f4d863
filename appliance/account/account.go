// Package account serves the pages one account realm needs before and around
// its own surface: first-run setup, sign-in with a second factor, sign-out,
// "my account" (password, TOTP enrolment, sessions) and user management.
// /login mounts it for site users and /appliance for appliance admins; each
// realm has its own cookie, so an account of one realm never enters the other.
package account

import (
	"embed"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/web"
)

//go:embed templates/*.html
var templates embed.FS

// Config describes one realm's area.
type Config struct {
	Realm auth.Realm
	// Prefix is the path the area lives under: "/login" or "/appliance".
	Prefix string
	// Surface names the area in the layout ("Site administration").
	Surface string
	// Home is where a signed-in person lands.
	Home string
	// Issuer names the box in authenticator apps.
	Issuer string
	// Roles are the roles offered when adding a user (the first is the
	// default); RoleName labels them. Empty means administrators only.
	Roles    []string
	RoleName func(string) string
	// Profile, if set, links each user of the list to a page about it.
	Profile func(id uint64) string
}

// Area is one realm's account pages.
type Area struct {
	onCreate  []func(*http.Request, *Who, auth.User) error
	onDelete  []func(*http.Request, *Who, uint64) error
	onDisable []func(*http.Request, *Who, uint64) error
	onEvent   []func(*http.Request, Event) error
	cfg       Config
	auth      *auth.Service
	rt        *web.Router
	log       *slog.Logger
	nav       []navItem
	external  *External
}

type navItem struct {
	label, href string
	admin       bool
	show        func(*http.Request, *Who) bool
}

// Who is the signed-in person of a request.
type Who struct {
	User    auth.User
	Session auth.Session
	raw     string
}

// Admin reports whether the person is an administrator of the realm.
func (w *Who) Admin() bool { return w.User.Role == auth.RoleAdmin }

// New returns the area; call Routes to register it.
func New(cfg Config, svc *auth.Service, rt *web.Router, log *slog.Logger) *Area {
	return &Area{cfg: cfg, auth: svc, rt: rt, log: log}
}

// OnUserCreated registers fn to run after a user of the realm is created,
// so a front end can set up what it keeps about that user.
func (a *Area) OnUserCreated(fn func(r *http.Request, who *Who, u auth.User) error) {
	a.onCreate = append(a.onCreate, fn)
}

// OnUserDisabled registers fn to run after a user of the realm is disabled.
func (a *Area) OnUserDisabled(fn func(r *http.Request, who *Who, id uint64) error) {
	a.onDisable = append(a.onDisable, fn)
}

// OnUserDeleted registers fn to run after a user of the realm is deleted,
// so a front end can drop what it keeps about that user.
func (a *Area) OnUserDeleted(fn func(r *http.Request, who *Who, id uint64) error) {
	a.onDelete = append(a.onDelete, fn)
}

// An Event is something to keep on the record about an account: a sign-in,
// a failed one, a sign-out, or an admin disabling, enabling or deleting a
// user or ending their sessions.
type Event struct {
	Action EventAction
	// By is who did it: nil before sign-in (sign-ins and failures are
	// done by the account itself).
	By *Who
	// User is the account concerned; zero for a failed sign-in with a
	// name no account has (the name typed is then not kept: it may be a
	// password typed in the wrong field).
	User   auth.User
	Source string // the client's address
	// SecondFactor is set on a sign-in completed with a code.
	SecondFactor bool
	// Via names the identity provider of a single sign-on.
	Via string
}

// EventAction names an Event.
type EventAction string

// The account events.
const (
	EventSignIn        EventAction = "sign-in"
	EventSignInFailed  EventAction = "sign-in-failed"
	EventSignOut       EventAction = "sign-out"
	EventDisabled      EventAction = "disable"
	EventEnabled       EventAction = "enable"
	EventDeleted       EventAction = "delete"
	EventSessionsEnded EventAction = "end-sessions"
)

// OnEvent registers fn to run on every account Event of the realm, so a
// front end can keep an audit log. An error from fn fails the request: an
// event that cannot be recorded does not happen silently.
func (a *Area) OnEvent(fn func(r *http.Request, ev Event) error) {
	a.onEvent = append(a.onEvent, fn)
}

// event runs the OnEvent hooks.
func (a *Area) event(r *http.Request, ev Event) error {
	for _, fn := range a.onEvent {
		if err := fn(r, ev); err != nil {
			return err
		}
	}
	return nil
}

// AddNav adds a navigation entry shown to signed-in people (to admins only
// when admin is set). Entries appear in the order added.
func (a *Area) AddNav(label, href string, admin bool) {
	a.nav = append(a.nav, navItem{label: label, href: href, admin: admin})
}

// AddNavFunc adds a navigation entry shown to the signed-in people for whom
// show returns true (front ends hide what a person cannot open).
func (a *Area) AddNavFunc(label, href string, show func(r *http.Request, who *Who) bool) {
	a.nav = append(a.nav, navItem{label: label, href: href, show: show})
}

func (a *Area) cookie() string { return "sb-" + string(a.cfg.Realm) }

// deviceCookie names the cookie holding the realm's device token: a browser
// someone fully signed in from (see auth.DeviceToken).
func (a *Area) deviceCookie() string { return "sb-device-" + string(a.cfg.Realm) }

// deviceTTL is how long a browser stays known after a sign-in.
const deviceTTL = 180 * 24 * time.Hour

// signedIn finishes a complete sign-in of u: the browser becomes known to
// the account and the event is recorded.
func (a *Area) signedIn(w http.ResponseWriter, r *http.Request, u auth.User, secondFactor bool, via string) error {
	if err := a.event(r, Event{Action: EventSignIn, User: u, Source: a.source(r), SecondFactor: secondFactor, Via: via}); err != nil {
		return err
	}
	web.SetCookie(w, a.deviceCookie(), a.auth.DeviceToken(a.cfg.Realm, u.Username), deviceTTL)
	a.log.Info("signed in", "realm", a.cfg.Realm, "user", u.ID, "second_factor", secondFactor, "single_sign_on", via != "")
	return nil
}

// signInFailed records a wrong password for username (or a wrong code for
// u, when u is known).
func (a *Area) signInFailed(r *http.Request, u auth.User, username string) error {
	if u.ID == 0 {
		if known, err := a.auth.UserNamed(r.Context(), a.cfg.Realm, username); err == nil {
			u = known
		} else if !errors.Is(err, auth.ErrNotFound) {
			return err
		}
	}
	return a.event(r, Event{Action: EventSignInFailed, User: u, Source: a.source(r)})
}

// path returns the area's path for suffix ("" is the sign-in page).
func (a *Area) path(suffix string) string { return a.cfg.Prefix + suffix }

// Routes registers every route of the area and its setup guard.
func (a *Area) Routes() {
	a.rt.Pages().MustAdd(templates, "templates/*.html")
	p := a.cfg.Prefix
	a.rt.Guard(a.setupGuard)
	a.rt.Handle("GET "+p, a.serveSignIn)
	a.rt.Handle("POST "+p, a.serveSignInPost)
	a.rt.Handle("GET "+p+"/2fa", a.serveSecondFactor)
	a.rt.Handle("POST "+p+"/2fa", a.serveSecondFactorPost)
	a.rt.Handle("POST "+p+"/signout", a.serveSignOut)
	a.rt.Handle("GET "+p+"/setup", a.serveSetup)
	a.rt.Handle("POST "+p+"/setup", a.serveSetupPost)
	a.rt.Handle("GET "+p+"/account", a.Require(false, a.serveAccount))
	a.rt.Handle("POST "+p+"/account/password", a.Require(false, a.servePassword))
	a.rt.Handle("POST "+p+"/account/totp", a.Require(false, a.serveTOTPBegin))
	a.rt.Handle("POST "+p+"/account/totp/confirm", a.Require(false, a.serveTOTPConfirm))
	a.rt.Handle("POST "+p+"/account/totp/disable", a.Require(false, a.serveTOTPDisable))
	a.rt.Handle("POST "+p+"/account/sessions/end", a.Require(false, a.serveEndMySessions))
	a.rt.Handle("GET "+p+"/users", a.Require(true, a.serveUsers))
	a.rt.Handle("POST "+p+"/users", a.Require(true, a.serveUserCreate))
	a.rt.Handle("POST "+p+"/users/{id}/{action}", a.Require(true, a.serveUserAction))
}

// A WhoHandler serves a request for a signed-in person.
type WhoHandler func(w http.ResponseWriter, r *http.Request, who *Who) error

// Require wraps h so it runs only for a signed-in person of the realm (an
// administrator when admin is set). Others are sent to sign in, or get 403.
func (a *Area) Require(admin bool, h WhoHandler) web.Handler {
	return func(w http.ResponseWriter, r *http.Request) error {
		who, err := a.Who(r)
		if err != nil {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				return web.Redirect(w, r, a.path("")+"?next="+url.QueryEscape(r.URL.RequestURI()))
			}
			return web.Error(http.StatusUnauthorized, "You are not signed in, or your sign-in has expired, so nothing was changed.",
				"Sign in again, then repeat what you were doing.")
		}
		if admin && !who.Admin() {
			return web.ErrForbidden
		}
		return h(w, r, who)
	}
}

// Who returns the signed-in (not pending) person of r.
func (a *Area) Who(r *http.Request) (*Who, error) {
	raw := web.Cookie(r, a.cookie())
	if raw == "" {
		return nil, auth.ErrSessionExpired
	}
	s, u, err := a.auth.Lookup(r.Context(), a.cfg.Realm, raw)
	if err != nil {
		return nil, err
	}
	if s.Pending {
		return nil, auth.ErrSessionExpired
	}
	return &Who{User: u, Session: s, raw: raw}, nil
}

// View returns the base view of a page of this area for who.
func (a *Area) View(r *http.Request, who *Who, title string) web.View {
	v := web.View{Title: title, Surface: a.cfg.Surface, Home: a.cfg.Home}
	if who == nil {
		return v
	}
	v.User = who.User.DisplayName
	if v.User == "" {
		v.User = who.User.Username
	}
	v.SignOut = a.path("/signout")
	for _, n := range a.nav {
		if n.admin && !who.Admin() || n.show != nil && !n.show(r, who) {
			continue
		}
		v.Nav = append(v.Nav, web.NavLink{Label: n.label, Href: n.href, Current: r.URL.Path == n.href || strings.HasPrefix(r.URL.Path, n.href+"/")})
	}
	return v
}

// Render renders page name of this area.
func (a *Area) Render(w http.ResponseWriter, r *http.Request, status int, name string, v web.View) error {
	return a.rt.Pages().Render(w, r, status, name, v)
}

// source is the client address used for throttling.
func (a *Area) source(r *http.Request) string { return a.rt.ClientAddr(r).String() }

// startSession sets the realm cookie for a new login session.
func (a *Area) startSession(w http.ResponseWriter, raw string) {
	web.SetCookie(w, a.cookie(), raw, 0)
}

// safeNext keeps a post-sign-in redirect on this box and inside the area's
// surfaces.
func safeNext(next, fallback string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return fallback
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil {
		return fallback
	}
	return next
}

func throttledMsg(err error) (string, bool) {
	var te *auth.ThrottledError
	if !errors.As(err, &te) {
		return "", false
	}
	secs := int(te.RetryAfter.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return "Too many sign-in attempts for this account or from this address. Wait " + plural(secs, "second") + ", then try again.", true
}

func plural(n int, unit string) string {
	s := strconv.Itoa(n) + " " + unit
	if n != 1 {
		s += "s"
	}
	return s
}
