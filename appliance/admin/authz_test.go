package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/samlsp"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/admin"
	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
	"github.com/switchboardhq/switchboard/tools/deskfix"
)

var ctx = context.Background()

// The roles of the matrix, by the desk role they hold.
const (
	T  = desk.RoleTechnician
	CM = desk.RoleChannelManager
	TM = desk.RoleTechManager
	AD = desk.RoleAdmin
)

var roles = []string{T, CM, TM, AD}

// fixture is a small desk on a real bbolt file, served by the same router
// buildWeb builds for /login: an actor of each role, another technician, a
// channel the channel manager manages and one it does not, an issue type
// on each, a team and a public site.
type fixture struct {
	t      *testing.T
	h      http.Handler
	auth   *auth.Service
	clock  *deskfix.Clock // the desk's and the accounts' clock
	desk   *desk.Service
	routes []web.Route // the routes admin registered
	sso    *samlsp.Service
	root   desk.Actor
	user   map[string]uint64 // role (or "other") → user id
	// Objects of the desk.
	managed, foreign           uint64 // channels
	issueManaged, issueForeign uint64
	team, site                 uint64
	announcement               uint64
	profile                    uint64
	session                    map[string]*http.Cookie
	csrfCookie                 *http.Cookie
	csrf                       string
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	box := deskfix.New(t, deskfix.Config{})
	a, d, rt, site := box.Auth, box.Desk, box.Router, box.Site
	n := len(rt.Routes())
	sso, err := samlsp.New(ctx, box.DB, box.Clock.Now, quiet())
	if err != nil {
		t.Fatal(err)
	}
	adm := admin.New(site, a, d)
	adm.SetSSO(sso)
	adm.Routes(rt)
	f := &fixture{t: t, h: rt.Handler(), auth: a, clock: box.Clock, desk: d, routes: rt.Routes()[n:], user: map[string]uint64{}, session: map[string]*http.Cookie{}, sso: sso}
	site.Routes()

	photo := pngBytes(t)
	for _, u := range []struct{ name, role string }{{AD, AD}, {TM, TM}, {CM, CM}, {T, T}, {"other", T}} {
		created, err := a.CreateUser(ctx, auth.Site, auth.NewUser{Username: strings.ReplaceAll(u.name, "-", "") + "user", DisplayName: "User " + u.name, Password: deskfix.Password, Role: u.role})
		if err != nil {
			t.Fatal(err)
		}
		f.user[u.name] = created.ID
		raw, _, err := a.NewSession(ctx, auth.Site, created.ID, false, "127.0.0.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		f.session[u.name] = &http.Cookie{Name: "__Host-sb-site", Value: raw}
	}
	f.root = desk.Actor{UserID: f.user[AD], Name: "User admin", Role: AD, Perms: desk.RoleDefaults(AD)}
	for name, id := range f.user {
		role := name
		if name == "other" {
			role = T
		}
		if _, err := d.SaveTechnician(ctx, f.root, desk.Technician{UserID: id, PrivateName: "Tech " + name, PublicName: "Pub " + name, Photo: photo}, role); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	mine, err := d.SaveChannel(ctx, f.root, desk.Channel{Name: "Mine", ExpiryMinutes: 60, Managers: []uint64{f.user[CM]}, Technicians: []uint64{f.user[CM], f.user[T]}})
	must(err)
	theirs, err := d.SaveChannel(ctx, f.root, desk.Channel{Name: "Theirs", ExpiryMinutes: 60, Technicians: []uint64{f.user["other"]}})
	must(err)
	f.managed, f.foreign = mine.ID, theirs.ID
	im, err := d.SaveIssueType(ctx, f.root, desk.IssueType{Name: "Mine issue", CodeName: "mine", Channel: mine.ID, Priority: 2})
	must(err)
	ifo, err := d.SaveIssueType(ctx, f.root, desk.IssueType{Name: "Their issue", CodeName: "theirs", Channel: theirs.ID, Priority: 2})
	must(err)
	f.issueManaged, f.issueForeign = im.ID, ifo.ID
	team, err := d.SaveTeam(ctx, f.root, desk.Team{Name: "Blue", Members: []uint64{f.user[T], f.user["other"]}})
	must(err)
	st, err := d.SaveSite(ctx, f.root, desk.Site{Name: "Main", Hostnames: []string{"support.example.com"}, TechList: true})
	must(err)
	f.team, f.site = team.ID, st.ID
	an, err := d.SaveAnnouncement(ctx, f.root, desk.Announcement{Site: st.ID, Title: "Mail is down", Severity: desk.SeverityOutage, Start: f.clock.Now(), End: f.clock.Now().Add(time.Hour)})
	must(err)
	f.announcement = an.ID
	pr, err := d.AddProfile(ctx, f.root, desk.Profile{Site: st.ID, Private: true}, deskfix.Profile("wifi"))
	must(err)
	f.profile = pr.ID

	// A page visit gives the browser its CSRF cookie and the token.
	rec := f.request("GET", "/login/dashboard", AD, nil, false)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "__Host-csrf" {
			f.csrfCookie = c
		}
	}
	m := regexp.MustCompile(`name="csrf-token" content="([^"]+)"`).FindStringSubmatch(rec.Body.String())
	if f.csrfCookie == nil || m == nil {
		t.Fatalf("no CSRF token on the dashboard: %d", rec.Code)
	}
	f.csrf = m[1]
	return f
}

// signInAgain gives the users of roles fresh login sessions.
func (f *fixture) signInAgain(roles ...string) {
	f.t.Helper()
	for _, role := range roles {
		raw, _, err := f.auth.NewSession(ctx, auth.Site, f.user[role], false, "127.0.0.1", "test")
		if err != nil {
			f.t.Fatal(err)
		}
		f.session[role] = &http.Cookie{Name: "__Host-sb-site", Value: raw}
	}
}

func pngBytes(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{200, 30, 30, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// request sends a request as the user of role (or "other"); a form is
// posted with the CSRF token, as multipart when upload is set.
func (f *fixture) request(method, path, as string, form url.Values, upload bool) *httptest.ResponseRecorder {
	f.t.Helper()
	var body io.Reader
	ctype := ""
	if form != nil {
		form = cloneValues(form)
		form.Set("csrf_token", f.csrf)
		if upload {
			var b bytes.Buffer
			mw := multipart.NewWriter(&b)
			for k, vs := range form {
				if k == "photo" || k == "logo" || k == "file" {
					fw, _ := mw.CreateFormFile(k, k+".png")
					fw.Write([]byte(vs[0]))
					continue
				}
				for _, v := range vs {
					mw.WriteField(k, v)
				}
			}
			mw.Close()
			body, ctype = &b, mw.FormDataContentType()
		} else {
			body, ctype = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
		}
	}
	req := httptest.NewRequest(method, "https://box"+path, body)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c := f.session[as]; c != nil {
		req.AddCookie(c)
	}
	if f.csrfCookie != nil {
		req.AddCookie(f.csrfCookie)
	}
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	return rec
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// snapshot is everything the desk and the site accounts hold, and the
// number of audit entries.
func (f *fixture) snapshot() string {
	f.t.Helper()
	var s struct {
		Channels []desk.Channel
		Teams    []desk.Team
		Techs    []desk.Technician
		Issues   []desk.IssueType
		Sites    []desk.Site
		Profiles []desk.Profile
		Users    []auth.User
		Audit    int
	}
	var err error
	chk := func(e error) {
		if e != nil && err == nil {
			err = e
		}
	}
	s.Channels, err = f.desk.AllChannels(ctx)
	var e error
	s.Teams, e = f.desk.Teams(ctx)
	chk(e)
	s.Techs, e = f.desk.Technicians(ctx)
	chk(e)
	s.Issues, e = f.desk.IssueTypes(ctx)
	chk(e)
	s.Profiles, e = f.desk.Profiles(ctx, 0)
	chk(e)
	s.Sites, e = f.desk.Sites(ctx)
	chk(e)
	s.Users, e = f.auth.Users(ctx, auth.Site)
	chk(e)
	entries, e := f.desk.Audit(ctx, f.root, desk.AuditFilter{Limit: 1000})
	chk(e)
	s.Audit = len(entries)
	if err != nil {
		f.t.Fatal(err)
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// A cell of the matrix: the scope a route is asked about, and the roles
// allowed there.
type cell struct {
	scope string // "", "own", "other", "managed" or "foreign"
	allow []string
	// form is the body of a POST: valid, so an allowed request succeeds.
	form   func(f *fixture, scope string) url.Values
	upload bool
	// prep readies the object before the request (as the administrator).
	prep func(f *fixture, id uint64)
}

var (
	viewers  = []string{CM, TM, AD}
	creators = []string{TM, AD}
	admins   = []string{AD}
	everyone = roles
)

func scopes(s1 string, a1 []string, s2 string, a2 []string) []cell {
	return []cell{{scope: s1, allow: a1}, {scope: s2, allow: a2}}
}

func withForm(cells []cell, form func(f *fixture, scope string) url.Values) []cell {
	for i := range cells {
		cells[i].form = form
	}
	return cells
}

func channelForm(name string) func(*fixture, string) url.Values {
	return func(f *fixture, _ string) url.Values {
		return url.Values{"name": {name}, "description": {"Edited"}, "expiry_minutes": {"90"}, "teams": {strconv.FormatUint(f.team, 10)}}
	}
}

func issueForm(f *fixture, scope string) url.Values {
	ch := f.managed
	if scope == "foreign" {
		ch = f.foreign
	}
	return url.Values{"name": {"Printer " + scope}, "code_name": {"printer-" + scope}, "channel": {strconv.FormatUint(ch, 10)}, "priority": {"3"}}
}

func teamForm(f *fixture, _ string) url.Values {
	return url.Values{"name": {"Green"}, "members": {strconv.FormatUint(f.user[T], 10)}}
}

func siteForm(f *fixture, _ string) url.Values {
	return url.Values{"name": {"Other site"}, "hostnames": {"help.example.com\nsupport2.example.com"}, "session_key": {"1"},
		"survey_mode": {"issue"}, "custom_rows": {"1"}, "custom_label_0": {"Asset tag"}, "custom_max_0": {"32"}}
}

// matrix lists, for every route admin registers, who may use it where.
func matrix() map[string][]cell {
	noIssues := func(f *fixture, ch uint64) {
		for _, it := range []uint64{f.issueManaged, f.issueForeign} {
			if err := f.desk.DeleteIssueType(ctx, f.root, it); err != nil {
				f.t.Fatal(err)
			}
		}
	}
	techForm := func(f *fixture, scope string) url.Values {
		role := T
		if scope == "own" {
			role = "" // filled in with the actor's own role
		}
		return url.Values{"private_name": {"Renamed"}, "public_name": {"Public"}, "display_number": {"7"},
			"availability": {"busy"}, "role": {role}, "perms": {string(desk.PermControl)}, "photo": {string(pngBytes(f.t))}}
	}
	tech := withForm(scopes("own", admins, "other", admins), techForm)
	for i := range tech {
		tech[i].upload = true
	}
	return map[string][]cell{
		"GET /login/dashboard": {{allow: everyone}},

		"GET /login/channels":              {{allow: viewers}},
		"GET /login/channels/new":          {{allow: creators}},
		"POST /login/channels":             {{allow: creators, form: channelForm("Created")}},
		"GET /login/channels/{id}":         scopes("managed", viewers, "foreign", creators),
		"POST /login/channels/{id}":        withForm(scopes("managed", viewers, "foreign", creators), channelForm("Renamed")),
		"POST /login/channels/{id}/delete": {{scope: "managed", allow: creators, prep: noIssues}, {scope: "foreign", allow: creators, prep: noIssues}},

		"GET /login/issue-types":              {{allow: viewers}},
		"GET /login/issue-types/new":          {{allow: viewers}},
		"POST /login/issue-types":             withForm(scopes("managed", viewers, "foreign", creators), issueForm),
		"GET /login/issue-types/{id}":         scopes("managed", viewers, "foreign", creators),
		"POST /login/issue-types/{id}":        withForm(scopes("managed", viewers, "foreign", creators), issueForm),
		"POST /login/issue-types/{id}/delete": scopes("managed", viewers, "foreign", creators),

		"GET /login/teams":              {{allow: admins}},
		"GET /login/teams/new":          {{allow: admins}},
		"POST /login/teams":             {{allow: admins, form: teamForm}},
		"GET /login/teams/{id}":         {{allow: admins}},
		"POST /login/teams/{id}":        {{allow: admins, form: teamForm}},
		"POST /login/teams/{id}/delete": {{allow: admins}},

		"GET /login/technicians":              {{allow: admins}},
		"GET /login/technicians/{id}":         scopes("own", admins, "other", admins),
		"POST /login/technicians/{id}":        tech,
		"POST /login/technicians/{id}/delete": scopes("own", admins, "other", admins),
		"GET /login/technicians/{id}/photo":   scopes("own", admins, "other", admins),

		"GET /login/sites":              {{allow: admins}},
		"GET /login/sites/new":          {{allow: admins}},
		"POST /login/sites":             {{allow: admins, form: siteForm}},
		"GET /login/sites/{id}":         {{allow: admins}},
		"POST /login/sites/{id}":        {{allow: admins, form: siteForm}},
		"POST /login/sites/{id}/delete": {{allow: admins}},

		"GET /login/audit": {{allow: admins}},

		"GET /login/announcements":              {{allow: announcers}},
		"GET /login/announcements/new":          {{allow: announcers}},
		"POST /login/announcements":             {{allow: announcers, form: announcementForm}},
		"GET /login/announcements/{id}":         {{allow: announcers}},
		"POST /login/announcements/{id}":        {{allow: announcers, form: announcementForm}},
		"POST /login/announcements/{id}/delete": {{allow: announcers}},

		"GET /login/sites/{id}/ios":               {{allow: admins}},
		"POST /login/sites/{id}/ios":              {{allow: admins, upload: true, form: profileForm}},
		"POST /login/sites/{id}/ios/{pid}":        {{allow: admins, form: func(*fixture, string) url.Values { return url.Values{"name": {"Renamed"}} }}},
		"POST /login/sites/{id}/ios/{pid}/delete": {{allow: admins}},

		"GET /login/sites/{id}/sso":  {{allow: admins}},
		"POST /login/sites/{id}/sso": {{allow: admins, form: portalLoginForm}},
		"GET /login/security":        {{allow: admins}},
		"POST /login/security":       {{allow: admins, form: securityForm}},
	}
}

// target is the object {id} names for a route in scope, for actor role.
func (f *fixture) target(pattern, scope, role string) uint64 {
	switch {
	case strings.HasPrefix(pattern, "/login/channels/"):
		if scope == "foreign" {
			return f.foreign
		}
		return f.managed
	case strings.HasPrefix(pattern, "/login/issue-types/"):
		if scope == "foreign" {
			return f.issueForeign
		}
		return f.issueManaged
	case strings.HasPrefix(pattern, "/login/technicians/"):
		if scope == "own" {
			return f.user[role]
		}
		return f.user["other"]
	case strings.HasPrefix(pattern, "/login/teams/"):
		return f.team
	case strings.HasPrefix(pattern, "/login/sites/"):
		return f.site
	case strings.HasPrefix(pattern, "/login/announcements/"):
		return f.announcement
	}
	return 0
}

// TestAuthorizationMatrix asks every route admin registers, as each role
// and in each scope, and shows allowed cells succeed while forbidden ones
// answer 403 and change nothing at all.
func TestAuthorizationMatrix(t *testing.T) {
	cases := matrix()
	registered := map[string]bool{}
	for _, r := range newFixture(t).routes {
		key := r.Method + " " + r.Pattern
		if strings.HasPrefix(r.Pattern, "/login/saml/") {
			continue // the technicians' single sign-on, before sign-in (TestStaffSignIn)
		}
		registered[key] = true
		if _, ok := cases[key]; !ok {
			t.Errorf("route %s has no authorization cells: add it to matrix()", key)
		}
	}
	for key := range cases {
		if !registered[key] {
			t.Errorf("matrix() covers %s, which admin does not register", key)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	for key, cells := range cases {
		method, pattern, _ := strings.Cut(key, " ")
		for _, c := range cells {
			for _, role := range roles {
				name := fmt.Sprintf("%s/%s/%s", key, c.scope, role)
				allowed := slices.Contains(c.allow, role)
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					f := newFixture(t)
					id := f.target(pattern, c.scope, role)
					if c.prep != nil {
						c.prep(f, id)
					}
					path := strings.Replace(pattern, "{id}", strconv.FormatUint(id, 10), 1)
					path = strings.Replace(path, "{pid}", strconv.FormatUint(f.profile, 10), 1)
					var form url.Values
					if method == "POST" {
						form = url.Values{}
						if c.form != nil {
							form = c.form(f, c.scope)
						}
						if form.Has("role") && form.Get("role") == "" {
							form.Set("role", role)
						}
					}
					before := f.snapshot()
					rec := f.request(method, path, role, form, c.upload)
					after := f.snapshot()
					if !allowed {
						if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "not allowed to do this") {
							t.Fatalf("%s as %s: %d, want 403", path, role, rec.Code)
						}
						if after != before {
							t.Fatalf("a refused %s changed the desk:\nbefore %s\nafter  %s", path, before, after)
						}
						return
					}
					want := http.StatusOK
					if method == "POST" {
						want = http.StatusSeeOther
					}
					if rec.Code != want {
						t.Fatalf("%s as %s: %d, want %d\n%s", path, role, rec.Code, want, errorText(rec.Body.String()))
					}
					if method == "POST" && after == before {
						t.Fatalf("an allowed %s changed nothing", path)
					}
					if method == "GET" && after != before {
						t.Fatalf("GET %s changed the desk", path)
					}
				})
			}
		}
	}
}

// errorText picks the messages out of a page, for failure output.
func errorText(body string) string {
	var out []string
	for _, m := range regexp.MustCompile(`class="(?:error|alert)"[^>]*>([^<]*)<`).FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	if len(out) == 0 && len(body) > 600 {
		body = body[:600]
	}
	if len(out) == 0 {
		return body
	}
	return strings.Join(out, "\n")
}

func portalLoginForm(f *fixture, scope string) url.Values {
	return url.Values{"base": {"https://support.example.com"}, "name": {"Acme IdP"}, "map_name": {"displayName"}}
}

func securityForm(f *fixture, scope string) url.Values {
	return url.Values{"base": {"https://box"}, "name": {"Acme IdP"}, "match_by": {"email"}, "map_email": {"mail"}, "default_role": {"technician"}}
}

// announcers hold the announcements permission by their role's defaults.
var announcers = []string{CM, TM, AD}

func announcementForm(f *fixture, scope string) url.Values {
	start := f.clock.Now().UTC()
	return url.Values{"site": {strconv.FormatUint(f.site, 10)}, "title": {"Planned maintenance"}, "severity": {"warning"},
		"start": {start.Format("2006-01-02T15:04")}, "end": {start.Add(2 * time.Hour).Format("2006-01-02T15:04")}}
}

func profileForm(*fixture, string) url.Values {
	return url.Values{"file": {string(deskfix.Profile("vpn"))}, "name": {"VPN"}, "private": {"1"}}
}
