package account

import (
	"errors"
	"net/http"

	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// External is a way to sign in other than a password: single sign-on
// through an identity provider. The sign-in page shows its button when
// Offer says so; the front end that owns it verifies the person and then
// calls SignInExternal.
type External struct {
	// Offer returns the button's words, the identity provider's origin
	// (where the button's form ends up) and whether to show it.
	Offer func(r *http.Request) (label, origin string, ok bool)
	// Action is where the button posts (with next).
	Action string
}

// SetExternal offers ext on the sign-in page.
func (a *Area) SetExternal(ext External) { a.external = &ext }

// externalOffer is the sign-in page's single sign-on button, if any.
func (a *Area) externalOffer(w http.ResponseWriter, r *http.Request) (label, action string) {
	if a.external == nil {
		return "", ""
	}
	if l, origin, ok := a.external.Offer(r); ok {
		web.AllowFormTarget(w, origin)
		return l, a.external.Action
	}
	return "", ""
}

// ErrDisabled reports an external sign-in for a disabled account.
var ErrDisabled = errors.New("this account is disabled")

// SignInExternal signs u in after an external check (via names it, for
// the record) as a password would, and sends the browser on to next: a
// new session id, the sign-in event and the device cookie. An account with
// a second factor is asked for its code first, as after a password.
func (a *Area) SignInExternal(w http.ResponseWriter, r *http.Request, u auth.User, via, next string) error {
	if u.Disabled {
		return ErrDisabled
	}
	return a.beginSignIn(w, r, u, via, safeNext(next, a.cfg.Home))
}

// Next is the safe place to go after signing in, from a next parameter.
func (a *Area) Next(next string) string { return safeNext(next, a.cfg.Home) }

// Source is the client address of r as the area records it.
func (a *Area) Source(r *http.Request) string { return a.source(r) }

// SourceKey is the key r's client counts under in rate limits (an IPv6
// /64 as one).
func (a *Area) SourceKey(r *http.Request) string { return web.SourceKey(a.rt.ClientAddr(r)) }
