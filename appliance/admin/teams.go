package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

type teamsPage struct {
	Query string
	Rows  []teamRow
	Total int
}

type teamRow struct {
	desk.Team
	Href                 string
	Members, Leads, Mgrs []string
	Channels             []string
}

func (a *Admin) serveTeams(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	teams, err := a.desk.Teams(ctx)
	if err != nil {
		return err
	}
	dir, err := a.directory(ctx)
	if err != nil {
		return err
	}
	chans, err := a.desk.AllChannels(ctx)
	if err != nil {
		return err
	}
	d := teamsPage{Query: query(r), Total: len(teams)}
	for _, t := range teams {
		row := teamRow{Team: t, Href: fmt.Sprintf("/login/teams/%d", t.ID),
			Members: dir.names(t.Members), Leads: dir.names(t.Leads), Mgrs: dir.names(t.Managers)}
		for _, c := range chans {
			if slices.Contains(c.Teams, t.ID) {
				row.Channels = append(row.Channels, c.Name)
			}
		}
		if matches(d.Query, t.Name, strings.Join(row.Members, " "), strings.Join(row.Leads, " "), strings.Join(row.Mgrs, " "), strings.Join(row.Channels, " ")) {
			d.Rows = append(d.Rows, row)
		}
	}
	sort.SliceStable(d.Rows, func(i, j int) bool { return strings.ToLower(d.Rows[i].Name) < strings.ToLower(d.Rows[j].Name) })
	v := a.area.View(r, q.Who, "Teams")
	v.Flash = flash(r, "team")
	v.Data = d
	return a.render(w, r, http.StatusOK, "teams.html", v)
}

func teamForm(t desk.Team) url.Values {
	return url.Values{"name": {t.Name}, "members": idStrings(t.Members), "leads": idStrings(t.Leads), "managers": idStrings(t.Managers)}
}

func (a *Admin) serveTeamNew(w http.ResponseWriter, r *http.Request, q *req) error {
	v := a.area.View(r, q.Who, "New team")
	v.Form = teamForm(desk.Team{})
	return a.renderTeam(w, r, http.StatusOK, v, desk.Team{})
}

func (a *Admin) serveTeam(w http.ResponseWriter, r *http.Request, q *req) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	t, err := a.desk.Team(r.Context(), id)
	if err != nil {
		return err
	}
	v := a.area.View(r, q.Who, t.Name)
	v.Form = teamForm(t)
	return a.renderTeam(w, r, http.StatusOK, v, t)
}

// serveTeamSave creates (POST /login/teams) or changes a team.
func (a *Admin) serveTeamSave(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	var old desk.Team
	if r.PathValue("id") != "" {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if old, err = a.desk.Team(ctx, id); err != nil {
			return err
		}
	}
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	t := desk.Team{ID: old.ID, Name: first(form, "name"), Members: ids(form, "members"), Leads: ids(form, "leads"), Managers: ids(form, "managers")}
	saved, err := a.desk.SaveTeam(ctx, q.Actor, t)
	if err == nil {
		done := "saved"
		if old.ID == 0 {
			done = "created"
		}
		return web.Redirect(w, r, "/login/teams?done="+done+"#team-"+strconv.FormatUint(saved.ID, 10))
	}
	fe := web.FieldErrors{}
	if !web.AddFields(fe, err) {
		return err
	}
	title := "New team"
	if old.ID != 0 {
		title = old.Name
	}
	v := a.area.View(r, q.Who, title)
	v.Form, v.Errors = url.Values(form), fe
	return a.renderTeam(w, r, http.StatusUnprocessableEntity, v, old)
}

func (a *Admin) renderTeam(w http.ResponseWriter, r *http.Request, status int, v web.View, t desk.Team) error {
	ctx := r.Context()
	dir, err := a.directory(ctx)
	if err != nil {
		return err
	}
	p := editPage{
		Heading: "New team", Back: "/login/teams", BackLabel: "Teams",
		Intro:  "A team groups technicians by expertise or tier; a channel served by a team is served by its members, leads and managers.",
		Action: "/login/teams", Submit: "Create team",
	}
	if t.ID != 0 {
		p.Heading, p.Intro = "Team "+t.Name, ""
		p.Action, p.Submit = fmt.Sprintf("/login/teams/%d", t.ID), "Save changes"
		p.Delete = fmt.Sprintf("/login/teams/%d/delete", t.ID)
		p.DeleteTitle, p.DeleteLabel = "Delete this team", "Delete team"
		p.DeleteHint = "The team is removed from every channel it serves; its technicians keep their accounts and profiles."
		p.Confirm = fmt.Sprintf("Delete the team %q for good?", t.Name)
		rel := &related{Title: "Channels this team serves", Empty: "This team serves no channel yet: tick it on a channel's page."}
		chans, err := a.desk.AllChannels(ctx)
		if err != nil {
			return err
		}
		for _, c := range chans {
			if slices.Contains(c.Teams, t.ID) {
				rel.Links = append(rel.Links, link{Label: c.Name, Href: fmt.Sprintf("/login/channels/%d", c.ID)})
			}
		}
		p.Related = rel
	}
	const empty = "No technician has a profile yet: add users, then open their technician page."
	p.Sections = []section{
		{ID: "team", Title: "Team", Fields: []field{
			textField(v, "name", "Name", 200, "Up to 64 characters, different from every other team."),
		}},
		{ID: "people", Title: "People", Hint: "Only people with a technician profile are listed.", Fields: []field{
			checksField(v, "members", "Members", dir.options(nil), "", empty),
			checksField(v, "leads", "Leads", dir.options(nil), "Leads guide the team's members.", empty),
			checksField(v, "managers", "Managers", dir.options(nil), "Managers answer for the team.", empty),
		}},
	}
	v.Data = p
	return a.render(w, r, status, "edit.html", v)
}

// teamNames are the names of every team, for pickers and lists.
type teamNames struct {
	order []desk.Team
	byID  map[uint64]string
}

func (a *Admin) teamNames(ctx context.Context) (teamNames, error) {
	teams, err := a.desk.Teams(ctx)
	n := teamNames{order: teams, byID: map[uint64]string{}}
	for _, t := range teams {
		n.byID[t.ID] = t.Name
	}
	sort.SliceStable(n.order, func(i, j int) bool { return strings.ToLower(n.order[i].Name) < strings.ToLower(n.order[j].Name) })
	return n, err
}

func (n teamNames) name(id uint64) string {
	if s, ok := n.byID[id]; ok {
		return s
	}
	return fmt.Sprintf("team #%d (deleted)", id)
}

// options are the teams as checkboxes.
func (n teamNames) options() []option {
	var out []option
	for _, t := range n.order {
		out = append(out, option{Value: strconv.FormatUint(t.ID, 10), Label: t.Name, Note: plural(len(t.Members), "member")})
	}
	return out
}
