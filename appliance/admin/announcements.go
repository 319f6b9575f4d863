package admin

import (
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/i18n"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// Important messages of the public sites: administrators and anyone with
// the announcements permission manage them, technicians included (who do
// not otherwise open /login's configuration).

// announcer guards the messages' routes: signed in, and allowed to announce.
func (a *Admin) announcer(h handler) web.Handler {
	return a.area.DeskGuard(a.desk, adminText, func(actor desk.Actor) error {
		if !desk.CanAnnounce(actor) {
			return desk.ErrForbidden
		}
		return nil
	}, h)
}

func (a *Admin) announcementRoutes(rt *web.Router) {
	rt.Handle("GET /login/announcements", a.announcer(a.serveAnnouncements))
	rt.Handle("GET /login/announcements/new", a.announcer(a.serveAnnouncementNew))
	rt.Handle("POST /login/announcements", a.announcer(a.serveAnnouncementSave))
	rt.Handle("GET /login/announcements/{id}", a.announcer(a.serveAnnouncement))
	rt.Handle("POST /login/announcements/{id}", a.announcer(a.serveAnnouncementSave))
	rt.Handle("POST /login/announcements/{id}/delete", a.announcer(a.serveDelete(a.desk.DeleteAnnouncement, "/login/announcements")))
}

// announcementTime is how the form writes times: UTC, to the minute.
const announcementTime = "2006-01-02T15:04"

type announcementsPage struct {
	Rows []announcementRow
}

type announcementRow struct {
	desk.Announcement
	Href, SiteName, State, Badge string
}

var severityNames = map[string]string{desk.SeverityInfo: "Information", desk.SeverityWarning: "Warning", desk.SeverityOutage: "Outage"}

func (a *Admin) serveAnnouncements(w http.ResponseWriter, r *http.Request, q *req) error {
	all, err := a.desk.Announcements(r.Context(), 0)
	if err != nil {
		return err
	}
	sites, err := a.desk.Sites(r.Context())
	if err != nil {
		return err
	}
	names := map[uint64]string{}
	for _, st := range sites {
		names[st.ID] = st.Name
	}
	now := a.desk.Now()
	var d announcementsPage
	for _, an := range all {
		row := announcementRow{Announcement: an, Href: fmt.Sprintf("/login/announcements/%d", an.ID), SiteName: names[an.Site]}
		switch {
		case an.ShownAt(now):
			row.State, row.Badge = "Shown now", "ok"
		case an.Ended(now):
			row.State = "Ended"
		default:
			row.State, row.Badge = "Scheduled", "warn"
		}
		d.Rows = append(d.Rows, row)
	}
	v := a.area.View(r, q.Who, "Important messages")
	v.Flash = flash(r, "message")
	v.Data = d
	return a.render(w, r, http.StatusOK, "announcements.html", v)
}

func announcementForm(an desk.Announcement) url.Values {
	v := url.Values{"site": {strconv.FormatUint(an.Site, 10)}, "title": {an.Title}, "text": {an.Text}, "severity": {an.Severity}}
	if !an.Start.IsZero() {
		v.Set("start", an.Start.UTC().Format(announcementTime))
		v.Set("end", an.End.UTC().Format(announcementTime))
	}
	for lang, t := range an.Texts {
		v.Set("title_"+lang, t.Title)
		v.Set("text_"+lang, t.Text)
	}
	return v
}

func (a *Admin) serveAnnouncementNew(w http.ResponseWriter, r *http.Request, q *req) error {
	now := a.desk.Now().UTC().Truncate(time.Minute)
	v := a.area.View(r, q.Who, "New important message")
	v.Form = announcementForm(desk.Announcement{Severity: desk.SeverityInfo, Start: now, End: now.Add(4 * time.Hour)})
	return a.renderAnnouncement(w, r, http.StatusOK, v, desk.Announcement{})
}

func (a *Admin) serveAnnouncement(w http.ResponseWriter, r *http.Request, q *req) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	an, err := a.desk.Announcement(r.Context(), id)
	if err != nil {
		return err
	}
	v := a.area.View(r, q.Who, an.Title)
	v.Form = announcementForm(an)
	return a.renderAnnouncement(w, r, http.StatusOK, v, an)
}

func (a *Admin) serveAnnouncementSave(w http.ResponseWriter, r *http.Request, q *req) error {
	var old desk.Announcement
	if r.PathValue("id") != "" {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if old, err = a.desk.Announcement(r.Context(), id); err != nil {
			return err
		}
	}
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	fe := web.FieldErrors{}
	site, _ := strconv.ParseUint(first(form, "site"), 10, 64)
	an := desk.Announcement{ID: old.ID, Site: site, Title: first(form, "title"), Text: first(form, "text"), Severity: first(form, "severity"),
		Texts: map[string]desk.AnnouncementText{}}
	for _, lang := range i18n.Langs {
		if t := (desk.AnnouncementText{Title: first(form, "title_"+lang), Text: first(form, "text_"+lang)}); t != (desk.AnnouncementText{}) {
			an.Texts[lang] = t
		}
	}
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"start", &an.Start}, {"end", &an.End}} {
		if *f.t, err = time.Parse(announcementTime, first(form, f.name)); err != nil {
			fe.Add(f.name, "Give the date and time in UTC, such as 2026-12-24T18:00.")
		}
	}
	if !fe.Any() {
		saved, err := a.desk.SaveAnnouncement(r.Context(), q.Actor, an)
		if err == nil {
			done := "saved"
			if old.ID == 0 {
				done = "created"
			}
			return web.Redirect(w, r, "/login/announcements?done="+done+"#message-"+strconv.FormatUint(saved.ID, 10))
		}
		if !web.AddFields(fe, err) {
			return err
		}
	}
	title := "New important message"
	if old.ID != 0 {
		title = old.Title
	}
	v := a.area.View(r, q.Who, title)
	v.Form, v.Errors = form, fe
	return a.renderAnnouncement(w, r, http.StatusUnprocessableEntity, v, old)
}

func (a *Admin) renderAnnouncement(w http.ResponseWriter, r *http.Request, status int, v web.View, an desk.Announcement) error {
	sites, err := a.desk.Sites(r.Context())
	if err != nil {
		return err
	}
	var siteOpts []option
	for _, st := range sites {
		siteOpts = append(siteOpts, option{Value: strconv.FormatUint(st.ID, 10), Label: st.Name})
	}
	var sevOpts []option
	for _, s := range desk.Severities {
		sevOpts = append(sevOpts, option{Value: s, Label: severityNames[s]})
	}
	p := editPage{Heading: "New important message", Back: "/login/announcements", BackLabel: "Important messages",
		Intro:  "Shown at the top of the site's public pages between its start and end, and pushed at once to customers already waiting.",
		Action: "/login/announcements", Submit: "Publish message"}
	if an.ID != 0 {
		p.Heading, p.Intro = "Important message", ""
		p.Action, p.Submit = fmt.Sprintf("/login/announcements/%d", an.ID), "Save changes"
		p.Delete, p.DeleteTitle, p.DeleteLabel = fmt.Sprintf("/login/announcements/%d/delete", an.ID), "Delete this message", "Delete message"
		p.DeleteHint = "It disappears from the site's pages at once."
		p.Confirm = fmt.Sprintf("Delete the message %q?", an.Title)
	}
	start := field{ID: "start", Name: "start", Label: "Starts (UTC)", Type: "datetime-local", Value: v.Value("start"), Err: v.Err("start")}
	end := field{ID: "end", Name: "end", Label: "Ends (UTC)", Type: "datetime-local", Value: v.Value("end"), Err: v.Err("end"), Hint: "It disappears by itself then."}
	p.Sections = []section{{ID: "message", Title: "Message", Fields: []field{
		selectField(v, "site", "Public site", siteOpts, ""),
		selectField(v, "severity", "Severity", sevOpts, "Outage messages are shown first, in red."),
		textField(v, "title", "Title", desk.MaxAnnouncementTitle, ""),
		textareaField(v, "text", "Text", desk.MaxAnnouncementText, 4, "Optional. Line breaks are kept."),
		start, end,
	}}}
	// The same message in the other languages: customers whose page is
	// in one of them read it there, the others the title and text above.
	var texts []field
	for _, lang := range i18n.Langs {
		name := i18n.Name(lang)
		texts = append(texts, textField(v, "title_"+lang, "Title in "+name, desk.MaxAnnouncementTitle, ""),
			textareaField(v, "text_"+lang, "Text in "+name, desk.MaxAnnouncementText, 2, ""))
	}
	p.Sections = append(p.Sections, section{ID: "languages", Title: "In other languages", Hint: "Optional; leave the site's default language empty. Customers whose page is in a language given here read it in that language, everyone else the title and text above.", Fields: texts})
	v.Data = p
	return a.render(w, r, status, "edit.html", v)
}
