// Package portal serves the public site: the page customers open to ask for
// help (technician list, session key, issue survey, SOS Call links) and the
// customer session page.
package portal

import (
	"embed"
	"net/http"

	"github.com/switchboardhq/switchboard/appliance/web"
)

//go:embed templates/*.html
var templates embed.FS

// Portal is the public site.
type Portal struct {
	pages *web.Pages
}

// New returns the public site.
func New() *Portal { return &Portal{} }

// Routes registers the public pages.
func (p *Portal) Routes(rt *web.Router) {
	p.pages = rt.Pages()
	p.pages.MustAdd(templates, "templates/*.html")
	rt.Handle("GET /{$}", p.serveHome)
}

func (p *Portal) serveHome(w http.ResponseWriter, r *http.Request) error {
	return p.pages.Render(w, r, http.StatusOK, "home.html", web.View{Title: "Get help", Surface: "Support"})
}
