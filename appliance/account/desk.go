package account

import (
	"context"
	"net/http"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// Req is a request of a signed-in person of the site realm with the desk
// actor every authorization decision is made for.
type Req struct {
	Who   *Who
	Actor desk.Actor
}

// DeskHandler is a handler of the front ends that work the desk.
type DeskHandler func(w http.ResponseWriter, r *http.Request, q *Req) error

type actorKey struct{}

// DisplayName is how colleagues see who: the display name, else the
// username.
func DisplayName(who *Who) string {
	if who.User.DisplayName != "" {
		return who.User.DisplayName
	}
	return who.User.Username
}

// Actor returns the desk actor of who, computed once per request (the
// guard keeps it in the request's context).
func Actor(r *http.Request, d *desk.Service, who *Who) (desk.Actor, error) {
	if act, ok := r.Context().Value(actorKey{}).(desk.Actor); ok && act.UserID == who.User.ID {
		return act, nil
	}
	return d.ActorFor(r.Context(), who.User.ID, DisplayName(who), who.User.Role)
}

// DeskGuard is the one request guard of the front ends that work the desk
// (/login, /console): h runs only for a signed-in, not pending, person of
// the area, with their desk actor, once check (if any) lets the actor in;
// every error h returns is mapped with text (web.ErrorText) and answered as
// a page, or as JSON to scripts that ask for it (web.Router does that).
func (a *Area) DeskGuard(d *desk.Service, text web.ErrorText, check func(desk.Actor) error, h DeskHandler) web.Handler {
	return a.Require(false, func(w http.ResponseWriter, r *http.Request, who *Who) error {
		actor, err := Actor(r, d, who)
		if err != nil {
			return text.Map(err)
		}
		if check != nil {
			if err := check(actor); err != nil {
				return text.Map(err)
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), actorKey{}, actor))
		return text.Map(h(w, r, &Req{Who: who, Actor: actor}))
	})
}
