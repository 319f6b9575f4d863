package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// consolePage is the data of /console.
type consolePage struct {
	State State
	Tools toolsView
	// Result is what a tool just made (a key, a link), shown once.
	Result *toolResult
	// Problem is a message about the whole page, not one field.
	Problem string
	// Sites says which public sites are open, for sites with hours.
	Sites []siteHours
}

// siteHours is one public site's opening state and its next change, in
// the site's time zone.
type siteHours struct {
	Name string
	Open bool
	Next string
}

func (c *Console) siteHours(r *http.Request) ([]siteHours, error) {
	sites, err := c.desk.Sites(r.Context())
	if err != nil {
		return nil, err
	}
	now := c.desk.Now()
	var out []siteHours
	for _, st := range sites {
		if st.Hours == nil {
			continue
		}
		open, next := st.OpenAt(now)
		sh := siteHours{Name: st.Name, Open: open}
		if !next.IsZero() {
			next = next.In(st.Hours.Location())
			verb := "opens"
			if open {
				verb = "closes"
			}
			sh.Next = verb + " " + next.Format("Mon 2 Jan 15:04") + " (" + st.Hours.TimeZone + ")"
		}
		out = append(out, sh)
	}
	return out, nil
}

// flashes are the confirmations a redirect back to /console may show.
var flashes = map[string]string{
	"availability": "Your availability is saved.",
	"transferred":  "The session was transferred. It waits in its new queue.",
	"left":         "You left the session.",
	"closed":       "The session is closed. It is in your history.",
	"sos-paused":   "The SOS Call link is paused: it shows a message instead of the form.",
	"sos-resumed":  "The SOS Call link works again.",
	"sos-deleted":  "The SOS Call link is deleted: its address no longer works.",
	"nothing":      "Nobody is waiting for you right now.",
}

func (c *Console) serveConsole(w http.ResponseWriter, r *http.Request, q *req) error {
	v := c.view(r, q, "Queues")
	v.Flash = flashes[r.URL.Query().Get("done")]
	return c.renderConsole(w, r, q, http.StatusOK, v, nil)
}

// renderConsole renders /console with v (errors, what was typed) and the
// result of a tool, if any.
func (c *Console) renderConsole(w http.ResponseWriter, r *http.Request, q *req, status int, v web.View, res *toolResult) error {
	st, dir, err := c.state(r.Context(), q.Actor)
	if err != nil {
		return err
	}
	for i := range st.Queues {
		for j := range st.Queues[i].Rows {
			st.Queues[i].Rows[j].Age = age(st.Now.Sub(st.Queues[i].Rows[j].Since))
		}
	}
	for i := range st.Sessions {
		st.Sessions[i].Age = age(st.Now.Sub(st.Sessions[i].Since))
	}
	tools, err := c.tools(r.Context(), q.Actor, dir, st.Me, v.Form)
	if err != nil {
		return err
	}
	sites, err := c.siteHours(r)
	if err != nil {
		return err
	}
	v.Data = consolePage{State: st, Tools: tools, Result: res, Problem: v.Errors["_"], Sites: sites}
	return c.render(w, r, status, "console.html", v)
}

// age says how long ago something started, for people: "just now", "4 min",
// "2 h 5 min".
func age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h %d min", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}

func (c *Console) serveAccept(w http.ResponseWriter, r *http.Request, q *req) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ss, err := c.desk.Accept(r.Context(), q.Actor, id)
	if errors.Is(err, desk.ErrAwaitingAgreement) && !wantsJSON(r) {
		// The session's page says why and enables Accept once the
		// customer agrees.
		return web.Redirect(w, r, sessionPath(id)+"#accept")
	}
	if errors.Is(err, desk.ErrState) {
		if cur, lerr := c.desk.Session(r.Context(), q.Actor, id); lerr == nil && cur.Status == desk.Active && cur.Owner == q.Actor.UserID {
			// A second click on Accept: the session is ours already.
			ss, err = cur, nil
		} else {
			return c.conflict(r.Context(), q, id, "accept", err)
		}
	}
	if err != nil {
		return err
	}
	if wantsJSON(r) {
		return web.WriteJSON(w, http.StatusOK, map[string]any{"id": ss.ID, "href": sessionPath(ss.ID)})
	}
	return web.Redirect(w, r, sessionPath(ss.ID))
}

func (c *Console) serveNext(w http.ResponseWriter, r *http.Request, q *req) error {
	ss, err := c.desk.Next(r.Context(), q.Actor)
	if errors.Is(err, desk.ErrNotFound) {
		if wantsJSON(r) {
			return web.WriteJSON(w, http.StatusOK, map[string]any{"message": flashes["nothing"]})
		}
		return web.Redirect(w, r, "/console?done=nothing")
	}
	if err != nil {
		return err
	}
	if wantsJSON(r) {
		return web.WriteJSON(w, http.StatusOK, map[string]any{"id": ss.ID, "href": sessionPath(ss.ID)})
	}
	return web.Redirect(w, r, sessionPath(ss.ID))
}

func sessionPath(id uint64) string { return "/console/sessions/" + strconv.FormatUint(id, 10) }

// conflict explains why action could not be done on session id (the desk
// said desk.ErrState): what the session is now, and what to do.
func (c *Console) conflict(ctx context.Context, q *req, id uint64, action string, cause error) error {
	ss, err := c.desk.Session(ctx, q.Actor, id)
	msg, next := "The session has changed in the meantime, so nothing was done.", "Reload the page to see where it stands."
	switch {
	case errors.Is(err, desk.ErrForbidden), errors.Is(err, desk.ErrNotFound):
		return webError(err)
	case err != nil:
		msg, next = "This session is no longer in a queue you work on.", "Go back to the console: the queues show what you can work on."
	case ss.Status == desk.Closed:
		msg, next = "This session has ended, so nothing was done.", "Its chat and trail are in the history."
	case ss.Status == desk.Expired:
		msg, next = "This session expired before anyone accepted it, so nothing was done.", "Its trail is in the history."
	case action == "accept" && ss.Status == desk.Active:
		dir, derr := c.directory(ctx)
		who := "another technician"
		if derr == nil {
			who = dir.techName(ss.Owner)
		}
		msg, next = "This session was already accepted by someone else ("+who+").", "Go back to the queue and take the next customer."
	case action == "accept" && errors.Is(cause, desk.ErrAwaitingAgreement):
		msg, next = "The customer has not accepted the site's agreement yet, so the session cannot be accepted.", "It can be accepted as soon as the customer agrees; the queue shows it then."
	case action == "accept" && ss.Status == desk.Waiting:
		msg, next = "The customer has not opened the session yet, so it cannot be accepted.", "It moves to Waiting as soon as the customer is there."
	case action == "leave":
		msg, next = "You are not a collaborator of this session, so there is nothing to leave.", "Go back to the console."
	case action == "invite" || action == "chat":
		msg, next = "The session is not active, so nothing was done.", "Accept it first, or reload the page to see where it stands."
	}
	return &web.HTTPError{Code: http.StatusConflict, Msg: msg, Next: next, Err: cause}
}

// consoleURL is /console with the confirmation done.
func consoleURL(done string) string { return "/console?done=" + url.QueryEscape(done) }
