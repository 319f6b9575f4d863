package portal

import (
	"errors"
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/i18n"
	"net/http"
	"time"

	"github.com/switchboardhq/switchboard/appliance/bus"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// state is what the customer page shows, as HTML and as JSON for portal.js.
type state struct {
	Status     desk.Status    `json:"status"`
	Label      string         `json:"label"` // the state's one name (desk.Session.Label)
	Headline   string         `json:"headline"`
	Detail     string         `json:"detail"`
	Position   int            `json:"position,omitempty"`
	WaitMins   int            `json:"wait_minutes,omitempty"`
	Technician string         `json:"technician,omitempty"`
	Code       string         `json:"code,omitempty"`
	Ended      bool           `json:"ended"`
	NeedsAgree bool           `json:"needs_agreement"`
	Messages   []desk.Message `json:"messages"`
	// Notices are the site's important messages shown now.
	Notices []web.Notice `json:"notices"`
}

func (p *Portal) state(r *http.Request, site desk.Site, ss desk.Session) (state, error) {
	lang := p.lang(r, site)
	st := state{Status: ss.Status, Label: i18n.T(lang, ss.Label()), Ended: !ss.Open(), NeedsAgree: ss.AwaitingAgreement(), Notices: p.notices(r, lang, site)}
	switch ss.Status {
	case desk.Waiting, desk.Ready:
		pos, wait, err := p.desk.Position(r.Context(), ss.ID)
		if err != nil {
			return st, err
		}
		st.Position, st.WaitMins = pos, int((wait+time.Minute-1)/time.Minute)
		st.Headline = i18n.T(lang, "You are in the queue")
		st.Detail = i18n.T(lang, "You are number %d. Estimated wait: about %d min. Keep this page open.", pos, st.WaitMins)
		if ss.Queue == (desk.Queue{Kind: desk.QueueTechnician}) {
			if c, ok := desk.NormalizeKey(web.Cookie(r, codeCookie)); ok {
				st.Code = c
			}
			st.Headline = i18n.T(lang, "Read this code to your technician")
			st.Detail = i18n.T(lang, "A technician will enter it to take your request. Keep this page open.")
		}
	case desk.Active:
		st.Headline = i18n.T(lang, "A technician is helping you")
		if t, err := p.desk.Technician(r.Context(), ss.Owner); err == nil {
			st.Technician = t.PublicName
			st.Headline = i18n.T(lang, "%s is helping you", t.PublicName)
		}
		st.Detail = i18n.T(lang, "Chat with your technician below.")
	case desk.Closed:
		st.Headline, st.Detail = i18n.T(lang, "This session has ended"), i18n.T(lang, "Thank you. Start a new session from the home page if you need more help.")
	case desk.Expired:
		st.Headline, st.Detail = i18n.T(lang, "This session has ended"), i18n.T(lang, "Nobody could take your request in time. Start a new session from the home page to try again.")
	}
	msgs, err := p.desk.Messages(r.Context(), ss.ID, 0)
	st.Messages = msgs
	return st, err
}

type sessionData struct {
	Site desk.Site
	// Agreement is the site's agreement in the page's language.
	Agreement string
	State     state
	Draft     string
	// Platforms are the support app builds, the customer's system first;
	// App is what the support app reported (nil before it connected).
	Platforms []Platform
	// ForThisSystem: the first platform is the customer's and its app
	// shares the screen there, so it is offered as the one to download.
	ForThisSystem bool
	App           *desk.Device
}

func (p *Portal) renderSession(w http.ResponseWriter, r *http.Request, status int, ss desk.Session, draft string, fe web.FieldErrors) error {
	site := p.site(r.Context(), r)
	st, err := p.state(r, site, ss)
	if err != nil {
		return err
	}
	v := p.view(r, site, st.Headline)
	v.Errors = fe
	data := sessionData{Site: site, Agreement: site.Localized(v.Lang).Agreement, State: st, Draft: draft, App: ss.Device}
	if p.remote != nil && ss.Open() {
		data.Platforms, data.ForThisSystem = platformFor(r, p.remote.Platforms())
	}
	v.Data = data
	return p.pages.Render(w, r, status, "session.html", v)
}

func (p *Portal) renderEnded(w http.ResponseWriter, r *http.Request, site desk.Site, ss desk.Session) error {
	return p.renderSession(w, r, http.StatusOK, ss, "", nil)
}

// current returns the customer's session or a page saying there is none.
func (p *Portal) current(r *http.Request) (desk.Session, error) {
	ss, _, err := p.customer(r)
	if errors.Is(err, desk.ErrNotFound) {
		return ss, web.Error(http.StatusNotFound, "You have no support session in this browser.", "Start one from the home page.")
	}
	return ss, err
}

func (p *Portal) serveSession(w http.ResponseWriter, r *http.Request) error {
	ss, err := p.current(r)
	if err != nil {
		return err
	}
	return p.renderSession(w, r, http.StatusOK, ss, "", nil)
}

func (p *Portal) serveState(w http.ResponseWriter, r *http.Request) error {
	ss, err := p.current(r)
	if err != nil {
		return err
	}
	st, err := p.state(r, p.site(r.Context(), r), ss)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, st)
}

// serveEvents streams a tick whenever the customer's session changes or
// someone chats or types; portal.js then fetches /session/state.
func (p *Portal) serveEvents(w http.ResponseWriter, r *http.Request) error {
	ss, err := p.current(r)
	if err != nil {
		return err
	}
	release, err := p.streams.Acquire(ss.ID)
	switch {
	case errors.Is(err, web.ErrKeyFull):
		return web.Error(http.StatusTooManyRequests, "This session is already open in several windows.", "Close the other windows, then reload this page.")
	case err != nil:
		return web.Error(http.StatusServiceUnavailable, "The support site is very busy right now.", "Wait a minute, then reload this page. Your place in the queue is kept.")
	}
	defer release()
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Time{}) // the stream outlives the server's read timeout
	sub := p.bus.Subscribe(func(e bus.Event) bool {
		return e.Session == ss.ID || (e.Kind == bus.SiteAnnouncements && e.Data == ss.Site)
	}, 32)
	defer sub.Close()
	flush := func() error {
		// A customer that stops reading is dropped, not waited for.
		rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		return rc.Flush()
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "event: state\ndata: {}\n\n")
	if err := flush(); err != nil {
		return nil
	}
	heartbeat := time.NewTicker(15 * time.Second)
	defer heartbeat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return nil
		case <-heartbeat.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case e, ok := <-sub.C:
			if !ok {
				return nil
			}
			kind := "state"
			if e.Kind == bus.ChatTyping {
				if m, ok := e.Data.(map[string]string); ok && m["from"] == "customer" {
					continue // the customer's own typing
				}
				kind = "typing"
			}
			fmt.Fprintf(w, "event: %s\ndata: {}\n\n", kind)
		}
		if err := flush(); err != nil {
			return nil
		}
	}
}

func (p *Portal) serveAgree(w http.ResponseWriter, r *http.Request) error {
	ss, err := p.current(r)
	if err != nil {
		return err
	}
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	if form.Get("answer") != "agree" {
		if _, err := p.desk.CustomerLeft(r.Context(), ss.ID); err != nil && !errors.Is(err, desk.ErrState) {
			return err
		}
		return web.Redirect(w, r, "/session")
	}
	if _, err := p.desk.CustomerAgreed(r.Context(), ss.ID); err != nil && !errors.Is(err, desk.ErrState) {
		return err
	}
	return web.Redirect(w, r, "/session")
}

func (p *Portal) serveChat(w http.ResponseWriter, r *http.Request) error {
	ss, err := p.current(r)
	if err != nil {
		return err
	}
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	text := form.Get("text")
	// Per session, and per network across its sessions.
	ok, retry := p.chat.Allow(fmt.Sprint("chat ", ss.ID))
	if ok {
		ok, retry = p.chatSource.Allow(p.source(r))
	}
	if !ok {
		if r.Header.Get(web.CSRFHeader) != "" {
			return web.TooMany(retry)
		}
		return p.renderSession(w, r, http.StatusTooManyRequests, ss, text, web.FieldErrors{"text": "You are sending messages very fast. Wait a moment, then press Send again."})
	}
	_, err = p.desk.CustomerSays(r.Context(), ss, text)
	fetch := r.Header.Get(web.CSRFHeader) != ""
	switch {
	case err == nil:
		if fetch {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		return web.Redirect(w, r, "/session#chat")
	case errors.Is(err, desk.ErrState):
		return deskError(err)
	}
	fe, ok := fieldErrors(err)
	if !ok {
		return err
	}
	if fetch {
		return web.Error(http.StatusUnprocessableEntity, fe["text"], "Change the message and send it again.")
	}
	// Keep what the customer typed.
	return p.renderSession(w, r, http.StatusUnprocessableEntity, ss, text, fe)
}

func (p *Portal) serveTyping(w http.ResponseWriter, r *http.Request) error {
	ss, err := p.current(r)
	if err != nil {
		return err
	}
	if ok, _ := p.typing.Allow(fmt.Sprint("typing ", ss.ID)); ok && ss.Open() {
		p.desk.Typing(ss, "customer")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (p *Portal) serveLeave(w http.ResponseWriter, r *http.Request) error {
	ss, err := p.current(r)
	if err != nil {
		return err
	}
	if _, err := p.desk.CustomerLeft(r.Context(), ss.ID); err != nil && !errors.Is(err, desk.ErrState) {
		return err
	}
	return web.Redirect(w, r, "/session")
}

// Live streams: per customer session (its windows) and box-wide.
const (
	maxStreams    = 4
	maxAllStreams = 5000
)
