package portal

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/appliance/clients"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// Stamp is what a support app download carries besides its token: the
// host name the browser reached (the app dials it), the language of the
// customer's page and the site's name (the app's texts and window title).
type Stamp struct{ Host, Lang, Site string }

// Remote is what the public site needs from the remote-control engines;
// the appliance adapts the support app builds, the relay and the WebRTC
// gateway to it.
type Remote interface {
	// Platforms lists the support app builds this box can hand out.
	Platforms() []Platform
	// Client reserves a download of platform for session, stamped with the
	// token that issue makes (called only once the download has its slot)
	// and the box's address (host, as the customer's browser reached it).
	Client(session uint64, platform string, to Stamp, issue func() (string, error)) (*clients.Download, error)
	// Share answers the WebRTC offer of a customer's browser sharing its
	// screen (view only) in session.
	Share(ctx context.Context, ss desk.Session, offer string) (string, error)
	// JoinPresentation answers an attendee's offer for the presentation
	// with key (9 digits) or link token.
	JoinPresentation(ctx context.Context, key, offer string) (string, error)
}

// Platform is one support app build.
type Platform = clients.Platform

// ErrNotPresenting answers a presentation key nobody presents with.
var ErrNotPresenting = errors.New("no presentation with this key is running")

// ErrNotStarted answers a key whose presenter has not shared a screen yet.
var ErrNotStarted = errors.New("the presentation has not started yet")

// WithRemote gives the public site its remote-control engines.
func (p *Portal) WithRemote(r Remote) *Portal { p.remote = r; return p }

// platformFor orders the platforms so the one the browser runs on comes
// first, and says whether the app offered first shares the screen there
// (a Mac's does not yet: the page then offers no build as the one for
// the customer's system).
func platformFor(r *http.Request, ps []Platform) ([]Platform, bool) {
	ua := r.Header.Get("User-Agent")
	want := "linux-amd64"
	switch {
	case strings.Contains(ua, "Windows"):
		want = "windows-amd64"
	case strings.Contains(ua, "Macintosh"):
		want = "darwin-arm64"
	case strings.Contains(ua, "aarch64"), strings.Contains(ua, "arm64"):
		want = "linux-arm64"
	}
	out := make([]Platform, 0, len(ps))
	first := false
	for _, p := range ps {
		if p.ID == want {
			out = append([]Platform{p}, out...)
			first = p.Shares
		} else {
			out = append(out, p)
		}
	}
	return out, first
}

// serveClient hands out the support app stamped with a fresh one-time
// token for the customer's session.
func (p *Portal) serveClient(w http.ResponseWriter, r *http.Request) error {
	ss, err := p.current(r)
	if err != nil {
		return err
	}
	if p.remote == nil {
		return web.Error(http.StatusNotFound, "The support app is not available on this appliance.", "Ask your technician for another way to connect.")
	}
	if !ss.Open() {
		return web.Error(http.StatusConflict, "This support session has ended, so the support app would not connect.", "Start a new session from the home page.")
	}
	platform := r.PathValue("platform")
	known := false
	for _, pl := range p.remote.Platforms() {
		known = known || pl.ID == platform
	}
	if !known {
		return web.Error(http.StatusNotFound, "There is no support app for that system.", "Go back and choose one of the systems listed.")
	}
	site := p.site(r.Context(), r)
	to := Stamp{Host: r.Host, Lang: p.lang(r, site), Site: site.Title()}
	dl, err := p.remote.Client(ss.ID, platform, to, func() (string, error) { return p.desk.IssueClientToken(r.Context(), ss.ID) })
	switch {
	case errors.Is(err, clients.ErrBusy):
		w.Header().Set("Retry-After", "30")
		return web.Error(http.StatusServiceUnavailable, "Many people are downloading the support app right now.", "Wait half a minute and select the download again.")
	case errors.Is(err, clients.ErrSessionBusy):
		w.Header().Set("Retry-After", "30")
		return web.Error(http.StatusTooManyRequests, "The support app is already downloading in this browser.", "Wait for that download to finish, then open the file it saved.")
	case errors.Is(err, clients.ErrUnknownPlatform):
		return web.Error(http.StatusNotFound, "There is no support app for that system.", "Go back and choose one of the systems listed.")
	case errors.Is(err, clients.ErrMissing):
		p.log.Error("support app build missing", "platform", platform, "err", err)
		return web.Error(http.StatusServiceUnavailable, "The support app for that system is missing on this appliance.", "Tell your technician; they can connect another way.")
	case err != nil:
		return deskError(err)
	}
	if err := dl.Serve(w); err != nil {
		p.log.Info("support app download cut", "platform", platform, "err", err)
	}
	return nil
}

// jsonError answers portal.js with {"error": msg}.
func jsonError(w http.ResponseWriter, status int, msg string) error {
	return web.WriteJSON(w, status, map[string]string{"error": msg})
}

// offer is what portal.js posts: a complete WebRTC offer and, to join a
// presentation, its key or its link's token.
type offer struct {
	SDP   string `json:"sdp"`
	Key   string `json:"key"`
	Token string `json:"token"`
}

// readOffer reads an offer from a fetch.
func readOffer(r *http.Request) (offer, bool) {
	var o offer
	const maxOffer = 64 << 10
	if web.ReadJSON(r, maxOffer+1024, &o) != nil || o.SDP == "" || len(o.SDP) > maxOffer || len(o.Key) > 64 || len(o.Token) > 64 {
		return offer{}, false
	}
	return o, true
}

const badOffer = "Your browser sent no usable connection offer. Reload the page and try again."

// serveShare publishes the customer's browser screen share to the
// technicians of the session.
func (p *Portal) serveShare(w http.ResponseWriter, r *http.Request) error {
	ss, _, err := p.customer(r)
	if err != nil || p.remote == nil {
		return jsonError(w, http.StatusNotFound, "You have no support session in this browser. Start one from the home page.")
	}
	if ss.Status != desk.Active {
		return jsonError(w, http.StatusConflict, "Wait until a technician is helping you, then share your screen.")
	}
	o, ok := readOffer(r)
	if !ok {
		return jsonError(w, http.StatusBadRequest, badOffer)
	}
	answer, err := p.remote.Share(r.Context(), ss, o.SDP)
	if err != nil {
		p.log.Warn("screen share failed", "session", ss.ID, "err", err)
		return jsonError(w, http.StatusBadGateway, "The support appliance could not take your screen share. Try again in a moment.")
	}
	return web.WriteJSON(w, http.StatusOK, map[string]string{"sdp": answer})
}

// servePresent is the "join a presentation" page; /p/{token} opens it
// with the link's token filled in.
func (p *Portal) servePresent(w http.ResponseWriter, r *http.Request) error {
	site := p.site(r.Context(), r)
	if sent, err := p.admit(w, r, site, desk.MethodPresentation, r.URL.Path); sent {
		return err
	}
	v := p.view(r, site, "Join a presentation")
	v.Data = struct{ Token string }{r.PathValue("token")}
	return p.pages.Render(w, r, http.StatusOK, "present.html", v)
}

// servePresentJoin answers an attendee's offer.
func (p *Portal) servePresentJoin(w http.ResponseWriter, r *http.Request) error {
	if p.remote == nil {
		return jsonError(w, http.StatusNotFound, "Presentations are not available on this appliance.")
	}
	if site := p.site(r.Context(), r); site.NeedsPortalLogin(desk.MethodPresentation) && p.identity(r, site) == nil {
		return jsonError(w, http.StatusForbidden, "Sign in to this site first: reload the page.")
	}
	if ok, retry := p.joins.Allow(p.source(r)); !ok {
		return jsonError(w, http.StatusTooManyRequests, "Too many tries from your network. Wait "+strconv.Itoa(max(int(retry/time.Second), 1))+" seconds, then try again.")
	}
	o, ok := readOffer(r)
	if !ok {
		return jsonError(w, http.StatusBadRequest, badOffer)
	}
	key, notFound := o.Token, "This presentation link does not work any more: the presentation has ended. Ask the presenter for a new link or key."
	if o.Token == "" {
		key, notFound = o.Key, "No presentation is running with this key. Check the 9 digits with the presenter."
		if digits, ok := desk.NormalizeKey(key); ok {
			key = digits
		}
	}
	answer, err := p.remote.JoinPresentation(r.Context(), key, o.SDP)
	switch {
	case errors.Is(err, ErrNotPresenting):
		return jsonError(w, http.StatusNotFound, notFound)
	case errors.Is(err, ErrNotStarted):
		return jsonError(w, http.StatusConflict, "The presenter has not started sharing yet. Try again in a moment.")
	case err != nil:
		p.log.Warn("joining a presentation failed", "err", err)
		return jsonError(w, http.StatusBadGateway, "The presentation could not be shown. Try again in a moment.")
	}
	return web.WriteJSON(w, http.StatusOK, map[string]string{"sdp": answer})
}
