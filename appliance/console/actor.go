package console

import (
	"net/http"
	"strconv"

	"github.com/switchboardhq/switchboard/appliance/account"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// req is a request of a signed-in technician with the desk actor every
// authorization decision is made for.
type req = account.Req

type handler = account.DeskHandler

// actorFor is the desk actor of who as the desk has it now (not the one
// the guard computed when the request began: a live stream follows changes
// of channels and permissions).
func (c *Console) actorFor(r *http.Request, who *account.Who) (desk.Actor, error) {
	return c.desk.ActorFor(r.Context(), who.User.ID, account.DisplayName(who), who.User.Role)
}

// guard wraps h so it runs for a signed-in site user with its actor
// (account.DeskGuard). The desk decides every action.
func (c *Console) guard(h handler) web.Handler { return c.area.DeskGuard(c.desk, consoleText, nil, h) }

// wantsJSON reports whether the request comes from console.js.
func wantsJSON(r *http.Request) bool { return web.WantsJSON(r) }

// Errors the console shows.
var (
	errNoSession = &web.HTTPError{Code: http.StatusNotFound,
		Msg:  "This session does not exist, or it is no longer here.",
		Next: "Go back to the console: the queues show every session you can work on."}
	errForbidden = &web.HTTPError{Code: http.StatusForbidden,
		Msg:  "Your account is not allowed to do this.",
		Next: "Ask an administrator if you need this permission, or the channel that holds the session."}
)

// consoleText is the console's words for the domain errors (web.ErrorText).
var consoleText = web.ErrorText{NotFound: errNoSession, Forbidden: errForbidden,
	State: web.Error(http.StatusConflict, "The session has changed in the meantime, so this was not done.", "Reload the page to see where it stands.")}

// webError maps a domain error to what the technician sees.
func webError(err error) error { return consoleText.Map(err) }

// pathID is the {id} of the request's path.
func pathID(r *http.Request) (uint64, error) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		return 0, errNoSession
	}
	return id, nil
}

// mayAccept mirrors the desk's rule for taking a session from its queue,
// so pages offer Accept only where it can work (the desk decides anyway).
func mayAccept(a desk.Actor, ss desk.Session) bool {
	switch ss.Queue.Kind {
	case desk.QueueTechnician:
		return ss.Queue.ID == a.UserID || a.Role == desk.RoleAdmin || a.Role == desk.RoleTechManager
	case desk.QueueChannel:
		return desk.Can(a, desk.ActTakeFromChannel, desk.Scope{Channel: ss.Queue.ID}) ||
			desk.Can(a, desk.ActSupervise, desk.Scope{Channel: ss.Queue.ID})
	}
	return false
}

// mayWork mirrors the desk's rule for working an accepted session.
func mayWork(a desk.Actor, ss desk.Session) bool {
	ch := uint64(0)
	if ss.Queue.Kind == desk.QueueChannel {
		ch = ss.Queue.ID
	}
	return desk.Can(a, desk.ActWorkSession, desk.Scope{Owner: ss.Owner, Channel: ch})
}
