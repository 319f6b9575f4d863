// Package portal serves the public site: the page customers open to ask for
// help (technician list, session key, issue survey, SOS Call links) and the
// customer session page.
package portal

import (
	"embed"
	"log/slog"
	"net/http"

	"github.com/switchboardhq/switchboard/appliance/bus"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

//go:embed templates/*.html
var templates embed.FS

// Portal is the public site.
type Portal struct {
	pages *web.Pages
	rt    *web.Router
	desk  *desk.Service
	bus   *bus.Bus
	log   *slog.Logger
}

// New returns the public site.
func New(d *desk.Service, b *bus.Bus, log *slog.Logger) *Portal {
	return &Portal{desk: d, bus: b, log: log}
}

// Routes registers the public pages.
func (p *Portal) Routes(rt *web.Router) {
	p.pages, p.rt = rt.Pages(), rt
	p.pages.MustAdd(templates, "templates/*.html")
	rt.Handle("GET /{$}", p.serveHome)
}

func (p *Portal) serveHome(w http.ResponseWriter, r *http.Request) error {
	return p.pages.Render(w, r, http.StatusOK, "home.html", web.View{Title: "Get help", Surface: "Support"})
}
