// Package console serves /console, the technician's web console: the live
// queues of the technician's personal queue and of the channels it serves,
// the session page with chat, transfer and collaboration, the tools that
// start sessions (session keys, support links, SOS Call links, classic SOS
// codes), availability, and the history of finished sessions. Only
// signed-in site users reach it.
//
// Every page works without JavaScript; console.js keeps the queues live
// over /console/events (server-sent events) and posts chat with fetch.
// Every action goes through a desk method, which authorizes it for the
// technician's desk.Actor whatever the page showed.
package console

import (
	"embed"
	"log/slog"
	"net/http"
	"time"

	"github.com/switchboardhq/switchboard/appliance/account"
	"github.com/switchboardhq/switchboard/appliance/bus"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

//go:embed templates/*.html
var templates embed.FS

// Console is the /console surface.
type Console struct {
	area *account.Area
	desk *desk.Service
	bus  *bus.Bus
	log  *slog.Logger
	// now is the clock of ages; heartbeat the idle interval of the event
	// stream (tests shorten it).
	now       func() time.Time
	heartbeat time.Duration
	// remote is nil when the engines are not running (unit tests).
	remote Remote
	// streams bounds the live event streams per technician and in all.
	streams *web.Slots
}

// Live event streams: per technician (consoles open in several tabs and
// browsers) and box-wide.
const (
	maxStreams    = 8
	maxAllStreams = 2000
)

// New returns the console over the site realm's account area.
func New(area *account.Area, d *desk.Service, b *bus.Bus, log *slog.Logger) *Console {
	return &Console{area: area, desk: d, bus: b, log: log, now: time.Now, heartbeat: Heartbeat,
		streams: &web.Slots{PerKey: maxStreams, Total: maxAllStreams}}
}

// Routes registers the console's pages.
func (c *Console) Routes(rt *web.Router) {
	rt.Pages().MustAdd(templates, "templates/*.html")

	rt.Handle("GET /console", c.guard(c.serveConsole))
	rt.Handle("GET /console/state", c.guard(c.serveState))
	rt.Handle("GET /console/events", c.guard(c.serveEvents))
	rt.Handle("POST /console/next", c.guard(c.serveNext))

	rt.Handle("POST /console/availability", c.guard(c.serveAvailability))
	rt.Handle("POST /console/keys", c.guard(c.serveKey))
	rt.Handle("POST /console/links", c.guard(c.serveLink))
	rt.Handle("POST /console/ios-keys", c.guard(c.serveIOSKey))
	rt.Handle("POST /console/claim", c.guard(c.serveClaim))
	rt.Handle("POST /console/sos", c.guard(c.serveSOSCreate))
	rt.Handle("POST /console/sos/{id}/{action}", c.guard(c.serveSOSAction))

	rt.Handle("GET /console/sessions/{id}", c.guard(c.serveSession))
	rt.Handle("GET /console/sessions/{id}/state", c.guard(c.serveSessionState))
	rt.Handle("POST /console/sessions/{id}/accept", c.guard(c.serveAccept))
	rt.Handle("POST /console/sessions/{id}/chat", c.guard(c.serveChat))
	rt.Handle("POST /console/sessions/{id}/typing", c.guard(c.serveTyping))
	rt.Handle("POST /console/sessions/{id}/transfer", c.guard(c.serveTransfer))
	rt.Handle("POST /console/sessions/{id}/invite", c.guard(c.serveInvite))
	rt.Handle("POST /console/sessions/{id}/leave", c.guard(c.serveLeave))
	rt.Handle("POST /console/sessions/{id}/close", c.guard(c.serveClose))

	rt.Handle("POST /console/sessions/{id}/rtc", c.guard(c.serveOffer(c.viewerAnswer, true)))
	rt.Handle("POST /console/sessions/{id}/control", c.guard(c.serveControl))
	rt.Handle("POST /console/sessions/{id}/share/watch", c.guard(c.serveOffer(c.shareAnswer, false)))
	rt.Handle("POST /console/present", c.guard(c.servePresent))
	rt.Handle("POST /console/present/{id}/publish", c.guard(c.servePresentPublish))
	rt.Handle("POST /console/present/{id}/stop", c.guard(c.servePresentStop))

	rt.Handle("GET /console/history", c.guard(c.serveHistory))
	rt.Handle("GET /console/history/{id}", c.guard(c.serveRecord))
}

// view is the base view of a console page.
func (c *Console) view(r *http.Request, q *req, title string) web.View {
	v := c.area.View(r, q.Who, title)
	v.Surface = "Technician console"
	v.Home = "/console"
	v.Nav = []web.NavLink{
		{Label: "Queues", Href: "/console", Current: r.URL.Path == "/console"},
		{Label: "History", Href: "/console/history", Current: r.URL.Path == "/console/history"},
	}
	if desk.Can(q.Actor, desk.ActViewAdmin, desk.Scope{}) {
		v.Nav = append(v.Nav, web.NavLink{Label: "Administration", Href: "/login/dashboard"})
	}
	v.Nav = append(v.Nav, web.NavLink{Label: "My account", Href: "/login/account"})
	v.Errors = web.FieldErrors{}
	return v
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, v web.View) error {
	return c.area.Render(w, r, status, name, v)
}
