package account

import (
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/web"
)

type accountData struct {
	Prefix   string
	Welcome  bool
	User     auth.User
	Sessions []auth.Session
	// Enrolment, while TOTP is being set up.
	Secret, URL string
	QR          template.URL
}

func (a *Area) accountView(r *http.Request, who *Who, d accountData) (web.View, error) {
	v := a.View(r, who, "My account")
	sessions, err := a.auth.Sessions(r.Context(), a.cfg.Realm, who.User.ID)
	if err != nil {
		return v, err
	}
	d.Prefix, d.User, d.Sessions = a.cfg.Prefix, who.User, sessions
	v.Data = d
	return v, nil
}

func (a *Area) serveAccount(w http.ResponseWriter, r *http.Request, who *Who) error {
	v, err := a.accountView(r, who, accountData{Welcome: r.URL.Query().Get("welcome") == "1"})
	if err != nil {
		return err
	}
	v.Flash = flash(r.URL.Query().Get("done"))
	return a.Render(w, r, http.StatusOK, "account.html", v)
}

func flash(key string) string {
	return map[string]string{
		"password":   "Your password was changed.",
		"totp":       "Two-step verification is on. You will be asked for a code at every sign-in.",
		"totp-off":   "Two-step verification is off.",
		"sessions":   "Every other session of yours was signed out.",
		"created":    "The user was added.",
		"disabled":   "The user was disabled and signed out everywhere.",
		"enabled":    "The user was enabled.",
		"deleted":    "The user was deleted.",
		"ended":      "Every session of that user was signed out.",
		"signed-out": "You are signed out.",
	}[key]
}

func (a *Area) servePassword(w http.ResponseWriter, r *http.Request, who *Who) error {
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	fe := web.FieldErrors{}
	if err := a.checkCurrent(r, who, first(form, "current"), "current", "That is not your current password.", fe); err != nil {
		return err
	}
	if first(form, "password") != first(form, "confirm") {
		fe.Add("confirm", "The two new passwords differ. Type the same password twice.")
	}
	if !fe.Any() {
		err := a.auth.SetPassword(r.Context(), a.cfg.Realm, who.User.ID, first(form, "password"))
		if err == nil {
			// Whoever knew the old password is signed out everywhere.
			if err := a.restartSessions(w, r, who); err != nil {
				return err
			}
			return web.Redirect(w, r, a.path("/account")+"?done=password")
		}
		if !web.AddFields(fe, err) {
			return err
		}
	}
	return a.renderAccountErrors(w, r, who, fe)
}

// checkCurrent checks that password is who's current one, and otherwise
// adds wrong (or the throttling message) to fe under field.
func (a *Area) checkCurrent(r *http.Request, who *Who, password, field, wrong string, fe web.FieldErrors) error {
	_, err := a.auth.AuthenticateDevice(r.Context(), a.cfg.Realm, who.User.Username, password, a.source(r), web.Cookie(r, a.deviceCookie()))
	if msg, ok := throttledMsg(err); ok {
		fe.Add(field, msg)
	} else if errors.Is(err, auth.ErrBadCredentials) {
		fe.Add(field, wrong)
	} else if err != nil {
		return err
	}
	return nil
}

// renderAccountErrors shows the account page again with fe next to fields.
func (a *Area) renderAccountErrors(w http.ResponseWriter, r *http.Request, who *Who, fe web.FieldErrors) error {
	v, err := a.accountView(r, who, accountData{})
	if err != nil {
		return err
	}
	v.Errors = fe
	return a.Render(w, r, http.StatusUnprocessableEntity, "account.html", v)
}

func (a *Area) serveTOTPBegin(w http.ResponseWriter, r *http.Request, who *Who) error {
	en, err := a.auth.BeginTOTP(r.Context(), a.cfg.Realm, who.User.ID, a.cfg.Issuer)
	if err != nil {
		return err
	}
	return a.renderEnrolment(w, r, who, en.Secret, en.URL, en.QRPNG, nil)
}

func (a *Area) renderEnrolment(w http.ResponseWriter, r *http.Request, who *Who, secret, u string, png []byte, fe web.FieldErrors) error {
	d := accountData{Secret: secret, URL: u}
	if len(png) > 0 {
		// A data: URL built here from our own PNG bytes; CSP allows data: images.
		d.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
	}
	v, err := a.accountView(r, who, d)
	if err != nil {
		return err
	}
	v.Errors = fe
	status := http.StatusOK
	if fe.Any() {
		status = http.StatusUnprocessableEntity
	}
	return a.Render(w, r, status, "account.html", v)
}

func (a *Area) serveTOTPConfirm(w http.ResponseWriter, r *http.Request, who *Who) error {
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	if who.User.HasTOTP() {
		// Replacing a working second factor needs it turned off first,
		// which asks for the password: a stolen session cannot swap it.
		return web.Error(http.StatusConflict, "Two-step verification is already on for your account.",
			"To use another authenticator, turn it off with your password, then set it up again.")
	}
	secret := first(form, "secret")
	code := strings.ReplaceAll(strings.TrimSpace(first(form, "code")), " ", "")
	err = a.auth.ConfirmTOTP(r.Context(), a.cfg.Realm, who.User.ID, secret, code)
	if err == nil {
		return web.Redirect(w, r, a.path("/account")+"?done=totp")
	}
	fe := web.FieldErrors{}
	if !errors.Is(err, auth.ErrBadCode) && !web.AddFields(fe, err) {
		return err
	}
	fe.Add("code", "That code does not match. Enter the 6-digit code your app shows now.")
	// Show the same secret again so the app that already scanned it still works.
	u := (&url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + a.cfg.Issuer + ":" + who.User.Username,
		RawQuery: url.Values{"secret": {secret}, "issuer": {a.cfg.Issuer}}.Encode()}).String()
	return a.renderEnrolment(w, r, who, secret, u, nil, fe)
}

func (a *Area) serveTOTPDisable(w http.ResponseWriter, r *http.Request, who *Who) error {
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	// A stolen session alone must not remove the second factor.
	fe := web.FieldErrors{}
	if err := a.checkCurrent(r, who, first(form, "current"), "totp_current", "That is not your current password, so two-step verification stays on.", fe); err != nil {
		return err
	}
	if fe.Any() {
		return a.renderAccountErrors(w, r, who, fe)
	}
	if err := a.auth.DisableTOTP(r.Context(), a.cfg.Realm, who.User.ID); err != nil {
		return err
	}
	return web.Redirect(w, r, a.path("/account")+"?done=totp-off")
}

func (a *Area) serveEndMySessions(w http.ResponseWriter, r *http.Request, who *Who) error {
	if err := a.restartSessions(w, r, who); err != nil {
		return err
	}
	return web.Redirect(w, r, a.path("/account")+"?done=sessions")
}

// restartSessions ends every session of who and signs this browser in again
// with a fresh one.
func (a *Area) restartSessions(w http.ResponseWriter, r *http.Request, who *Who) error {
	if _, err := a.auth.EndUserSessions(r.Context(), a.cfg.Realm, who.User.ID); err != nil {
		return err
	}
	raw, _, err := a.auth.NewSession(r.Context(), a.cfg.Realm, who.User.ID, false, a.source(r), r.UserAgent())
	if err != nil {
		return err
	}
	a.startSession(w, raw)
	return nil
}
