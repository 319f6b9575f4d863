package admin

import (
	"context"
	"net/http"
	"strconv"

	"github.com/switchboardhq/switchboard/appliance/account"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// req is a request of a signed-in person who may open the administration,
// with the desk actor every authorization decision is made for.
type req = account.Req

type handler = account.DeskHandler

// serveDelete deletes the object of the path with del (which authorizes
// and audits) and goes back to the list.
func (a *Admin) serveDelete(del func(context.Context, desk.Actor, uint64) error, list string) handler {
	return func(w http.ResponseWriter, r *http.Request, q *req) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if err := del(r.Context(), q.Actor, id); err != nil {
			return err
		}
		return web.Redirect(w, r, list+"?done=deleted")
	}
}

// actor returns the desk actor of who, computed once per request.
func (a *Admin) actor(r *http.Request, who *account.Who) (desk.Actor, error) {
	return account.Actor(r, a.desk, who)
}

// guard wraps h so it runs only for a signed-in person the desk lets open
// the administration (desk.ActViewAdmin) and, when act is set, take act,
// which must not depend on a channel. Handlers authorize channel-scoped
// actions themselves, through the desk methods they call.
func (a *Admin) guard(act desk.Action, h handler) web.Handler {
	return a.area.DeskGuard(a.desk, adminText, func(actor desk.Actor) error {
		if err := desk.Authorize(actor, desk.ActViewAdmin, desk.Scope{}); err != nil {
			return err
		}
		if act != "" {
			return desk.Authorize(actor, act, desk.Scope{})
		}
		return nil
	}, h)
}

// can is the navigation test for act: whether the signed-in person may
// take it at all.
func (a *Admin) can(act desk.Action) func(*http.Request, *account.Who) bool {
	return func(r *http.Request, who *account.Who) bool {
		actor, err := a.actor(r, who)
		return err == nil && desk.Can(actor, desk.ActViewAdmin, desk.Scope{}) && desk.Can(actor, act, desk.Scope{})
	}
}

// pathID is the {id} of the request's path.
func pathID(r *http.Request) (uint64, error) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		return 0, web.ErrNotFound
	}
	return id, nil
}

// adminText is /login's words for the domain errors (web.ErrorText).
var adminText = web.ErrorText{NotFound: web.Error(http.StatusNotFound, "There is nothing at this address: it may have been deleted.", "Go back to the list and reload it.")}

// webError maps a domain error to what the administrator sees.
func webError(err error) error { return adminText.Map(err) }
