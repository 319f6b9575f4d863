package account

import (
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/web"
)

func (a *Area) serveSignIn(w http.ResponseWriter, r *http.Request) error {
	if who, err := a.Who(r); err == nil && who != nil {
		return web.Redirect(w, r, safeNext(r.URL.Query().Get("next"), a.cfg.Home))
	}
	v := a.View(r, nil, "Sign in")
	v.Form = url.Values{"next": {r.URL.Query().Get("next")}}
	v.Data = a.signInData(w, r)
	return a.Render(w, r, http.StatusOK, "signin.html", v)
}

type signInData struct {
	Action, Message string
	SetupOpen       bool
	// SSO and SSOAction are the single sign-on button, if offered.
	SSO, SSOAction string
}

func (a *Area) signInData(w http.ResponseWriter, r *http.Request) signInData {
	d := signInData{Action: a.path("")}
	d.SSO, d.SSOAction = a.externalOffer(w, r)
	if ok, err := a.auth.HasAdmin(r.Context(), a.cfg.Realm); err == nil && !ok {
		d.SetupOpen = true
	}
	return d
}

func (a *Area) serveSignInPost(w http.ResponseWriter, r *http.Request) error {
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	username := strings.TrimSpace(first(form, "username"))
	next := safeNext(first(form, "next"), a.cfg.Home)
	u, err := a.auth.AuthenticateDevice(r.Context(), a.cfg.Realm, username, first(form, "password"), a.source(r), web.Cookie(r, a.deviceCookie()))
	if err != nil {
		v := a.View(r, nil, "Sign in")
		v.Form = url.Values{"username": {username}, "next": {first(form, "next")}}
		d := a.signInData(w, r)
		status := http.StatusUnauthorized
		switch msg, throttled := throttledMsg(err); {
		case throttled:
			d.Message, status = msg, http.StatusTooManyRequests
		case errors.Is(err, auth.ErrBadCredentials):
			if err := a.signInFailed(r, auth.User{}, username); err != nil {
				return err
			}
			d.Message = "The username or password is not right. Check both and try again."
		default:
			return err
		}
		v.Data = d
		return a.Render(w, r, status, "signin.html", v)
	}
	return a.beginSignIn(w, r, u, "", next)
}

// beginSignIn starts the login session of u, whose password or identity
// provider (via) was checked, and sends the browser on to next: a new
// session id (any earlier one ends), then the second factor if the account
// has one, or the sign-in event and the device cookie.
func (a *Area) beginSignIn(w http.ResponseWriter, r *http.Request, u auth.User, via, next string) error {
	if old := web.Cookie(r, a.cookie()); old != "" {
		if err := a.auth.EndSession(r.Context(), a.cfg.Realm, old); err != nil && !errors.Is(err, auth.ErrSessionExpired) {
			return err
		}
	}
	pending := u.HasTOTP()
	raw, _, err := a.auth.NewSession(r.Context(), a.cfg.Realm, u.ID, pending, a.source(r), r.UserAgent())
	if err != nil {
		return err
	}
	a.startSession(w, raw)
	if pending {
		return web.Redirect(w, r, a.path("/2fa")+"?next="+url.QueryEscape(next))
	}
	if err := a.signedIn(w, r, u, false, via); err != nil {
		return err
	}
	return web.Redirect(w, r, next)
}

// pending returns the half-signed-in session of r (password checked, code not yet).
func (a *Area) pending(r *http.Request) (string, auth.Session, auth.User, bool) {
	raw := web.Cookie(r, a.cookie())
	if raw == "" {
		return "", auth.Session{}, auth.User{}, false
	}
	s, u, err := a.auth.Lookup(r.Context(), a.cfg.Realm, raw)
	if err != nil || !s.Pending {
		return "", auth.Session{}, auth.User{}, false
	}
	return raw, s, u, true
}

func (a *Area) serveSecondFactor(w http.ResponseWriter, r *http.Request) error {
	if _, _, _, ok := a.pending(r); !ok {
		return web.Redirect(w, r, a.path(""))
	}
	v := a.View(r, nil, "Two-step verification")
	v.Form = url.Values{"next": {r.URL.Query().Get("next")}}
	v.Data = struct{ Action, Message string }{a.path("/2fa"), ""}
	return a.Render(w, r, http.StatusOK, "totp.html", v)
}

func (a *Area) serveSecondFactorPost(w http.ResponseWriter, r *http.Request) error {
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	raw, _, u, ok := a.pending(r)
	if !ok {
		return web.Redirect(w, r, a.path(""))
	}
	next := safeNext(first(form, "next"), a.cfg.Home)
	code := strings.ReplaceAll(strings.TrimSpace(first(form, "code")), " ", "")
	if err := a.auth.VerifyTOTP(r.Context(), a.cfg.Realm, u.ID, code, a.source(r)); err != nil {
		msg, throttled := throttledMsg(err)
		status := http.StatusTooManyRequests
		if !throttled {
			if !errors.Is(err, auth.ErrBadCode) {
				return err
			}
			msg, status = "That code is not right, or was already used. Enter the current code from your authenticator app.", http.StatusUnauthorized
			if err := a.signInFailed(r, u, ""); err != nil {
				return err
			}
		}
		v := a.View(r, nil, "Two-step verification")
		v.Form = url.Values{"next": {first(form, "next")}}
		v.Data = struct{ Action, Message string }{a.path("/2fa"), msg}
		return a.Render(w, r, status, "totp.html", v)
	}
	fresh, err := a.auth.Promote(r.Context(), a.cfg.Realm, raw)
	if err != nil {
		return err
	}
	a.startSession(w, fresh)
	if err := a.signedIn(w, r, u, true, ""); err != nil {
		return err
	}
	return web.Redirect(w, r, next)
}

func (a *Area) serveSignOut(w http.ResponseWriter, r *http.Request) error {
	if raw := web.Cookie(r, a.cookie()); raw != "" {
		se, u, err := a.auth.Lookup(r.Context(), a.cfg.Realm, raw)
		if err == nil && !se.Pending {
			who := &Who{User: u, Session: se, raw: raw}
			if err := a.event(r, Event{Action: EventSignOut, By: who, User: u, Source: a.source(r)}); err != nil {
				return err
			}
		}
		if err := a.auth.EndSession(r.Context(), a.cfg.Realm, raw); err != nil && !errors.Is(err, auth.ErrSessionExpired) {
			return err
		}
	}
	web.SetCookie(w, a.cookie(), "", -1)
	return web.Redirect(w, r, a.path("")+"?signedout=1")
}

// setupGuard answers 404 to every spelling of the setup route unless it is
// the exact path, with GET or POST, while the realm still has no admin. It
// sees the raw request path before the mux cleans or redirects it.
func (a *Area) setupGuard(w http.ResponseWriter, r *http.Request) bool {
	if !isSetupPath(r.URL.EscapedPath()) && !isSetupPath(r.URL.Path) && !isSetupPath(r.RequestURI) {
		return false
	}
	exact := a.path("/setup")
	if r.URL.EscapedPath() == exact && r.URL.RawPath == "" && (r.Method == http.MethodGet || r.Method == http.MethodPost) {
		if ok, err := a.auth.HasAdmin(r.Context(), a.cfg.Realm); err == nil && !ok {
			return false
		}
	}
	for _, other := range otherRealmsSetup {
		if r.URL.EscapedPath() == other && other != exact {
			return false // the other realm's guard decides
		}
	}
	a.rt.WriteError(w, r, web.ErrNotFound)
	return true
}

// otherRealmsSetup lists the exact setup paths of every area, so one area's
// guard leaves the others' exact routes alone.
var otherRealmsSetup = []string{"/login/setup", "/appliance/setup"}

// isSetupPath reports whether any decoding of p names a setup route: any
// case, repeated or encoded slashes, dot segments, path parameters (";")
// and trailing segments all count.
func isSetupPath(p string) bool {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	for range 4 {
		d, err := url.PathUnescape(p)
		if err != nil || d == p {
			break
		}
		p = d
	}
	p = strings.ToLower(strings.ReplaceAll(p, "\\", "/"))
	for _, seg := range strings.Split(path.Clean("/"+p), "/") {
		if i := strings.IndexByte(seg, ';'); i >= 0 {
			seg = seg[:i]
		}
		seg = strings.TrimSpace(strings.Trim(seg, "."))
		if seg == "setup" {
			return true
		}
	}
	return false
}

func (a *Area) serveSetup(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	if err := a.auth.SetupOpen(r.Context(), a.cfg.Realm, token); err != nil {
		return a.setupError(err)
	}
	v := a.View(r, nil, "Create the first administrator")
	v.Form = url.Values{"token": {token}}
	v.Data = struct{ Action, Realm string }{a.path("/setup"), a.cfg.Surface}
	return a.Render(w, r, http.StatusOK, "setup.html", v)
}

func (a *Area) setupError(err error) error {
	switch {
	case errors.Is(err, auth.ErrSetupClosed):
		return web.ErrNotFound
	case errors.Is(err, auth.ErrBadToken):
		return web.Error(http.StatusForbidden, "This setup link is not valid or has expired.",
			"Restart applianced (or reboot the box) to print a new setup link on its console and in the journal.")
	}
	return err
}

func (a *Area) serveSetupPost(w http.ResponseWriter, r *http.Request) error {
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	token := first(form, "token")
	nu := auth.NewUser{
		Username:    strings.TrimSpace(first(form, "username")),
		DisplayName: strings.TrimSpace(first(form, "display_name")),
		Password:    first(form, "password"),
		Role:        auth.RoleAdmin,
	}
	fe := web.FieldErrors{}
	if nu.Password != first(form, "confirm") {
		fe.Add("confirm", "The two passwords differ. Type the same password twice.")
	}
	if !fe.Any() {
		u, err := a.auth.CompleteSetup(r.Context(), a.cfg.Realm, token, nu)
		if err == nil {
			raw, _, err := a.auth.NewSession(r.Context(), a.cfg.Realm, u.ID, false, a.source(r), r.UserAgent())
			if err != nil {
				return err
			}
			a.startSession(w, raw)
			a.log.Info("first administrator created", "realm", a.cfg.Realm, "user", u.Username)
			if err := a.signedIn(w, r, u, false, ""); err != nil {
				return err
			}
			return web.Redirect(w, r, a.path("/account")+"?welcome=1")
		}
		if !web.AddFields(fe, err) {
			return a.setupError(err)
		}
	}
	v := a.View(r, nil, "Create the first administrator")
	v.Form = url.Values{"token": {token}, "username": {nu.Username}, "display_name": {nu.DisplayName}}
	v.Errors = fe
	v.Data = struct{ Action, Realm string }{a.path("/setup"), a.cfg.Surface}
	return a.Render(w, r, http.StatusUnprocessableEntity, "setup.html", v)
}

func first(form map[string][]string, k string) string {
	if v := form[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}
