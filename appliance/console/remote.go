package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/switchboardhq/switchboard/appliance/bus"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
	"github.com/switchboardhq/switchboard/appliance/wire"
)

// Remote is what the console needs from the remote-control engines; the
// appliance adapts the relay and the WebRTC gateway to it.
type Remote interface {
	// Viewer answers the WebRTC offer of a technician's browser that
	// views session (one data channel "wire" bridged to the relay).
	// a's rights in ss (desk.RightsIn) go with the seat.
	Viewer(ctx context.Context, ss desk.Session, a desk.Actor, offer string) (string, error)
	// Controller is who may send input in ss (its owner unless handed on).
	Controller(ctx context.Context, ss desk.Session) uint64
	// SetController tells the relay that tech (0: nobody) controls ss, once
	// the desk recorded the hand-over.
	SetController(ss desk.Session, tech uint64)
	// Sharing reports whether the customer shares a screen from the browser;
	// WatchShare answers a technician's offer to watch it.
	Sharing(session uint64) bool
	WatchShare(ctx context.Context, session, tech uint64, offer string) (string, error)
	// Present starts a presentation by a (a desk record: desk decides who
	// may); PublishPresentation answers the presenter's offer;
	// StopPresentation ends it.
	Present(ctx context.Context, a desk.Actor) (Presentation, error)
	PublishPresentation(ctx context.Context, id string, a desk.Actor, offer string) (string, error)
	StopPresentation(ctx context.Context, id string, a desk.Actor) error
	// Stats are the relay's counters of session.
	Stats(session uint64) (map[string]uint64, bool)
}

// Errors a Remote returns that the console explains to the technician.
var (
	// ErrNotSharing answers WatchShare when the customer's browser share
	// has not arrived or has ended.
	ErrNotSharing = errors.New("the customer is not sharing a screen")
	// ErrPresentationEnded answers PublishPresentation and StopPresentation
	// for a presentation that is not running (or not the technician's).
	ErrPresentationEnded = errors.New("the presentation has ended")
)

// Presentation is a started presentation: attendees join with Key on the
// public site or open Link.
type Presentation struct {
	ID   string `json:"id"`
	Key  string `json:"key"`
	Link string `json:"link"`
}

// WithRemote gives the console its remote-control engines.
func (c *Console) WithRemote(r Remote) *Console { c.remote = r; return c }

// person is a technician in a session, for the control hand-over menu.
type person struct {
	ID   uint64 `json:"id"`
	Name string `json:"name"`
}

// remoteView is the remote-control part of a session's page and state.
type remoteView struct {
	Enabled bool `json:"enabled"`
	Viewer  bool `json:"viewer"` // this technician may view the screen
	// Control and Files are this technician's rights (desk.RightsIn):
	// without Control the viewer is view only, without Files it shows no
	// file transfer.
	Control bool         `json:"control"`
	Files   bool         `json:"files"`
	Owner   bool         `json:"owner"`
	Me      uint64       `json:"me"`
	Device  *desk.Device `json:"device,omitempty"`
	// Controller may send input; People are the technicians in the session.
	Controller uint64            `json:"controller"`
	People     []person          `json:"people,omitempty"`
	Sharing    bool              `json:"sharing"`
	Stats      map[string]uint64 `json:"stats,omitempty"`
}

// AppUp reports whether the customer's support app is connected.
func (v remoteView) AppUp() bool { return v.Device != nil && v.Device.Connected }

// PeopleJSON is People for the data attribute remote.js reads.
func (v remoteView) PeopleJSON() string {
	b, _ := json.Marshal(v.People)
	return string(b)
}

func (c *Console) remoteView(ctx context.Context, a desk.Actor, ss desk.Session, dir *directory) remoteView {
	v := remoteView{Enabled: c.remote != nil, Me: a.UserID, Owner: ss.Owner == a.UserID, Device: ss.Device}
	if c.remote == nil {
		return v
	}
	rights := desk.RightsIn(a, ss)
	v.Viewer, v.Control, v.Files = rights.View, rights.Control, rights.Files
	if !v.Viewer {
		return v
	}
	v.Controller = c.remote.Controller(ctx, ss)
	for _, id := range append([]uint64{ss.Owner}, ss.Collaborators...) {
		v.People = append(v.People, person{id, dir.techName(id)})
	}
	v.Sharing = c.remote.Sharing(ss.ID)
	v.Stats, _ = c.remote.Stats(ss.ID)
	return v
}

// maxOffer bounds a WebRTC offer.
const maxOffer = 64 << 10

// readSDP reads {"sdp": "..."} from a fetch.
func readSDP(r *http.Request) (sdp string, wireVersion int, err error) {
	var body struct {
		SDP  string `json:"sdp"`
		Wire int    `json:"wire"` // the wire version a viewer's page draws
	}
	err = web.ReadJSON(r, maxOffer+1024, &body)
	if err != nil || body.SDP == "" || len(body.SDP) > maxOffer {
		return "", 0, &web.HTTPError{Code: http.StatusBadRequest, Msg: "The browser sent no usable connection offer.", Next: "Reload the page and try again."}
	}
	return body.SDP, body.Wire, nil
}

// errOldPage refuses a viewer page that draws another version of the wire
// (a tab left open across an update of the appliance): it would draw the
// screen wrong.
var errOldPage = &web.HTTPError{Code: http.StatusConflict, Msg: "This page is older than the appliance, which was updated since it was opened.",
	Next: "Reload the page to see the customer's screen."}

// remoteSession loads session id for a technician working in it.
func (c *Console) remoteSession(r *http.Request, q *req) (desk.Session, error) {
	if c.remote == nil {
		return desk.Session{}, &web.HTTPError{Code: http.StatusNotFound, Msg: "Remote control is not available on this appliance."}
	}
	id, err := pathID(r)
	if err != nil {
		return desk.Session{}, err
	}
	ss, err := c.desk.Session(r.Context(), q.Actor, id)
	if err != nil {
		return ss, err
	}
	if ss.Status != desk.Active || !desk.InSession(q.Actor.UserID, ss) {
		return ss, &web.HTTPError{Code: http.StatusForbidden, Msg: "Only technicians working in an active session can see the customer's screen.",
			Next: "Accept the session, or ask its owner to invite you."}
	}
	return ss, nil
}

// engineError explains an error of the engines; their text stays in the
// log.
func engineError(err error) error {
	var he *web.HTTPError
	switch {
	case errors.As(err, &he):
		return err
	case errors.Is(err, ErrNotSharing):
		return &web.HTTPError{Code: http.StatusConflict, Msg: "The customer is not sharing a screen at the moment.",
			Next: "When they share again, this page offers it.", Err: err}
	case errors.Is(err, ErrPresentationEnded):
		return &web.HTTPError{Code: http.StatusNotFound, Msg: "That presentation has ended.", Next: "Start a new one.", Err: err}
	}
	return &web.HTTPError{Code: http.StatusBadGateway, Msg: "The media connection could not be set up.",
		Next: "Try again; if it keeps failing, the appliance's WebRTC UDP port may be blocked.", Err: err}
}

// serveOffer answers a technician's WebRTC offer for session media with
// answer: the screen through the relay, or the customer's browser share.
// serveOffer answers a WebRTC offer with answer; a viewer's (wire true)
// must say which version of the wire its page draws.
func (c *Console) serveOffer(answer func(ctx context.Context, ss desk.Session, a desk.Actor, offer string) (string, error), wired bool) handler {
	return func(w http.ResponseWriter, r *http.Request, q *req) error {
		ss, err := c.remoteSession(r, q)
		if err != nil {
			return err
		}
		offer, version, err := readSDP(r)
		if err != nil {
			return err
		}
		if wired && version != wire.Version {
			return errOldPage
		}
		sdp, err := answer(r.Context(), ss, q.Actor, offer)
		if err != nil {
			return engineError(err)
		}
		return web.WriteJSON(w, http.StatusOK, map[string]string{"sdp": sdp})
	}
}

func (c *Console) viewerAnswer(ctx context.Context, ss desk.Session, a desk.Actor, offer string) (string, error) {
	return c.remote.Viewer(ctx, ss, a, offer)
}

func (c *Console) shareAnswer(ctx context.Context, ss desk.Session, a desk.Actor, offer string) (string, error) {
	return c.remote.WatchShare(ctx, ss.ID, a.UserID, offer)
}

// serveControl hands control of the customer's screen to a technician in
// the session (or to nobody). The desk decides (only the owner, only to a
// technician whose permissions allow control) and writes the trail; the
// relay then holds the new controller.
func (c *Console) serveControl(w http.ResponseWriter, r *http.Request, q *req) error {
	ss, err := c.remoteSession(r, q)
	if err != nil {
		return err
	}
	var body struct {
		Viewer uint64 `json:"viewer"`
	}
	if err := web.ReadJSON(r, 1024, &body); err != nil {
		return &web.HTTPError{Code: http.StatusBadRequest, Msg: "Say who gets control.", Next: "Choose a technician of the session."}
	}
	ss, err = c.desk.HandControl(r.Context(), q.Actor, ss.ID, body.Viewer)
	switch {
	case errors.Is(err, desk.ErrNoControlRight):
		return &web.HTTPError{Code: http.StatusForbidden, Msg: "That technician's permissions are view only, so they cannot take control.",
			Next: "Choose someone else, or ask an administrator for their remote-control permission.", Err: err}
	case errors.Is(err, desk.ErrForbidden):
		return &web.HTTPError{Code: http.StatusForbidden, Msg: "Only the session's owner can hand control to someone else.", Err: err}
	case err != nil:
		return err
	}
	c.remote.SetController(ss, body.Viewer)
	// The desk announced the hand-over at its commit, perhaps before the
	// relay knew: announce again so every console reads the new controller.
	c.desk.Announce(bus.SessionControl, ss)
	return web.WriteJSON(w, http.StatusOK, map[string]uint64{"controller": body.Viewer})
}

func (c *Console) servePresent(w http.ResponseWriter, r *http.Request, q *req) error {
	if c.remote == nil {
		return &web.HTTPError{Code: http.StatusNotFound, Msg: "Presentations are not available on this appliance."}
	}
	p, err := c.remote.Present(r.Context(), q.Actor)
	if err != nil {
		return engineError(err)
	}
	return web.WriteJSON(w, http.StatusCreated, p)
}

func (c *Console) servePresentPublish(w http.ResponseWriter, r *http.Request, q *req) error {
	if c.remote == nil {
		return &web.HTTPError{Code: http.StatusNotFound, Msg: "Presentations are not available on this appliance."}
	}
	offer, _, err := readSDP(r)
	if err != nil {
		return err
	}
	answer, err := c.remote.PublishPresentation(r.Context(), r.PathValue("id"), q.Actor, offer)
	if err != nil {
		return engineError(err)
	}
	return web.WriteJSON(w, http.StatusOK, map[string]string{"sdp": answer})
}

func (c *Console) servePresentStop(w http.ResponseWriter, r *http.Request, q *req) error {
	if c.remote == nil {
		return &web.HTTPError{Code: http.StatusNotFound, Msg: "Presentations are not available on this appliance."}
	}
	if err := c.remote.StopPresentation(r.Context(), r.PathValue("id"), q.Actor); err != nil {
		return engineError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
