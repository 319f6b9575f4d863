package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// actions are what the technician may do with a session right now.
type actions struct {
	Accept   bool `json:"accept"`
	Chat     bool `json:"chat"`
	Transfer bool `json:"transfer"`
	Invite   bool `json:"invite"`
	Leave    bool `json:"leave"`
	Close    bool `json:"close"`
}

func allowed(a desk.Actor, ss desk.Session) actions {
	perm := func(p desk.Perm) bool { return desk.Can(a, desk.ActUsePerm, desk.Scope{Perm: p}) }
	open := ss.Open()
	inside := ss.Owner == a.UserID || slices.Contains(ss.Collaborators, a.UserID)
	working := ss.Status == desk.Active && mayWork(a, ss)
	takeable := ss.Status == desk.Ready && mayAccept(a, ss)
	return actions{
		Accept:   takeable,
		Chat:     open && inside,
		Transfer: (working || takeable) && (perm(desk.PermTransferTech) || perm(desk.PermTransferChannel)),
		Invite:   working && perm(desk.PermInvite),
		Leave:    open && slices.Contains(ss.Collaborators, a.UserID),
		Close:    open && (working || ss.Status != desk.Active && mayAccept(a, ss)),
	}
}

// sessionView is one session as its page and its JSON state show it.
type sessionView struct {
	Row           Row            `json:"row"`
	Open          bool           `json:"open"`
	Trail         []trailLine    `json:"trail"`
	Messages      []desk.Message `json:"messages"`
	Actions       actions        `json:"actions"`
	Collaborators []string       `json:"collaborators"`
	Remote        remoteView     `json:"remote"`
	// The choices of the transfer and invite forms.
	TransferTo  []option `json:"-"`
	InviteUsers []option `json:"-"`
}

// sessionView builds the view of ss for a; form holds what was typed.
func (c *Console) sessionView(ctx context.Context, a desk.Actor, ss desk.Session, after uint64, form url.Values) (sessionView, error) {
	dir, err := c.directory(ctx)
	if err != nil {
		return sessionView{}, err
	}
	msgs, err := c.desk.Messages(ctx, ss.ID, after)
	if err != nil {
		return sessionView{}, err
	}
	sv := sessionView{Row: dir.row(a, ss), Open: ss.Open(), Trail: dir.trail(ss), Messages: msgs, Actions: allowed(a, ss), Remote: c.remoteView(ctx, a, ss, dir)}
	if sv.Messages == nil {
		sv.Messages = []desk.Message{}
	}
	for _, id := range ss.Collaborators {
		sv.Collaborators = append(sv.Collaborators, dir.techName(id))
	}
	perm := func(p desk.Perm) bool { return desk.Can(a, desk.ActUsePerm, desk.Scope{Perm: p}) }
	if sv.Actions.Transfer {
		if perm(desk.PermTransferTech) {
			for _, t := range dir.techs {
				if t.UserID == a.UserID || ss.Queue == (desk.Queue{Kind: desk.QueueTechnician, ID: t.UserID}) && ss.Status == desk.Ready {
					continue
				}
				v := queueKey(desk.Queue{Kind: desk.QueueTechnician, ID: t.UserID})
				sv.TransferTo = append(sv.TransferTo, option{v, "Technician: " + t.PrivateName + " (" + t.Availability + ")", form.Get("to") == v})
			}
		}
		if perm(desk.PermTransferChannel) {
			for _, ch := range dir.channels {
				v := queueKey(desk.Queue{Kind: desk.QueueChannel, ID: ch.ID})
				sv.TransferTo = append(sv.TransferTo, option{v, "Channel: " + ch.Name, form.Get("to") == v})
			}
		}
	}
	if sv.Actions.Invite {
		for _, t := range dir.techs {
			if t.UserID == ss.Owner || t.UserID == a.UserID || slices.Contains(ss.Collaborators, t.UserID) {
				continue
			}
			v := strconv.FormatUint(t.UserID, 10)
			sv.InviteUsers = append(sv.InviteUsers, option{v, t.PrivateName + " (" + t.Availability + ")", form.Get("user") == v})
		}
	}
	return sv, nil
}

// openSession returns session id for a session page, or the error or
// redirect that says where it went: a finished session is history, and a
// session transferred away is out of reach.
func (c *Console) openSession(ctx context.Context, q *req, id uint64) (desk.Session, error) {
	ss, err := c.desk.Session(ctx, q.Actor, id)
	if errors.Is(err, desk.ErrForbidden) {
		if _, _, rerr := c.desk.Record(ctx, q.Actor, id); rerr == nil {
			return ss, errFinished
		} else if errors.Is(rerr, desk.ErrState) {
			return ss, &web.HTTPError{Code: http.StatusForbidden, Msg: "This session moved to a queue you do not work on (it was transferred), so you cannot open it any more.",
				Next: "Its trail is in your history once it ends.", Err: err}
		}
		return ss, err
	}
	if err == nil && !ss.Open() {
		return ss, errFinished
	}
	return ss, err
}

// errFinished sends a session page to the history.
var errFinished = errors.New("session finished")

func (c *Console) serveSession(w http.ResponseWriter, r *http.Request, q *req) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v := c.view(r, q, "Session")
	v.Flash = sessionFlashes[r.URL.Query().Get("done")]
	return c.renderSession(w, r, q, id, http.StatusOK, v)
}

var sessionFlashes = map[string]string{
	"invited": "Your colleague is invited: the session is in their console now.",
}

// renderSession renders the page of session id with v (errors, what was
// typed).
func (c *Console) renderSession(w http.ResponseWriter, r *http.Request, q *req, id uint64, status int, v web.View) error {
	ss, err := c.openSession(r.Context(), q, id)
	if err == errFinished {
		return web.Redirect(w, r, recordPath(id))
	}
	if err != nil {
		return err
	}
	sv, err := c.sessionView(r.Context(), q.Actor, ss, 0, v.Form)
	if err != nil {
		return err
	}
	v.Title = "Session with " + customerName(ss.Customer)
	v.Data = sv
	return c.render(w, r, status, "console-session.html", v)
}

func customerName(c desk.Customer) string {
	if c.Name != "" {
		return c.Name
	}
	return "a customer"
}

func (c *Console) serveSessionState(w http.ResponseWriter, r *http.Request, q *req) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
	ss, err := c.openSession(r.Context(), q, id)
	if err == errFinished {
		// Finished: only those who may review it (history's rule) get its
		// last messages; the others learn it is over.
		ss, _, err = c.desk.Record(r.Context(), q.Actor, id)
		if err != nil {
			return web.WriteJSON(w, http.StatusOK, map[string]any{"open": false, "history": recordPath(id)})
		}
	}
	if err != nil {
		return err
	}
	sv, err := c.sessionView(r.Context(), q.Actor, ss, after, nil)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, sv)
}

// sessionFailed renders the session page again with the message of err
// next to its field and what was typed, or returns err when it is not
// about a field.
func (c *Console) sessionFailed(w http.ResponseWriter, r *http.Request, q *req, id uint64, vals url.Values, err error) error {
	if wantsJSON(r) {
		return err
	}
	v := c.view(r, q, "Session")
	v.Form = vals
	if !web.AddFields(v.Errors, err) {
		return err
	}
	return c.renderSession(w, r, q, id, http.StatusBadRequest, v)
}

// act runs one change of session id from a form; ErrState becomes the
// conflict of action.
func (c *Console) act(r *http.Request, q *req, action string, fn func(ctx context.Context, id uint64, vals url.Values) error) (uint64, url.Values, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, nil, err
	}
	vals, err := form(r)
	if err != nil {
		return id, nil, err
	}
	err = fn(r.Context(), id, vals)
	if errors.Is(err, desk.ErrState) {
		err = c.conflict(r.Context(), q, id, action, err)
	}
	return id, vals, err
}

func (c *Console) serveChat(w http.ResponseWriter, r *http.Request, q *req) error {
	var msg desk.Message
	id, vals, err := c.act(r, q, "chat", func(ctx context.Context, id uint64, vals url.Values) (err error) {
		msg, err = c.desk.Say(ctx, q.Actor, id, vals.Get("text"))
		return err
	})
	if err != nil {
		return c.sessionFailed(w, r, q, id, vals, err)
	}
	if wantsJSON(r) {
		return web.WriteJSON(w, http.StatusCreated, msg)
	}
	return web.Redirect(w, r, sessionPath(id)+"#chat")
}

func (c *Console) serveTyping(w http.ResponseWriter, r *http.Request, q *req) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ss, err := c.desk.Session(r.Context(), q.Actor, id)
	if err != nil {
		return err
	}
	if !ss.Open() || ss.Owner != q.Actor.UserID && !slices.Contains(ss.Collaborators, q.Actor.UserID) {
		return c.conflict(r.Context(), q, id, "chat", desk.ErrState)
	}
	c.desk.Typing(ss, "technician")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (c *Console) serveTransfer(w http.ResponseWriter, r *http.Request, q *req) error {
	id, vals, err := c.act(r, q, "transfer", func(ctx context.Context, id uint64, vals url.Values) error {
		to, ok := parseQueue(vals.Get("to"))
		if !ok {
			return &desk.FieldError{Field: "to", Msg: "Choose a technician or a channel from the list."}
		}
		_, err := c.desk.Transfer(ctx, q.Actor, id, to, vals.Get("note"))
		return err
	})
	if err != nil {
		return c.sessionFailed(w, r, q, id, vals, err)
	}
	return c.done(w, r, consoleURL("transferred"))
}

func (c *Console) serveInvite(w http.ResponseWriter, r *http.Request, q *req) error {
	id, vals, err := c.act(r, q, "invite", func(ctx context.Context, id uint64, vals url.Values) error {
		user, perr := strconv.ParseUint(vals.Get("user"), 10, 64)
		if perr != nil {
			return &desk.FieldError{Field: "user", Msg: "Choose a colleague from the list."}
		}
		_, err := c.desk.Invite(ctx, q.Actor, id, user)
		return err
	})
	if err != nil {
		return c.sessionFailed(w, r, q, id, vals, err)
	}
	return c.done(w, r, sessionPath(id)+"?done=invited")
}

func (c *Console) serveLeave(w http.ResponseWriter, r *http.Request, q *req) error {
	_, _, err := c.act(r, q, "leave", func(ctx context.Context, id uint64, _ url.Values) error {
		_, err := c.desk.Leave(ctx, q.Actor, id)
		return err
	})
	if err != nil {
		return err
	}
	return c.done(w, r, consoleURL("left"))
}

func (c *Console) serveClose(w http.ResponseWriter, r *http.Request, q *req) error {
	_, _, err := c.act(r, q, "close", func(ctx context.Context, id uint64, _ url.Values) error {
		_, err := c.desk.Close(ctx, q.Actor, id)
		return err
	})
	if err != nil {
		return err
	}
	return c.done(w, r, consoleURL("closed"))
}

// done answers a successful change: a redirect for forms, where to go for
// scripts.
func (c *Console) done(w http.ResponseWriter, r *http.Request, next string) error {
	if wantsJSON(r) {
		return web.WriteJSON(w, http.StatusOK, map[string]string{"href": next})
	}
	return web.Redirect(w, r, next)
}
