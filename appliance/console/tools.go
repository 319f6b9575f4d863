package console

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// option is one choice of a select.
type option struct {
	Value, Label string
	Selected     bool
}

// toolsView is what /console offers besides the queues: only what the
// technician may use.
type toolsView struct {
	Profile      bool
	Availability []option
	Keys         bool
	Lifetimes    []option
	Sites        []option
	Links        bool
	// IOS offers iOS access keys, for the sites in IOSSites.
	IOS         bool
	IOSSites    []option
	Claim       bool
	LinkQueues  []option
	SOS         bool
	SOSChannels []option
	SOSLinks    []sosRow
}

// sosRow is one SOS Call link in the list.
type sosRow struct {
	ID      uint64
	Label   string
	Channel string
	Paused  bool
	Created time.Time
}

// toolResult is what a tool made, shown once: the box keeps only hashes.
type toolResult struct {
	Kind    string // "key", "link" or "sos"
	Digits  string // a session key, grouped "123 456 789"
	URL     string
	Expires time.Time
	Session uint64 // the waiting session of a support link
}

// lifetimes are the session key lifetimes offered, in minutes.
var lifetimes = []struct {
	min   int
	label string
}{{5, "5 minutes"}, {15, "15 minutes"}, {30, "30 minutes"}, {60, "1 hour"}, {240, "4 hours"}, {480, "8 hours"}, {1440, "24 hours"}}

// tools lists what a may use; form holds what was typed, to select it again.
func (c *Console) tools(ctx context.Context, a desk.Actor, dir *directory, me Me, form url.Values) (toolsView, error) {
	t := toolsView{Profile: me.Profile}
	for _, av := range []struct{ v, l string }{{desk.Available, "Available"}, {desk.Busy, "Busy"}, {desk.Away, "Away"}} {
		t.Availability = append(t.Availability, option{av.v, av.l, me.Availability == av.v})
	}
	perm := func(p desk.Perm) bool { return desk.Can(a, desk.ActUsePerm, desk.Scope{Perm: p}) }
	if t.Keys = perm(desk.PermSessionKeys); t.Keys {
		want := form.Get("lifetime")
		if want == "" {
			want = "15"
		}
		for _, l := range lifetimes {
			v := strconv.Itoa(l.min)
			t.Lifetimes = append(t.Lifetimes, option{v, l.label, v == want})
		}
		sites, err := c.desk.Sites(ctx)
		if err != nil {
			return t, err
		}
		if len(sites) > 1 {
			t.Sites = append(t.Sites, option{"", "Any public site", form.Get("site") == ""})
			for _, s := range sites {
				v := strconv.FormatUint(s.ID, 10)
				t.Sites = append(t.Sites, option{v, s.Name, form.Get("site") == v})
			}
		}
	}
	if t.IOS = perm(desk.PermIOSAccessKeys); t.IOS {
		sites, err := c.desk.Sites(ctx)
		if err != nil {
			return t, err
		}
		for _, s := range sites {
			v := strconv.FormatUint(s.ID, 10)
			t.IOSSites = append(t.IOSSites, option{v, s.Name, form.Get("ios_site") == v})
		}
		t.IOS = len(sites) > 0
	}
	t.Claim = perm(desk.PermStartSessions)
	if t.Links = perm(desk.PermSupportLinks); t.Links {
		mine := queueKey(desk.Queue{Kind: desk.QueueTechnician, ID: a.UserID})
		t.LinkQueues = append(t.LinkQueues, option{mine, "My queue", form.Get("queue") == mine})
		for _, ch := range a.Serves {
			v := queueKey(desk.Queue{Kind: desk.QueueChannel, ID: ch})
			t.LinkQueues = append(t.LinkQueues, option{v, dir.channelName(ch), form.Get("queue") == v})
		}
	}
	if t.SOS = perm(desk.PermSOSLinks); t.SOS {
		for _, ch := range dir.channels {
			if slices.Contains(a.Serves, ch.ID) || desk.Can(a, desk.ActEditChannel, desk.Scope{Channel: ch.ID}) {
				v := strconv.FormatUint(ch.ID, 10)
				t.SOSChannels = append(t.SOSChannels, option{v, ch.Name, form.Get("channel") == v})
			}
		}
		links, err := c.desk.SOSLinks(ctx, a)
		if err != nil {
			return t, err
		}
		for _, l := range links {
			t.SOSLinks = append(t.SOSLinks, sosRow{l.ID, l.Label, dir.channelName(l.Channel), l.Paused, l.Created})
		}
		t.SOS = len(t.SOSChannels) > 0 || len(t.SOSLinks) > 0
	}
	return t, nil
}

// baseURL is the address the technician reached the box by, for the links
// it hands out.
func baseURL(r *http.Request) string {
	scheme := "https"
	if r.TLS == nil && strings.HasPrefix(r.Host, "127.0.0.1") {
		scheme = "http" // an in-process test server
	}
	return scheme + "://" + r.Host
}

// groupKey writes a session key as people read it: "123 456 789".
func groupKey(key string) string {
	if len(key) != 9 {
		return key
	}
	return key[:3] + " " + key[3:6] + " " + key[6:]
}

// form reads the posted form of r.
func form(r *http.Request) (url.Values, error) {
	f, err := web.Form(r)
	return url.Values(f), err
}

// toolFailed renders /console again with the message of err next to its
// field and what was typed, or returns err when it is not about a field.
func (c *Console) toolFailed(w http.ResponseWriter, r *http.Request, q *req, vals url.Values, err error) error {
	v := c.view(r, q, "Queues")
	v.Form = vals
	if !web.AddFields(v.Errors, err) {
		return err
	}
	return c.renderConsole(w, r, q, http.StatusBadRequest, v, nil)
}

func (c *Console) serveAvailability(w http.ResponseWriter, r *http.Request, q *req) error {
	vals, err := form(r)
	if err != nil {
		return err
	}
	err = c.desk.SetAvailability(r.Context(), q.Actor, vals.Get("availability"))
	if errors.Is(err, desk.ErrNotFound) {
		err = &desk.FieldError{Field: "availability", Msg: "Your account has no technician profile yet: an administrator adds it under Technicians in /login."}
	}
	if err != nil {
		return c.toolFailed(w, r, q, vals, err)
	}
	if wantsJSON(r) {
		return web.WriteJSON(w, http.StatusOK, map[string]string{"availability": vals.Get("availability")})
	}
	return web.Redirect(w, r, consoleURL("availability"))
}

func (c *Console) serveKey(w http.ResponseWriter, r *http.Request, q *req) error {
	vals, err := form(r)
	if err != nil {
		return err
	}
	mins, err := strconv.Atoi(vals.Get("lifetime"))
	if err != nil {
		return c.toolFailed(w, r, q, vals, &desk.FieldError{Field: "lifetime", Msg: "Choose a lifetime from the list."})
	}
	var site uint64
	if s := vals.Get("site"); s != "" {
		if site, err = strconv.ParseUint(s, 10, 64); err != nil {
			return c.toolFailed(w, r, q, vals, &desk.FieldError{Field: "site", Msg: "Choose a site from the list."})
		}
	}
	key, exp, err := c.desk.GenerateKey(r.Context(), q.Actor, time.Duration(mins)*time.Minute, site)
	if err != nil {
		return c.toolFailed(w, r, q, vals, err)
	}
	v := c.view(r, q, "Queues")
	v.Form = vals
	res := &toolResult{Kind: "key", Digits: groupKey(key), URL: baseURL(r) + "/?key=" + key, Expires: exp}
	return c.renderConsole(w, r, q, http.StatusOK, v, res)
}

// serveIOSKey makes an iOS access key: the customer enters it on the
// site's iOS page to see its private profiles.
func (c *Console) serveIOSKey(w http.ResponseWriter, r *http.Request, q *req) error {
	vals, err := form(r)
	if err != nil {
		return err
	}
	site, err := strconv.ParseUint(vals.Get("ios_site"), 10, 64)
	if err != nil {
		return c.toolFailed(w, r, q, vals, &desk.FieldError{Field: "ios_site", Msg: "Choose a site from the list."})
	}
	key, exp, err := c.desk.GenerateIOSKey(r.Context(), q.Actor, site, 0)
	if err != nil {
		return c.toolFailed(w, r, q, vals, err)
	}
	st, err := c.desk.Site(r.Context(), site)
	if err != nil {
		return err
	}
	v := c.view(r, q, "Queues")
	v.Form = vals
	res := &toolResult{Kind: "ios", Digits: groupKey(key), URL: siteURL(r, st) + "/ios", Expires: exp}
	return c.renderConsole(w, r, q, http.StatusOK, v, res)
}

// siteURL is the address of site's pages: its first host name, on the
// port the console was reached on.
func siteURL(r *http.Request, st desk.Site) string {
	if len(st.Hostnames) == 0 {
		return baseURL(r)
	}
	host := st.Hostnames[0]
	if _, port, err := net.SplitHostPort(r.Host); err == nil && port != "443" {
		host = net.JoinHostPort(host, port)
	}
	scheme, _, _ := strings.Cut(baseURL(r), "://")
	return scheme + "://" + host
}

// parseQueue reads a queue key ("technician-5", "channel-2").
func parseQueue(s string) (desk.Queue, bool) {
	kind, id, ok := strings.Cut(s, "-")
	n, err := strconv.ParseUint(id, 10, 64)
	if !ok || err != nil || kind != desk.QueueTechnician && kind != desk.QueueChannel {
		return desk.Queue{}, false
	}
	return desk.Queue{Kind: kind, ID: n}, true
}

func (c *Console) serveLink(w http.ResponseWriter, r *http.Request, q *req) error {
	vals, err := form(r)
	if err != nil {
		return err
	}
	queue, ok := parseQueue(vals.Get("queue"))
	if !ok {
		return c.toolFailed(w, r, q, vals, &desk.FieldError{Field: "queue", Msg: "Choose a queue from the list."})
	}
	ss, tok, err := c.desk.CreateLink(r.Context(), q.Actor, queue)
	if err != nil {
		return c.toolFailed(w, r, q, vals, err)
	}
	v := c.view(r, q, "Queues")
	v.Form = vals
	res := &toolResult{Kind: "link", URL: baseURL(r) + "/l/" + tok, Expires: ss.Expires, Session: ss.ID}
	return c.renderConsole(w, r, q, http.StatusOK, v, res)
}

func (c *Console) serveClaim(w http.ResponseWriter, r *http.Request, q *req) error {
	vals, err := form(r)
	if err != nil {
		return err
	}
	ss, err := c.desk.ClaimCode(r.Context(), q.Actor, vals.Get("code"))
	var te *desk.ThrottledError
	switch {
	case errors.Is(err, desk.ErrState):
		err = &desk.FieldError{Field: "code", Msg: "This code was claimed already, or its customer left. Check the digits with the customer."}
	case errors.As(err, &te):
		err = &desk.FieldError{Field: "code", Msg: fmt.Sprintf("Too many wrong codes. Wait %d seconds, then check the digits with the customer.", max(1, int(te.Wait.Round(time.Second)/time.Second)))}
	}
	if err != nil {
		return c.toolFailed(w, r, q, vals, err)
	}
	return web.Redirect(w, r, sessionPath(ss.ID))
}

func (c *Console) serveSOSCreate(w http.ResponseWriter, r *http.Request, q *req) error {
	vals, err := form(r)
	if err != nil {
		return err
	}
	ch, err := strconv.ParseUint(vals.Get("channel"), 10, 64)
	if err != nil {
		return c.toolFailed(w, r, q, vals, &desk.FieldError{Field: "channel", Msg: "Choose a channel from the list."})
	}
	label := strings.TrimSpace(vals.Get("label"))
	l, err := c.desk.CreateSOS(r.Context(), q.Actor, ch, label)
	var fe desk.FieldErrors
	if errors.As(err, &fe) {
		for _, f := range fe {
			if f.Field == "label" && label == "" {
				f.Msg = "Give the link a name, such as the team or the customer it is for."
			}
		}
	}
	if err != nil {
		return c.toolFailed(w, r, q, vals, err)
	}
	v := c.view(r, q, "Queues")
	res := &toolResult{Kind: "sos", URL: baseURL(r) + "/sos/" + l.Token}
	return c.renderConsole(w, r, q, http.StatusOK, v, res)
}

func (c *Console) serveSOSAction(w http.ResponseWriter, r *http.Request, q *req) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	var done string
	switch r.PathValue("action") {
	case "pause":
		err, done = c.desk.SetSOSPaused(ctx, q.Actor, id, true), "sos-paused"
	case "resume":
		err, done = c.desk.SetSOSPaused(ctx, q.Actor, id, false), "sos-resumed"
	case "delete":
		err, done = c.desk.DeleteSOS(ctx, q.Actor, id), "sos-deleted"
	default:
		return web.ErrNotFound
	}
	if errors.Is(err, desk.ErrNotFound) {
		return &web.HTTPError{Code: http.StatusNotFound, Msg: "This SOS Call link does not exist any more.", Next: "Go back to the console and reload it.", Err: err}
	}
	if err != nil {
		return err
	}
	return web.Redirect(w, r, consoleURL(done))
}
