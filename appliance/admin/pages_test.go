package admin_test

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/desk"
)

// fieldErr is the message next to field id on a page, unescaped.
func fieldErr(body, id string) string {
	m := regexp.MustCompile(`<span class="error" id="` + regexp.QuoteMeta(id) + `-err">([^<]*)</span>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func navLinks(body string) []string {
	var out []string
	nav := body[strings.Index(body, `<nav aria-label="Main">`):]
	nav = nav[:strings.Index(nav, "</nav>")]
	for _, m := range regexp.MustCompile(`<a href="[^"]*"[^>]*>([^<]*)</a>`).FindAllStringSubmatch(nav, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestNavigationShowsWhatTheRoleMayOpen(t *testing.T) {
	f := newFixture(t)
	want := map[string]string{
		T:  "Dashboard Console My account",
		CM: "Dashboard Channels Issue types Console My account",
		TM: "Dashboard Channels Issue types Console My account",
		AD: "Dashboard Channels Issue types Teams Technicians Users Public sites Audit log Console My account",
	}
	for _, role := range roles {
		rec := f.request("GET", "/login/dashboard", role, nil, false)
		if got := strings.Join(navLinks(rec.Body.String()), " "); got != want[role] {
			t.Errorf("%s sees %q, want %q", role, got, want[role])
		}
		// The account pages show the same navigation.
		rec = f.request("GET", "/login/account", role, nil, false)
		if got := strings.Join(navLinks(rec.Body.String()), " "); got != want[role] {
			t.Errorf("%s on /login/account sees %q, want %q", role, got, want[role])
		}
	}
}

func TestChannelManagerSeesAndKeepsOnlyItsOwn(t *testing.T) {
	f := newFixture(t)
	rec := f.request("GET", "/login/channels", CM, nil, false)
	if body := rec.Body.String(); !strings.Contains(body, ">Mine<") || strings.Contains(body, ">Theirs<") || strings.Contains(body, "/login/channels/new") {
		t.Fatalf("the channel manager's list:\n%s", body)
	}
	rec = f.request("GET", "/login/issue-types", CM, nil, false)
	if body := rec.Body.String(); !strings.Contains(body, "Mine issue") || strings.Contains(body, "Their issue") {
		t.Fatalf("the channel manager's issue types:\n%s", body)
	}
	// Fields it may not change are ignored even when posted.
	form := url.Values{"name": {"Mine"}, "expiry_minutes": {"45"}, "default": {"1"}, "managers": {strconv.FormatUint(f.user[T], 10)}}
	if rec := f.request("POST", fmt.Sprintf("/login/channels/%d", f.managed), CM, form, false); rec.Code != http.StatusSeeOther {
		t.Fatalf("save: %d", rec.Code)
	}
	c, _ := f.desk.Channel(ctx, f.root, f.managed)
	if c.ExpiryMinutes != 45 || c.Default || len(c.Managers) != 1 || c.Managers[0] != f.user[CM] {
		t.Fatalf("after the channel manager's save: %+v", c)
	}
	// An issue type cannot be moved to a channel it does not manage.
	form = url.Values{"name": {"Mine issue"}, "code_name": {"mine"}, "priority": {"2"}, "channel": {strconv.FormatUint(f.foreign, 10)}}
	before := f.snapshot()
	if rec := f.request("POST", fmt.Sprintf("/login/issue-types/%d", f.issueManaged), CM, form, false); rec.Code != http.StatusForbidden {
		t.Fatalf("move an issue type to another channel: %d", rec.Code)
	}
	if f.snapshot() != before {
		t.Fatal("the refused move changed the desk")
	}
}

func TestChannelFormErrors(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name        string
		form        url.Values
		field, want string
	}{
		{"duplicate", url.Values{"name": {"mine"}, "expiry_minutes": {"60"}}, "name", "Another channel already has this name"},
		{"too long", url.Values{"name": {strings.Repeat("é", 65)}, "expiry_minutes": {"60"}}, "name", "at most 64 characters (this has 65)"},
		{"expiry low", url.Values{"name": {"New"}, "expiry_minutes": {"29"}}, "expiry_minutes", "between 30 minutes and 24 hours"},
		{"expiry high", url.Values{"name": {"New"}, "expiry_minutes": {"1441"}}, "expiry_minutes", "between 30 minutes and 24 hours"},
		{"expiry text", url.Values{"name": {"New"}, "expiry_minutes": {"an hour"}}, "expiry_minutes", "as a number of minutes"},
	}
	for _, tc := range cases {
		before := f.snapshot()
		rec := f.request("POST", "/login/channels", AD, tc.form, false)
		body := rec.Body.String()
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(fieldErr(body, tc.field), tc.want) {
			t.Errorf("%s: %d, %s: %q", tc.name, rec.Code, tc.field, fieldErr(body, tc.field))
		}
		if !strings.Contains(body, `value="`+html.EscapeString(tc.form.Get("name"))+`"`) {
			t.Errorf("%s: the name typed is not shown again", tc.name)
		}
		if f.snapshot() != before {
			t.Errorf("%s: a refused form changed the desk", tc.name)
		}
	}
}

func TestDeleteRefusalsSayWhatToDo(t *testing.T) {
	f := newFixture(t)
	// The managed channel still has an issue type routing to it.
	rec := f.request("POST", fmt.Sprintf("/login/channels/%d/delete", f.managed), AD, url.Values{}, false)
	body := html.UnescapeString(rec.Body.String())
	if rec.Code != http.StatusConflict || !strings.Contains(body, `id="delete-err">Issue type "Mine issue" routes to channel "Mine". Move or delete it first.`) {
		t.Fatalf("delete a channel in use: %d\n%s", rec.Code, body)
	}
	// The default channel.
	c, _ := f.desk.Channel(ctx, f.root, f.foreign)
	c.Default = true
	f.desk.SaveChannel(ctx, f.root, c)
	f.desk.DeleteIssueType(ctx, f.root, f.issueForeign)
	rec = f.request("POST", fmt.Sprintf("/login/channels/%d/delete", f.foreign), AD, url.Values{}, false)
	if body := html.UnescapeString(rec.Body.String()); rec.Code != http.StatusConflict || !strings.Contains(body, `Channel "Theirs" is the default channel. Make another channel the default first.`) {
		t.Fatalf("delete the default channel: %d", rec.Code)
	}
}

func TestTechnicianPhotoAndRole(t *testing.T) {
	f := newFixture(t)
	other := f.user["other"]
	path := fmt.Sprintf("/login/technicians/%d", other)
	form := func(photo []byte, role string) url.Values {
		v := url.Values{"private_name": {"Olga"}, "public_name": {"Olga P."}, "display_number": {"3"}, "availability": {"available"}, "role": {role}}
		if photo != nil {
			v.Set("photo", string(photo))
		}
		return v
	}
	png := pngBytes(t)
	if rec := f.request("POST", path, AD, form(png, CM), true); rec.Code != http.StatusSeeOther {
		t.Fatalf("save with a photo: %d %s", rec.Code, errorText(rec.Body.String()))
	}
	rec := f.request("GET", path+"/photo", AD, nil, false)
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" || rec.Header().Get("X-Content-Type-Options") != "nosniff" || !bytes.Equal(rec.Body.Bytes(), png) {
		t.Fatalf("photo: %d %v", rec.Code, rec.Header())
	}
	if u, _ := f.auth.User(ctx, auth.Site, other); u.Role != CM {
		t.Fatalf("role after save: %s", u.Role)
	}
	if tech, _ := f.desk.Technician(ctx, other); tech.Role != CM || tech.PublicName != "Olga P." {
		t.Fatalf("profile after save: %+v", tech)
	}

	cases := []struct {
		name  string
		photo []byte
		role  string
		field string
		want  string
	}{
		{"not an image", []byte("<html><script>alert(1)</script></html>"), T, "photo", "Use a PNG, JPEG or WebP image"},
		{"too large", append(append([]byte{}, png...), make([]byte, desk.MaxPhoto)...), T, "photo", "at most 256 KiB"},
		{"unknown role", nil, "boss", "role", "Choose one of the listed roles"},
	}
	for _, tc := range cases {
		before := f.snapshot()
		rec := f.request("POST", path, AD, form(tc.photo, tc.role), true)
		body := rec.Body.String()
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(fieldErr(body, tc.field), tc.want) {
			t.Errorf("%s: %d %q", tc.name, rec.Code, fieldErr(body, tc.field))
		}
		if !strings.Contains(body, `value="Olga P."`) {
			t.Errorf("%s: the public name typed is not shown again", tc.name)
		}
		if f.snapshot() != before {
			t.Errorf("%s: a refused form changed the desk or the account", tc.name)
		}
	}
	// The last administrator cannot give up the role.
	self := fmt.Sprintf("/login/technicians/%d", f.user[AD])
	rec = f.request("POST", self, AD, url.Values{"private_name": {"Root"}, "public_name": {"Root"}, "display_number": {"1"}, "availability": {"available"}, "role": {T}}, false)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(fieldErr(rec.Body.String(), "role"), "last enabled administrator") {
		t.Fatalf("demote the last admin: %d %q", rec.Code, fieldErr(rec.Body.String(), "role"))
	}
}

func TestSiteForm(t *testing.T) {
	f := newFixture(t)
	form := url.Values{"name": {"Help"}, "hostnames": {"Help.Example.com,\r\nfix.example.com"}, "survey_mode": {"technician"},
		"tech_list": {"1"}, "custom_rows": {"3"}, "custom_label_0": {"Asset tag"}, "custom_max_0": {"32"}, "custom_required_0": {"1"},
		"custom_label_2": {"Room"}}
	rec := f.request("POST", "/login/sites", AD, form, false)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("create: %d %s", rec.Code, errorText(rec.Body.String()))
	}
	st, err := f.desk.SiteByHost(ctx, "fix.example.com")
	if err != nil || len(st.Hostnames) != 2 || st.Hostnames[0] != "help.example.com" || st.SurveyMode != desk.SurveyTechnician ||
		len(st.Custom) != 2 || st.Custom[0] != (desk.CustomField{Label: "Asset tag", Required: true, MaxLen: 32}) || st.Custom[1].MaxLen != 256 {
		t.Fatalf("saved site: %+v %v", st, err)
	}
	// Custom fields too large: the message sits above the table, the rows
	// are kept.
	form.Set("custom_max_0", "2000")
	form.Set("hostnames", "other.example.com")
	form.Set("name", "Help 2")
	rec = f.request("POST", "/login/sites", AD, form, false)
	body := rec.Body.String()
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(fieldErr(body, "custom"), "maximum length must be 1 to 1024") ||
		!strings.Contains(body, `value="Asset tag"`) || !strings.Contains(body, `value="2000"`) {
		t.Fatalf("custom fields too long: %d %q", rec.Code, fieldErr(body, "custom"))
	}
}

func TestAuditShowsChangesEscaped(t *testing.T) {
	f := newFixture(t)
	c, _ := f.desk.Channel(ctx, f.root, f.managed)
	c.Description = `<script>alert("x")</script>`
	if _, err := f.desk.SaveChannel(ctx, f.root, c); err != nil {
		t.Fatal(err)
	}
	rec := f.request("GET", "/login/audit?kind=channel&q=script", AD, nil, false)
	body := rec.Body.String()
	if rec.Code != 200 || strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Fatalf("audit page: %d\n%s", rec.Code, body)
	}
	first := body[strings.Index(body, `<li class="card audit-entry"`):]
	first = first[:strings.Index(first, "</li>")]
	for _, want := range []string{"Changed", "Channel Mine", "by User admin", "Description", `class="before"`, `class="after"`} {
		if !strings.Contains(first, want) {
			t.Errorf("the change lacks %q:\n%s", want, first)
		}
	}
	if strings.Contains(first, "Session expiry") {
		t.Error("an unchanged field is listed as a change")
	}
	if n := strings.Count(body, `<li class="card audit-entry"`); n != 1 {
		t.Errorf("the filter kept %d entries, want 1", n)
	}
	// Bad filters say what is wrong next to the field and keep the rest.
	rec = f.request("GET", "/login/audit?from=yesterday&actor=User+admin", AD, nil, false)
	if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(fieldErr(rec.Body.String(), "from"), "Enter a date") || !strings.Contains(rec.Body.String(), `value="User admin"`) {
		t.Fatalf("bad date: %d %q", rec.Code, fieldErr(rec.Body.String(), "from"))
	}
	rec = f.request("GET", "/login/audit?from=2026-11-22&to=2026-11-21", AD, nil, false)
	if rec.Code != http.StatusUnprocessableEntity || fieldErr(rec.Body.String(), "to") == "" {
		t.Fatalf("dates the wrong way round: %d", rec.Code)
	}
	// A date range that holds the fixture's clock finds its entries.
	rec = f.request("GET", "/login/audit?from=2026-11-21&to=2026-11-21&actor=user+ADMIN", AD, nil, false)
	if n := strings.Count(rec.Body.String(), `<li class="card audit-entry"`); rec.Code != 200 || n < 10 {
		t.Fatalf("date range: %d, %d entries", rec.Code, n)
	}
}

func TestDeletingAUserDropsItsProfile(t *testing.T) {
	f := newFixture(t)
	id := f.user["other"]
	rec := f.request("POST", fmt.Sprintf("/login/users/%d/delete", id), AD, url.Values{}, false)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d %s", rec.Code, rec.Body)
	}
	if _, err := f.desk.Technician(ctx, id); !errors.Is(err, desk.ErrNotFound) {
		t.Fatalf("the profile outlived the account: %v", err)
	}
	ch, _ := f.desk.Channel(ctx, f.root, f.foreign)
	if slices.Contains(ch.Technicians, id) {
		t.Fatal("the channel still lists the deleted technician")
	}
}

func TestDashboardAlertsWhenKeyBudgetIsSpent(t *testing.T) {
	f := newFixture(t)
	f.desk.WithHasher(func(p string, s []byte) []byte { return append([]byte(p), s...) })
	f.desk.SetKeyBudget(2)
	for i := range 2 {
		f.desk.StartWithKey(ctx, desk.Site{}, "000000000", desk.Customer{}, fmt.Sprint("10.0.0.", i))
	}
	if body := f.request("GET", "/login/dashboard", AD, nil, false).Body.String(); !strings.Contains(body, "box-wide limit was reached") {
		t.Fatal("the admin dashboard does not show the key alert")
	}
	if body := f.request("GET", "/login/dashboard", T, nil, false).Body.String(); strings.Contains(body, "box-wide limit") {
		t.Fatal("a technician sees the key alert")
	}
}

func TestNewUserGetsAProfile(t *testing.T) {
	f := newFixture(t)
	rec := f.request("POST", "/login/users", AD, url.Values{"username": {"newtech"}, "display_name": {"Nia New"}, "password": {"a long enough password"}, "role": {T}}, false)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("create: %d %s", rec.Code, rec.Body)
	}
	users, _ := f.auth.Users(ctx, auth.Site)
	for _, u := range users {
		if u.Username == "newtech" {
			p, err := f.desk.Technician(ctx, u.ID)
			if err != nil || p.PublicName != "Nia New" || p.Availability != desk.Available || !p.Perms[desk.PermSessionKeys] {
				t.Fatalf("profile: %+v %v", p, err)
			}
			return
		}
	}
	t.Fatal("user not created")
}

func TestDisablingAUserTakesItOffThePublicList(t *testing.T) {
	f := newFixture(t)
	id := f.user["other"]
	if rec := f.request("POST", fmt.Sprintf("/login/users/%d/disable", id), AD, url.Values{}, false); rec.Code != http.StatusSeeOther {
		t.Fatalf("disable: %d", rec.Code)
	}
	if p, _ := f.desk.Technician(ctx, id); p.Availability != desk.Away {
		t.Fatalf("a disabled technician is %s", p.Availability)
	}
}

// TestAccountEventsAreAudited: sign-ins (right and wrong), sign-outs and
// account changes are in the /login audit log, with their source address;
// a name no account has is not kept.
func TestAccountEventsAreAudited(t *testing.T) {
	f := newFixture(t)
	tech := strings.ReplaceAll(T, "-", "") + "user"
	signIn := func(name, pw string) *httptest.ResponseRecorder {
		return f.request("POST", "/login", "", url.Values{"username": {name}, "password": {pw}}, false)
	}
	if rec := signIn(tech, "not the password"); rec.Code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", rec.Code)
	}
	if rec := signIn("hunter2-typed-as-a-name", "not the password"); rec.Code != http.StatusUnauthorized {
		t.Fatalf("unknown name: %d", rec.Code)
	}
	rec := signIn(tech, "a long enough password")
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", rec.Code)
	}
	device := false
	for _, c := range rec.Result().Cookies() {
		device = device || (c.Name == "__Host-sb-device-site" && c.Value != "" && c.MaxAge > 100*24*3600 && c.Secure && c.HttpOnly)
	}
	if !device {
		t.Fatal("a complete sign-in does not make the browser known")
	}
	if rec := f.request("POST", "/login/signout", "other", url.Values{}, false); rec.Code != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", rec.Code)
	}
	id := f.user[TM]
	for _, action := range []string{"disable", "enable", "sessions", "delete"} {
		if rec := f.request("POST", fmt.Sprintf("/login/users/%d/%s", id, action), AD, url.Values{}, false); rec.Code != http.StatusSeeOther {
			t.Fatalf("%s: %d", action, rec.Code)
		}
	}
	entries, err := f.desk.Audit(ctx, f.root, desk.AuditFilter{Kind: desk.KindAccount})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Action+" "+e.Object+" by "+e.Actor+" from "+e.Source)
	}
	slices.Reverse(got)
	want := []string{
		"sign-in-failed technicianuser by technicianuser from 192.0.2.1",
		"sign-in-failed (no such account) by (no such account) from 192.0.2.1",
		"sign-in technicianuser by technicianuser from 192.0.2.1",
		"sign-out otheruser by otheruser from 192.0.2.1",
		"disable technicianmanageruser by User admin from 192.0.2.1",
		"enable technicianmanageruser by User admin from 192.0.2.1",
		"end-sessions technicianmanageruser by User admin from 192.0.2.1",
		"delete technicianmanageruser by User admin from 192.0.2.1",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("account entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	body := f.request("GET", "/login/audit?kind=account", AD, nil, false).Body.String()
	if strings.Contains(body, "hunter2") || !strings.Contains(body, "Failed sign-in") || !strings.Contains(body, "From 192.0.2.1.") {
		t.Fatalf("audit page:\n%s", body)
	}
}

// TestDashboardShowsSignInAttack: a spray of wrong passwords at one account
// from many addresses shows on the admin dashboard.
func TestDashboardShowsSignInAttack(t *testing.T) {
	f := newFixture(t)
	for i := range 12 {
		f.clock.Advance(time.Hour) // past every delay
		if _, err := f.auth.Authenticate(ctx, auth.Site, "adminuser", "wrong password", fmt.Sprintf("198.51.100.%d", i)); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatal(err)
		}
	}
	f.signInAgain(AD, T) // the day of spraying outlived their sessions
	body := f.request("GET", "/login/dashboard", AD, nil, false).Body.String()
	if !strings.Contains(body, `id="signin-attacks"`) || !strings.Contains(body, "<strong>adminuser</strong>") {
		t.Fatalf("dashboard:\n%s", body)
	}
	if body := f.request("GET", "/login/dashboard", T, nil, false).Body.String(); strings.Contains(body, "signin-attacks") {
		t.Fatal("a technician sees the attack alert")
	}
}

func TestSecurityCardOnlyForAdministrators(t *testing.T) {
	f := newFixture(t)
	for _, role := range roles {
		body := f.request("GET", "/login/dashboard", role, nil, false).Body.String()
		if has := strings.Contains(body, `href="/login/security"`); has != (role == AD) {
			t.Errorf("%s: security card shown %v", role, has)
		}
	}
}

func TestSiteHoursRefusedWithTheirField(t *testing.T) {
	f := newFixture(t)
	base := url.Values{"name": {"Main"}, "hostnames": {"support.example.com"}, "survey_mode": {"issue"}, "tech_list": {"1"}}
	for field, extra := range map[string]url.Values{
		"time_zone":      {"time_zone": {"Mars/Olympus"}},
		"hours_monday":   {"time_zone": {"Europe/Paris"}, "hours_monday": {"17:00-09:00"}},
		"hours_tuesday":  {"time_zone": {"Europe/Paris"}, "hours_tuesday": {"09:00-12:00, 11:00-13:00"}},
		"hours_thursday": {"time_zone": {"Europe/Paris"}, "hours_thursday": {"nine to five"}},
		"holidays":       {"time_zone": {"Europe/Paris"}, "holidays": {"25/12/2026"}},
	} {
		form := cloneValues(base)
		for k, v := range extra {
			form[k] = v
		}
		before := f.snapshot()
		rec := f.request("POST", "/login/sites/"+strconv.FormatUint(f.site, 10), AD, form, false)
		if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Body.String(), `id="`+field+`-err"`) {
			t.Errorf("%s: %d %s", field, rec.Code, errorText(rec.Body.String()))
		}
		if f.snapshot() != before {
			t.Errorf("%s: refused hours were stored", field)
		}
		// What was typed is kept.
		if v := extra.Get(field); v != "" && !strings.Contains(rec.Body.String(), html.EscapeString(v)) {
			t.Errorf("%s: the form lost %q", field, v)
		}
	}
}

func TestSiteLook(t *testing.T) {
	f := newFixture(t)
	path := "/login/sites/" + strconv.FormatUint(f.site, 10)
	base := url.Values{"name": {"Main"}, "hostnames": {"support.example.com"}, "survey_mode": {"issue"}, "tech_list": {"1"},
		"display_name": {`<script>alert(1)</script> Acme`}, "accent": {"#1F6FEB"}}
	for name, bad := range map[string]url.Values{
		"svg logo":   {"logo": {`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`}},
		"bad colour": {"accent": {"red; background:url(x)"}},
	} {
		form := cloneValues(base)
		for k, v := range bad {
			form[k] = v
		}
		before := f.snapshot()
		rec := f.request("POST", path, AD, form, true)
		if rec.Code != http.StatusUnprocessableEntity || f.snapshot() != before {
			t.Errorf("%s: %d, or something was stored", name, rec.Code)
		}
	}
	form := cloneValues(base)
	form.Set("logo", string(pngBytes(t)))
	if rec := f.request("POST", path, AD, form, true); rec.Code != http.StatusSeeOther {
		t.Fatalf("save: %d %s", rec.Code, errorText(rec.Body.String()))
	}
	st, _ := f.desk.Site(ctx, f.site)
	if st.Branding.Logo != 1 || st.Branding.Accent != "#1f6feb" {
		t.Fatalf("branding %+v", st.Branding)
	}
	if logo, err := f.desk.SiteLogo(ctx, f.site); err != nil || !bytes.HasPrefix(logo, []byte("\x89PNG")) {
		t.Fatalf("logo: %v", err)
	}
	// The edit page shows the display name literally.
	if body := f.request("GET", path, AD, nil, false).Body.String(); strings.Contains(body, "<script>alert(1)") {
		t.Fatal("the display name was taken as markup")
	}
}
