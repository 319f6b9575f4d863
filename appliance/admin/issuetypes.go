package admin

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

type issueTypesPage struct {
	Query     string
	Rows      []issueRow
	Total     int
	CanCreate bool
}

type issueRow struct {
	desk.IssueType
	Href, ChannelName, ChannelHref string
}

// issueTypes returns the issue types a may manage: those routing to a
// channel it may configure.
func (a *Admin) issueTypes(ctx context.Context, actor desk.Actor) ([]desk.IssueType, error) {
	all, err := a.desk.IssueTypes(ctx)
	var out []desk.IssueType
	for _, it := range all {
		if desk.Can(actor, desk.ActManageIssues, desk.Scope{Channel: it.Channel}) {
			out = append(out, it)
		}
	}
	return out, err
}

// issueChannels are the channels a may route issue types to, as options.
func (a *Admin) issueChannels(ctx context.Context, actor desk.Actor) ([]option, error) {
	chans, err := a.desk.Channels(ctx, actor)
	var out []option
	for _, c := range chans {
		if desk.Can(actor, desk.ActManageIssues, desk.Scope{Channel: c.ID}) {
			out = append(out, option{Value: strconv.FormatUint(c.ID, 10), Label: c.Name})
		}
	}
	return out, err
}

func (a *Admin) serveIssueTypes(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	list, err := a.issueTypes(ctx, q.Actor)
	if err != nil {
		return err
	}
	names, err := a.channelNames(ctx)
	if err != nil {
		return err
	}
	chans, err := a.issueChannels(ctx, q.Actor)
	if err != nil {
		return err
	}
	d := issueTypesPage{Query: query(r), Total: len(list), CanCreate: len(chans) > 0}
	for _, it := range list {
		row := issueRow{IssueType: it, Href: fmt.Sprintf("/login/issue-types/%d", it.ID), ChannelName: names.name(it.Channel)}
		if desk.Can(q.Actor, desk.ActViewChannel, desk.Scope{Channel: it.Channel}) {
			row.ChannelHref = fmt.Sprintf("/login/channels/%d", it.Channel)
		}
		if matches(d.Query, it.Name, it.CodeName, row.ChannelName) {
			d.Rows = append(d.Rows, row)
		}
	}
	v := a.area.View(r, q.Who, "Issue types")
	v.Flash = flash(r, "issue type")
	v.Data = d
	return a.render(w, r, http.StatusOK, "issuetypes.html", v)
}

func issueForm(it desk.IssueType) url.Values {
	v := url.Values{"name": {it.Name}, "code_name": {it.CodeName}, "priority": {strconv.Itoa(it.Priority)}}
	if it.Channel != 0 {
		v.Set("channel", strconv.FormatUint(it.Channel, 10))
	}
	return v
}

// issueType returns issue type id if a may manage it.
func (a *Admin) issueType(ctx context.Context, actor desk.Actor, id uint64) (desk.IssueType, error) {
	all, err := a.desk.IssueTypes(ctx)
	if err != nil {
		return desk.IssueType{}, err
	}
	for _, it := range all {
		if it.ID == id {
			return it, desk.Authorize(actor, desk.ActManageIssues, desk.Scope{Channel: it.Channel})
		}
	}
	return desk.IssueType{}, fmt.Errorf("issue type %d: %w", id, desk.ErrNotFound)
}

func (a *Admin) serveIssueTypeNew(w http.ResponseWriter, r *http.Request, q *req) error {
	v := a.area.View(r, q.Who, "New issue type")
	v.Form = issueForm(desk.IssueType{Priority: 3})
	return a.renderIssueType(w, r, q, http.StatusOK, v, desk.IssueType{})
}

func (a *Admin) serveIssueType(w http.ResponseWriter, r *http.Request, q *req) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	it, err := a.issueType(r.Context(), q.Actor, id)
	if err != nil {
		return err
	}
	v := a.area.View(r, q.Who, it.Name)
	v.Form = issueForm(it)
	return a.renderIssueType(w, r, q, http.StatusOK, v, it)
}

// serveIssueTypeSave creates (POST /login/issue-types) or changes an issue
// type; the desk checks the actor may manage both the old and the new
// channel.
func (a *Admin) serveIssueTypeSave(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	var old desk.IssueType
	if r.PathValue("id") != "" {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if old, err = a.issueType(ctx, q.Actor, id); err != nil {
			return err
		}
	}
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	fe := web.FieldErrors{}
	channel, _ := strconv.ParseUint(first(form, "channel"), 10, 64)
	it := desk.IssueType{
		ID: old.ID, Name: first(form, "name"), CodeName: first(form, "code_name"), Channel: channel,
		Priority: intOr(form, "priority", 0, fe, "Choose a priority from 1 to 5."),
	}
	saved, err := a.desk.SaveIssueType(ctx, q.Actor, it)
	if err == nil && !fe.Any() {
		done := "saved"
		if old.ID == 0 {
			done = "created"
		}
		return web.Redirect(w, r, "/login/issue-types?done="+done+"#issue-"+strconv.FormatUint(saved.ID, 10))
	}
	if err != nil && !web.AddFields(fe, err) {
		return err
	}
	title := "New issue type"
	if old.ID != 0 {
		title = old.Name
	}
	v := a.area.View(r, q.Who, title)
	v.Form, v.Errors = url.Values(form), fe
	return a.renderIssueType(w, r, q, http.StatusUnprocessableEntity, v, old)
}

func (a *Admin) renderIssueType(w http.ResponseWriter, r *http.Request, q *req, status int, v web.View, it desk.IssueType) error {
	chans, err := a.issueChannels(r.Context(), q.Actor)
	if err != nil {
		return err
	}
	p := editPage{
		Heading: "New issue type", Back: "/login/issue-types", BackLabel: "Issue types",
		Intro:  "Customers pick an issue type in the survey of a public site; their session then waits in the issue type's channel.",
		Action: "/login/issue-types", Submit: "Create issue type",
	}
	if it.ID != 0 {
		p.Heading, p.Intro = "Issue type "+it.Name, ""
		p.Action, p.Submit = fmt.Sprintf("/login/issue-types/%d", it.ID), "Save changes"
		p.Delete = fmt.Sprintf("/login/issue-types/%d/delete", it.ID)
		p.DeleteTitle, p.DeleteLabel = "Delete this issue type", "Delete issue type"
		p.DeleteHint = "Customers no longer see it in the survey. Sessions already waiting stay in their channel."
		p.Confirm = fmt.Sprintf("Delete the issue type %q for good?", it.Name)
	}
	if len(chans) == 0 {
		p.Intro = "There is no channel you may route issue types to yet."
	}
	chans = append([]option{{Value: "", Label: "Choose a channel…"}}, chans...)
	prio := []option{{Value: "1", Label: "1 (first)"}, {Value: "2", Label: "2"}, {Value: "3", Label: "3"}, {Value: "4", Label: "4"}, {Value: "5", Label: "5 (last)"}}
	p.Sections = []section{{ID: "issue", Title: "Issue type", Fields: []field{
		textField(v, "name", "Name", 200, "What customers read, such as “Printer problem”. Up to 64 characters."),
		textField(v, "code_name", "Code name", 64, "For reports and the API: lower-case letters, digits, - and _, such as printer."),
		selectField(v, "channel", "Channel", chans, "Sessions of this issue type wait in this channel's queue."),
		selectField(v, "priority", "Priority", prio, "Orders issue types in the survey."),
	}}}
	v.Data = p
	return a.render(w, r, status, "edit.html", v)
}
