// Package admin serves /login, the site administration: the dashboard every
// site user lands on, the service desk's configuration (channels, teams,
// technician profiles with roles and permissions, issue types, public
// sites) and its audit log; users and the first-run setup come from account.
//
// Every route asks desk.Authorize, directly or through the desk method it
// calls, for the signed-in person's desk.Actor; the navigation hides what
// that person cannot open, and the server refuses it whatever a page shows.
package admin

import (
	"embed"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboardhq/switchboard/appliance/account"
	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/samlsp"
	"github.com/switchboardhq/switchboard/appliance/web"
)

//go:embed templates/*.html
var templates embed.FS

// Admin is the /login surface.
type Admin struct {
	area *account.Area
	auth *auth.Service
	desk *desk.Service
	// sso is nil when single sign-on is off (unit tests without it).
	sso *samlsp.Service
	// ssoTries limits technicians' sign-ins started and answers posted
	// per source.
	ssoTries *web.Limiter
}

// New returns the surface over the site realm's account area.
func New(area *account.Area, svc *auth.Service, d *desk.Service) *Admin {
	return &Admin{area: area, auth: svc, desk: d, ssoTries: web.NewLimiter(20, 3*time.Second)}
}

// maxUpload bounds the body of the technician form, which carries a photo
// of up to desk.MaxPhoto: larger photos get a message next to the field.
const maxUpload = 4*desk.MaxPhoto + 64<<10

// maxSiteBody bounds the site form, which may carry a logo.
const maxSiteBody = 2*desk.MaxLogoBytes + 64<<10

// Routes registers the surface's pages and its navigation.
func (a *Admin) Routes(rt *web.Router) {
	// A new account gets a technician profile with the role's defaults, so
	// it appears in the public technician list and can be routed to.
	a.area.OnUserCreated(func(r *http.Request, who *account.Who, u auth.User) error {
		actor, err := a.actor(r, who)
		if err != nil {
			return err
		}
		name := displayName(u)
		_, err = a.desk.SaveTechnician(r.Context(), actor, desk.Technician{UserID: u.ID, PrivateName: name, PublicName: name}, u.Role)
		return err
	})
	// A disabled account leaves the public technician list.
	a.area.OnUserDisabled(func(r *http.Request, who *account.Who, id uint64) error {
		actor, err := a.actor(r, who)
		if err != nil {
			return err
		}
		t, err := a.desk.Technician(r.Context(), id)
		if errors.Is(err, desk.ErrNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		t.Availability = desk.Away
		_, err = a.desk.SaveTechnician(r.Context(), actor, t, "")
		return err
	})
	// A deleted account takes its technician profile with it.
	a.area.OnUserDeleted(func(r *http.Request, who *account.Who, id uint64) error {
		actor, err := a.actor(r, who)
		if err != nil {
			return err
		}
		if err := a.desk.DeleteTechnician(r.Context(), actor, id); err != nil && !errors.Is(err, desk.ErrNotFound) {
			return err
		}
		return nil
	})
	// Sign-ins, failures, sign-outs and account changes go to the audit log.
	a.area.OnEvent(func(r *http.Request, ev account.Event) error {
		rec := desk.AccountRecord{Action: string(ev.Action), UserID: ev.User.ID, Name: ev.User.Username, Source: ev.Source}
		if ev.By != nil && ev.By.User.ID != ev.User.ID {
			actor, err := a.actor(r, ev.By)
			if err != nil {
				return err
			}
			rec.By = actor
		}
		if ev.SecondFactor {
			rec.Note = "With a code from an authenticator app."
		}
		if ev.Via != "" {
			rec.Note = "Through single sign-on (" + ev.Via + ")."
		}
		return a.desk.RecordAccount(r.Context(), rec)
	})
	rt.Pages().MustAdd(templates, "templates/*.html")
	all := func(*http.Request, *account.Who) bool { return true }
	a.area.AddNavFunc("Dashboard", "/login/dashboard", all)
	a.area.AddNavFunc("Channels", "/login/channels", a.can(desk.ActViewAdmin))
	a.area.AddNavFunc("Issue types", "/login/issue-types", a.can(desk.ActViewAdmin))
	a.area.AddNavFunc("Teams", "/login/teams", a.can(desk.ActManageTeams))
	a.area.AddNavFunc("Technicians", "/login/technicians", a.can(desk.ActManageUsers))
	a.area.AddNav("Users", "/login/users", true)
	a.area.AddNavFunc("Public sites", "/login/sites", a.can(desk.ActManageSites))
	a.area.AddNavFunc("Audit log", "/login/audit", a.can(desk.ActViewAudit))
	a.area.AddNavFunc("Console", "/console", all)
	a.area.AddNavFunc("My account", "/login/account", all)

	rt.Handle("GET /login/dashboard", a.area.Require(false, a.serveDashboard))

	rt.Handle("GET /login/channels", a.guard("", a.serveChannels))
	rt.Handle("GET /login/channels/new", a.guard(desk.ActCreateChannel, a.serveChannelNew))
	rt.Handle("POST /login/channels", a.guard(desk.ActCreateChannel, a.serveChannelSave))
	rt.Handle("GET /login/channels/{id}", a.guard("", a.serveChannel))
	rt.Handle("POST /login/channels/{id}", a.guard("", a.serveChannelSave))
	rt.Handle("POST /login/channels/{id}/delete", a.guard(desk.ActDeleteChannel, a.serveChannelDelete))

	rt.Handle("GET /login/issue-types", a.guard("", a.serveIssueTypes))
	rt.Handle("GET /login/issue-types/new", a.guard("", a.serveIssueTypeNew))
	rt.Handle("POST /login/issue-types", a.guard("", a.serveIssueTypeSave))
	rt.Handle("GET /login/issue-types/{id}", a.guard("", a.serveIssueType))
	rt.Handle("POST /login/issue-types/{id}", a.guard("", a.serveIssueTypeSave))
	rt.Handle("POST /login/issue-types/{id}/delete", a.guard("", a.serveDelete(a.desk.DeleteIssueType, "/login/issue-types")))

	rt.Handle("GET /login/teams", a.guard(desk.ActManageTeams, a.serveTeams))
	rt.Handle("GET /login/teams/new", a.guard(desk.ActManageTeams, a.serveTeamNew))
	rt.Handle("POST /login/teams", a.guard(desk.ActManageTeams, a.serveTeamSave))
	rt.Handle("GET /login/teams/{id}", a.guard(desk.ActManageTeams, a.serveTeam))
	rt.Handle("POST /login/teams/{id}", a.guard(desk.ActManageTeams, a.serveTeamSave))
	rt.Handle("POST /login/teams/{id}/delete", a.guard(desk.ActManageTeams, a.serveDelete(a.desk.DeleteTeam, "/login/teams")))

	rt.Handle("GET /login/technicians", a.guard(desk.ActManageUsers, a.serveTechnicians))
	rt.Handle("GET /login/technicians/{id}", a.guard(desk.ActManageUsers, a.serveTechnician))
	rt.HandleUpload("POST /login/technicians/{id}", maxUpload, a.guard(desk.ActManageUsers, a.serveTechnicianSave))
	rt.Handle("POST /login/technicians/{id}/delete", a.guard(desk.ActManageUsers, a.serveDelete(a.desk.DeleteTechnician, "/login/technicians")))
	rt.Handle("GET /login/technicians/{id}/photo", a.guard(desk.ActManageUsers, a.serveTechnicianPhoto))

	rt.Handle("GET /login/sites", a.guard(desk.ActManageSites, a.serveSites))
	rt.Handle("GET /login/sites/new", a.guard(desk.ActManageSites, a.serveSiteNew))
	rt.HandleUpload("POST /login/sites", maxSiteBody, a.guard(desk.ActManageSites, a.serveSiteSave))
	rt.Handle("GET /login/sites/{id}", a.guard(desk.ActManageSites, a.serveSite))
	rt.HandleUpload("POST /login/sites/{id}", maxSiteBody, a.guard(desk.ActManageSites, a.serveSiteSave))
	rt.Handle("POST /login/sites/{id}/delete", a.guard(desk.ActManageSites, a.serveDelete(a.deleteSite, "/login/sites")))

	rt.Handle("GET /login/audit", a.guard(desk.ActViewAudit, a.serveAudit))
	a.ssoRoutes(rt)
	a.announcementRoutes(rt)
	a.profileRoutes(rt)
}

// render renders the page name of the surface.
func (a *Admin) render(w http.ResponseWriter, r *http.Request, status int, name string, v web.View) error {
	return a.area.Render(w, r, status, name, v)
}

type dashboard struct {
	KeyAlert time.Time
	// Attacks are accounts sprayed with wrong passwords from many places.
	Attacks []auth.Attack
	Admin   bool
	Users   int
	TOTP    bool
	Cards   []card
}

// card is a tile of the dashboard leading to one part of the desk.
type card struct {
	ID, Title, Text, Href, Action string
}

func (a *Admin) serveDashboard(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	ctx := r.Context()
	d := dashboard{Admin: who.Admin(), TOTP: who.User.HasTOTP()}
	if d.Admin {
		// Someone spent the box-wide budget of wrong session keys.
		if alerts := a.desk.KeyAlerts(); len(alerts) > 0 {
			d.KeyAlert = alerts[0]
		}
		d.Attacks = a.auth.SignInAttacks(auth.Site)
		users, err := a.auth.Users(ctx, auth.Site)
		if err != nil {
			return err
		}
		d.Users = len(users)
	}
	actor, err := a.actor(r, who)
	if err != nil {
		return err
	}
	if desk.Can(actor, desk.ActViewAdmin, desk.Scope{}) {
		chans, err := a.desk.Channels(ctx, actor)
		if err != nil {
			return err
		}
		text := plural(len(chans), "channel") + " with their own queues."
		if actor.Role == desk.RoleChannelManager {
			text = "You manage " + plural(len(chans), "channel") + "."
		}
		d.Cards = append(d.Cards,
			card{"channels", "Channels", text, "/login/channels", "Open channels"},
			card{"issues", "Issue types", "What customers choose in the survey, and the channel each one routes to.", "/login/issue-types", "Open issue types"})
	}
	if desk.Can(actor, desk.ActManageTeams, desk.Scope{}) {
		teams, err := a.desk.Teams(ctx)
		if err != nil {
			return err
		}
		d.Cards = append(d.Cards, card{"teams", "Teams", plural(len(teams), "team") + " of technicians, with their leads and managers.", "/login/teams", "Open teams"})
	}
	if desk.Can(actor, desk.ActManageUsers, desk.Scope{}) {
		d.Cards = append(d.Cards, card{"techs", "Technicians", "Names customers see, display order, photos, roles and permissions.", "/login/technicians", "Open technicians"})
	}
	if desk.Can(actor, desk.ActManageSites, desk.Scope{}) {
		sites, err := a.desk.Sites(ctx)
		if err != nil {
			return err
		}
		d.Cards = append(d.Cards, card{"sites", "Public sites", plural(len(sites), "public site") + " where customers ask for help.", "/login/sites", "Open public sites"})
	}
	if desk.Can(actor, desk.ActViewAudit, desk.Scope{}) {
		d.Cards = append(d.Cards, card{"audit", "Audit log", "Every change to the desk: who, when, before and after.", "/login/audit", "Open the audit log"})
	}
	if desk.CanAnnounce(actor) {
		d.Cards = append(d.Cards, card{"announcements", "Important messages", "Messages at the top of the public sites' pages, such as an outage; customers already waiting see them at once.", "/login/announcements", "Open important messages"})
	}
	// Security has no menu entry (the menu must fit one row); its card is
	// the way in, for administrators only.
	if a.sso != nil && who.Admin() {
		d.Cards = append(d.Cards, card{"security", "Security", "Technicians' sign-in with your identity provider (SAML single sign-on).", "/login/security", "Open security"})
	}
	v := a.area.View(r, who, "Dashboard")
	v.Data = d
	return a.render(w, r, http.StatusOK, "dashboard.html", v)
}

// plural is "1 channel", "2 channels".
func plural(n int, unit string) string {
	s := strconv.Itoa(n) + " " + unit
	if n != 1 {
		s += "s"
	}
	return s
}
