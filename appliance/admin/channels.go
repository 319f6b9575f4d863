package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

type channelsPage struct {
	Query     string
	Rows      []channelRow
	Total     int
	CanCreate bool
	Manager   bool
}

type channelRow struct {
	desk.Channel
	Href, Expiry  string
	Teams, Mgrs   []string
	Techs, Issues int
}

func (a *Admin) serveChannels(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	chans, err := a.desk.Channels(ctx, q.Actor)
	if err != nil {
		return err
	}
	dir, err := a.directory(ctx)
	if err != nil {
		return err
	}
	teams, err := a.teamNames(ctx)
	if err != nil {
		return err
	}
	issues, err := a.desk.IssueTypes(ctx)
	if err != nil {
		return err
	}
	d := channelsPage{Query: query(r), Total: len(chans), CanCreate: desk.Can(q.Actor, desk.ActCreateChannel, desk.Scope{}),
		Manager: q.Actor.Role == desk.RoleChannelManager}
	for _, c := range chans {
		row := channelRow{Channel: c, Href: fmt.Sprintf("/login/channels/%d", c.ID), Expiry: minutes(c.ExpiryMinutes), Techs: len(c.Technicians)}
		for _, id := range c.Teams {
			row.Teams = append(row.Teams, teams.name(id))
		}
		for _, id := range c.Managers {
			row.Mgrs = append(row.Mgrs, dir.name(id))
		}
		for _, it := range issues {
			if it.Channel == c.ID {
				row.Issues++
			}
		}
		if matches(d.Query, c.Name, c.Description, strings.Join(row.Teams, " "), strings.Join(row.Mgrs, " ")) {
			d.Rows = append(d.Rows, row)
		}
	}
	v := a.area.View(r, q.Who, "Channels")
	v.Flash = flash(r, "channel")
	v.Data = d
	return a.render(w, r, http.StatusOK, "channels.html", v)
}

// minutes says a duration in minutes the way people do.
func minutes(m int) string {
	switch {
	case m%60 == 0 && m >= 60:
		return plural(m/60, "hour")
	case m > 60:
		return fmt.Sprintf("%s %s", plural(m/60, "hour"), plural(m%60, "minute"))
	}
	return plural(m, "minute")
}

func channelForm(c desk.Channel) url.Values {
	return url.Values{
		"name":           {c.Name},
		"description":    {c.Description},
		"expiry_minutes": {strconv.Itoa(c.ExpiryMinutes)},
		"default":        boolValue(c.Default),
		"teams":          idStrings(c.Teams),
		"technicians":    idStrings(c.Technicians),
		"managers":       idStrings(c.Managers),
	}
}

func (a *Admin) serveChannelNew(w http.ResponseWriter, r *http.Request, q *req) error {
	v := a.area.View(r, q.Who, "New channel")
	v.Form = channelForm(desk.Channel{ExpiryMinutes: 60})
	return a.renderChannel(w, r, q, http.StatusOK, v, desk.Channel{}, "")
}

func (a *Admin) serveChannel(w http.ResponseWriter, r *http.Request, q *req) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := a.desk.Channel(r.Context(), q.Actor, id)
	if err != nil {
		return err
	}
	v := a.area.View(r, q.Who, c.Name)
	v.Form = channelForm(c)
	return a.renderChannel(w, r, q, http.StatusOK, v, c, "")
}

// serveChannelSave creates (POST /login/channels) or changes a channel.
func (a *Admin) serveChannelSave(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	var old desk.Channel
	if r.PathValue("id") != "" {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		// Refuse another channel before reading anything of the form.
		if old, err = a.desk.Channel(ctx, q.Actor, id); err != nil {
			return err
		}
		if err := desk.Authorize(q.Actor, desk.ActEditChannel, desk.Scope{Channel: id}); err != nil {
			return err
		}
	}
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	fe := web.FieldErrors{}
	c := desk.Channel{
		ID:            old.ID,
		Name:          first(form, "name"),
		Description:   first(form, "description"),
		ExpiryMinutes: intOr(form, "expiry_minutes", 0, fe, "Enter the expiry as a number of minutes, from 30 to 1440."),
		Default:       on(form, "default"),
		Teams:         ids(form, "teams"),
		Technicians:   ids(form, "technicians"),
		Managers:      ids(form, "managers"),
	}
	if !desk.Can(q.Actor, desk.ActCreateChannel, desk.Scope{}) {
		// A channel manager's form shows these without letting it change
		// them (the desk keeps them too).
		c.Managers, c.Default = old.Managers, old.Default
		form["managers"], form["default"] = idStrings(old.Managers), boolValue(old.Default)
	}
	saved, err := a.desk.SaveChannel(ctx, q.Actor, c)
	if err == nil && !fe.Any() {
		done := "saved"
		if old.ID == 0 {
			done = "created"
		}
		return web.Redirect(w, r, "/login/channels?done="+done+"#channel-"+strconv.FormatUint(saved.ID, 10))
	}
	if err != nil && !web.AddFields(fe, err) {
		return err
	}
	title := "New channel"
	if old.ID != 0 {
		title = old.Name
	}
	v := a.area.View(r, q.Who, title)
	v.Form, v.Errors = url.Values(form), fe
	return a.renderChannel(w, r, q, http.StatusUnprocessableEntity, v, old, "")
}

func (a *Admin) serveChannelDelete(w http.ResponseWriter, r *http.Request, q *req) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	err = a.desk.DeleteChannel(r.Context(), q.Actor, id)
	if err == nil {
		return web.Redirect(w, r, "/login/channels?done=deleted")
	}
	if !errors.Is(err, desk.ErrInUse) {
		return err
	}
	// Say why next to the delete button, on the channel's own page.
	c, cerr := a.desk.Channel(r.Context(), q.Actor, id)
	if cerr != nil {
		return cerr
	}
	var he *web.HTTPError
	errors.As(webError(err), &he)
	msg, next := he.Msg, he.Next
	v := a.area.View(r, q.Who, c.Name)
	v.Form = channelForm(c)
	return a.renderChannel(w, r, q, http.StatusConflict, v, c, msg+" "+next)
}

// renderChannel shows the channel form for c (c.ID 0: a new channel) with
// v.Form and v.Errors.
func (a *Admin) renderChannel(w http.ResponseWriter, r *http.Request, q *req, status int, v web.View, c desk.Channel, deleteErr string) error {
	ctx := r.Context()
	dir, err := a.directory(ctx)
	if err != nil {
		return err
	}
	teams, err := a.teamNames(ctx)
	if err != nil {
		return err
	}
	creator := desk.Can(q.Actor, desk.ActCreateChannel, desk.Scope{})
	p := editPage{
		Heading: "New channel", Back: "/login/channels", BackLabel: "Channels",
		Intro:  "A channel is a queue customers reach through an issue type, an SOS Call link or a transfer.",
		Action: "/login/channels", Submit: "Create channel",
	}
	if c.ID != 0 {
		p.Heading, p.Intro = "Channel "+c.Name, ""
		p.Action, p.Submit = fmt.Sprintf("/login/channels/%d", c.ID), "Save changes"
		if desk.Can(q.Actor, desk.ActDeleteChannel, desk.Scope{Channel: c.ID}) {
			p.Delete = fmt.Sprintf("/login/channels/%d/delete", c.ID)
			p.DeleteTitle, p.DeleteLabel = "Delete this channel", "Delete channel"
			p.DeleteHint = "Only a channel without waiting sessions or issue types routing to it can be deleted; the default channel cannot."
			p.Confirm = fmt.Sprintf("Delete the channel %q for good?", c.Name)
			p.DeleteErr = deleteErr
		}
		rel := &related{Title: "Issue types routing here", Empty: "No issue type routes to this channel yet."}
		issues, err := a.desk.IssueTypes(ctx)
		if err != nil {
			return err
		}
		for _, it := range issues {
			if it.Channel == c.ID {
				rel.Links = append(rel.Links, link{Label: it.Name, Href: fmt.Sprintf("/login/issue-types/%d", it.ID), Note: "priority " + strconv.Itoa(it.Priority)})
			}
		}
		p.Related = rel
	}
	main := section{ID: "channel", Title: "Channel", Fields: []field{
		textField(v, "name", "Name", 200, "Up to 64 characters, different from every other channel."),
		textareaField(v, "description", "Description", 1024, 3, "For technicians: what this channel handles."),
		numberField(v, "expiry_minutes", "Session expiry (minutes)", desk.MinExpiryMinutes, desk.MaxExpiryMinutes,
			"How long a session may wait in this queue: 30 minutes to 24 hours (1440)."),
	}}
	if creator {
		main.Fields = append(main.Fields, checkboxField(v, "default", "Default channel", "Catches requests nothing else routes; only one channel is the default."))
	} else if c.Default {
		main.Hint = "This is the default channel: it catches requests nothing else routes."
	}
	serve := section{ID: "serve", Title: "Who serves it", Hint: "Members of the teams and the technicians ticked here take sessions from this queue.", Fields: []field{
		checksField(v, "teams", "Teams", teams.options(), "", "There are no teams yet."),
		checksField(v, "technicians", "Technicians", dir.options(nil), "Only people with a technician profile are listed.", "No technician has a profile yet."),
	}}
	mgrs := checksField(v, "managers", "Channel managers", dir.options(func(p person) bool {
		return p.Role == desk.RoleChannelManager || slices.Contains(c.Managers, p.ID)
	}), "People with the Channel manager role who configure and supervise this channel.", "Nobody has the Channel manager role yet: give it on a technician's page.")
	if !creator {
		mgrs.Readonly = true
		mgrs.Hint = "Technician managers and administrators choose the channel managers."
	}
	serve.Fields = append(serve.Fields, mgrs)
	p.Sections = []section{main, serve}
	v.Data = p
	return a.render(w, r, status, "edit.html", v)
}

// channelNames are the names of every channel, for pickers and lists.
type channelNames map[uint64]string

func (a *Admin) channelNames(ctx context.Context) (channelNames, error) {
	chans, err := a.desk.AllChannels(ctx)
	m := channelNames{}
	for _, c := range chans {
		m[c.ID] = c.Name
	}
	return m, err
}

func (n channelNames) name(id uint64) string {
	if s, ok := n[id]; ok {
		return s
	}
	return fmt.Sprintf("channel #%d (deleted)", id)
}
