// Package console serves /console, the technician's web console: the queues
// of the technician's channels and personal queue, sessions, chat and
// remote control. Only signed-in site users reach it.
package console

import (
	"embed"
	"log/slog"
	"net/http"

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
}

// New returns the console over the site realm's account area.
func New(area *account.Area, d *desk.Service, b *bus.Bus, log *slog.Logger) *Console {
	return &Console{area: area, desk: d, bus: b, log: log}
}

// Routes registers the console's pages.
func (c *Console) Routes(rt *web.Router) {
	rt.Pages().MustAdd(templates, "templates/*.html")
	rt.Handle("GET /console", c.area.Require(false, c.serveConsole))
}

func (c *Console) serveConsole(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	v := c.area.View(r, who, "Console")
	v.Surface = "Technician console"
	return c.area.Render(w, r, http.StatusOK, "console.html", v)
}
