// Package admin serves /login, the site administration: the dashboard every
// site user lands on, and (through account) users and the first-run setup.
// Service-desk configuration (channels, teams, roles) is added here.
package admin

import (
	"embed"
	"net/http"

	"github.com/switchboardhq/switchboard/appliance/account"
	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

//go:embed templates/*.html
var templates embed.FS

// Admin is the /login surface.
type Admin struct {
	area *account.Area
	auth *auth.Service
	desk *desk.Service
}

// New returns the surface over the site realm's account area.
func New(area *account.Area, svc *auth.Service, d *desk.Service) *Admin {
	return &Admin{area: area, auth: svc, desk: d}
}

// Routes registers the surface's pages and its navigation.
func (a *Admin) Routes(rt *web.Router) {
	rt.Pages().MustAdd(templates, "templates/*.html")
	a.area.AddNav("Dashboard", "/login/dashboard", false)
	a.area.AddNav("Users", "/login/users", true)
	a.area.AddNav("Console", "/console", false)
	a.area.AddNav("My account", "/login/account", false)
	rt.Handle("GET /login/dashboard", a.area.Require(false, a.serveDashboard))
}

type dashboard struct {
	Admin bool
	Users int
	TOTP  bool
}

func (a *Admin) serveDashboard(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	d := dashboard{Admin: who.Admin(), TOTP: who.User.HasTOTP()}
	if d.Admin {
		users, err := a.auth.Users(r.Context(), auth.Site)
		if err != nil {
			return err
		}
		d.Users = len(users)
	}
	v := a.area.View(r, who, "Dashboard")
	v.Data = d
	return a.area.Render(w, r, http.StatusOK, "dashboard.html", v)
}
