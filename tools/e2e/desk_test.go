package e2e

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"

	cdp "github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/tools/daemon"
	"github.com/switchboardhq/switchboard/tools/testenv"
)

const deskPassword = "a long enough password"

// signIn signs p in at /login and waits for the dashboard.
func (p page) signIn(base, username, password string) {
	p.t.Helper()
	p.do("sign in as "+username,
		cdp.Navigate(base+"/login"),
		cdp.SendKeys(cdp.ID("username"), username),
		cdp.SendKeys(cdp.ID("password"), password),
		cdp.Submit(cdp.ID("password")),
	)
	p.waitText("main h1", "Welcome")
}

// linkTo returns the href of the link under css whose text is label.
func (p page) linkTo(css, label string) string {
	p.t.Helper()
	c, _ := json.Marshal(css)
	l, _ := json.Marshal(label)
	href, err := cdp.Run(p.ctx, cdp.Evaluate[string](fmt.Sprintf(
		`(() => { const a = [...document.querySelectorAll(%s)].find(a => a.textContent.trim() === %s); return a ? a.getAttribute("href") : "" })()`, c, l)))
	if err != nil || href == "" {
		p.fail(fmt.Sprintf("find the link %q", label), err)
	}
	return href
}

// eval runs a JavaScript expression of the test's own on the page.
func eval[T any](p page, expr string) T {
	p.t.Helper()
	v, err := cdp.Run(p.ctx, cdp.Evaluate[T](expr))
	if err != nil {
		p.fail("evaluate "+expr, err)
	}
	return v
}

// forbidden opens path and expects the 403 page.
func (p page) forbidden(base, path string) {
	p.t.Helper()
	p.do("open "+path, cdp.Navigate(base+path))
	p.waitText(".error-page .code", "Error 403")
}

var idInPath = regexp.MustCompile(`/(\d+)$`)

func lastID(t *testing.T, href string) string {
	t.Helper()
	m := idInPath.FindStringSubmatch(href)
	if m == nil {
		t.Fatalf("no id at the end of %q", href)
	}
	return m[1]
}

// TestBrowserDeskAdministration: an administrator creates a channel, a
// team and a technician with the Channel manager role who manages that
// channel; the channel manager edits its channel and reaches nothing else
// (hidden in the navigation, 403 by address); a technician reaches no
// administration page; the audit log shows each change with before and
// after. Bad input in the browser keeps what was typed.
func TestBrowserDeskAdministration(t *testing.T) {
	t.Parallel()
	d := daemon.Start(t, daemon.Options{})
	api := setupAdmin(t, d, "/login", "admin")
	// A technician and a channel the channel manager will not manage.
	if resp, body := api.Post("/login/users", map[string]string{"username": "tess", "display_name": "Tess Tech", "password": deskPassword, "role": "technician"}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add tess: %d %s", resp.StatusCode, body)
	}
	resp, body := api.Post("/login/channels", map[string]string{"name": "Tier 2", "expiry_minutes": "60"})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create Tier 2: %d %s", resp.StatusCode, body)
	}
	tier2 := strings.TrimPrefix(resp.Header.Get("Location")[strings.Index(resp.Header.Get("Location"), "#"):], "#channel-")

	browser := testenv.Browser(t)
	adm := page{t, testenv.NewTab(t, browser)}
	adm.signIn(d.Base, "admin", adminPassword)

	// The administrator creates a channel.
	adm.do("create a channel",
		cdp.Navigate(d.Base+"/login/channels/new"),
		cdp.SendKeys(cdp.ID("name"), "Mac design"),
		cdp.SendKeys(cdp.ID("description"), "Design studio Macs"),
		cdp.SetValue(cdp.ID("expiry_minutes"), "120"),
		cdp.Submit(cdp.ID("name")),
	)
	adm.waitText(".flash", "The channel was created.")
	macHref := adm.linkTo(`a[href^="/login/channels/"]`, "Mac design")
	adm.screenshot("desk-channels")

	// The same name again, with an expiry out of range: both messages next
	// to their fields, and the form keeps what was typed.
	adm.do("create a duplicate channel",
		cdp.Navigate(d.Base+"/login/channels/new"),
		cdp.SendKeys(cdp.ID("name"), "mac design"),
		cdp.SetValue(cdp.ID("expiry_minutes"), "2000"),
		cdp.Submit(cdp.ID("name")),
	)
	adm.waitText("#expiry_minutes-err", "between 30 minutes and 24 hours")
	if name, expiry := eval[string](adm, `document.getElementById("name").value`), eval[string](adm, `document.getElementById("expiry_minutes").value`); name != "mac design" || expiry != "2000" {
		t.Fatalf("the form lost what was typed: %q, %q", name, expiry)
	}
	adm.do("correct the expiry", cdp.SetValue(cdp.ID("expiry_minutes"), "90"), cdp.Submit(cdp.ID("name")))
	adm.waitText("#name-err", "Another channel already has this name")
	if name, expiry := eval[string](adm, `document.getElementById("name").value`), eval[string](adm, `document.getElementById("expiry_minutes").value`); name != "mac design" || expiry != "90" {
		t.Fatalf("the form lost what was typed: %q, %q", name, expiry)
	}
	if desc := eval[string](adm, `document.getElementById("name").getAttribute("aria-describedby")`); !strings.Contains(desc, "name-err") {
		t.Fatalf("the name field is not described by its error: %q", desc)
	}
	if eval[bool](adm, `document.getElementById("expiry_minutes-err") !== null`) {
		t.Fatal("the corrected expiry still has a message")
	}
	adm.screenshot("desk-channel-errors")

	// A user who becomes a channel manager on its technician page.
	adm.do("add a user",
		cdp.Navigate(d.Base+"/login/users"),
		cdp.SendKeys(cdp.ID("username"), "carol"),
		cdp.SendKeys(cdp.ID("display_name"), "Carol Chan"),
		cdp.SendKeys(cdp.ID("password"), deskPassword),
		cdp.SetValue(cdp.ID("role"), "technician"),
		cdp.Submit(cdp.ID("username")),
	)
	adm.waitText(".flash", "The user was added.")
	carolHref := adm.linkTo(`a[href^="/login/technicians/"]`, "Carol Chan")
	carol := lastID(t, carolHref)
	adm.do("open carol's profile", cdp.Navigate(d.Base+carolHref))
	adm.waitText("main h1", "Carol Chan")
	adm.do("make carol a channel manager",
		cdp.SetValue(cdp.ID("public_name"), "Carol"),
		cdp.SetValue(cdp.ID("display_number"), "5"),
		cdp.SetValue(cdp.ID("role"), "channel-manager"),
		cdp.Click(cdp.ID("perms_default")),
		cdp.Submit(cdp.ID("public_name")),
	)
	adm.waitText(".flash", "Your changes to the technician profile were saved.")
	if row := adm.text("#tech-" + carol); !strings.Contains(row, "Channel manager") {
		t.Fatalf("carol's row: %q", row)
	}

	// A team with carol, and carol as the manager of the channel.
	adm.do("create a team",
		cdp.Navigate(d.Base+"/login/teams/new"),
		cdp.SendKeys(cdp.ID("name"), "Designers"),
		cdp.Click(cdp.ID("members-"+carol)),
		cdp.Submit(cdp.ID("name")),
	)
	adm.waitText(".flash", "The team was created.")
	adm.do("make carol the manager of Mac design",
		cdp.Navigate(d.Base+macHref),
		cdp.Click(cdp.ID("managers-"+carol)),
		cdp.Submit(cdp.ID("name")),
	)
	adm.waitText(".flash", "Your changes to the channel were saved.")
	if row := adm.text("#channel-" + lastID(t, macHref)); !strings.Contains(row, "Carol Chan") {
		t.Fatalf("Mac design's row: %q", row)
	}

	// The channel manager sees its channel only, and can edit it.
	cm := page{t, testenv.NewTab(t, browser)}
	cm.signIn(d.Base, "carol", deskPassword)
	nav := cm.text("header nav")
	for _, want := range []string{"Channels", "Issue types", "Console", "My account"} {
		if !strings.Contains(nav, want) {
			t.Errorf("the channel manager's navigation lacks %s: %q", want, nav)
		}
	}
	for _, hidden := range []string{"Teams", "Technicians", "Users", "Public sites", "Audit log"} {
		if strings.Contains(nav, hidden) {
			t.Errorf("the channel manager's navigation shows %s: %q", hidden, nav)
		}
	}
	cm.do("open channels", cdp.Navigate(d.Base+"/login/channels"))
	if list := cm.text("main table"); !strings.Contains(list, "Mac design") || strings.Contains(list, "Tier 2") {
		t.Fatalf("the channel manager's channel list: %q", list)
	}
	if eval[bool](cm, `document.querySelector('a[href="/login/channels/new"]') !== null`) {
		t.Error("the channel manager is offered to create a channel")
	}
	cm.do("edit its channel",
		cdp.Navigate(d.Base+macHref),
		cdp.Clear(cdp.ID("description")),
		cdp.SendKeys(cdp.ID("description"), "Edited by Carol"),
		cdp.Submit(cdp.ID("name")),
	)
	cm.waitText(".flash", "Your changes to the channel were saved.")
	cm.do("open its channel again", cdp.Navigate(d.Base+macHref))
	if !eval[bool](cm, `document.getElementById("managers-`+carol+`").disabled && document.getElementById("default") === null && document.querySelector('form[action$="/delete"]') === null`) {
		t.Error("the channel manager may change managers, the default flag or delete its channel")
	}
	cm.screenshot("desk-channel-manager")
	for _, path := range []string{"/login/channels/" + tier2, "/login/teams", "/login/technicians/" + carol, "/login/sites", "/login/audit", "/login/users"} {
		cm.forbidden(d.Base, path)
	}

	// A technician opens no administration page.
	tech := page{t, testenv.NewTab(t, browser)}
	tech.signIn(d.Base, "tess", deskPassword)
	if nav := tech.text("header nav"); strings.Contains(nav, "Channels") || strings.Contains(nav, "Issue types") || strings.Contains(nav, "Users") {
		t.Errorf("the technician's navigation: %q", nav)
	}
	for _, path := range []string{"/login/channels", macHref, "/login/issue-types", "/login/channels/new", "/login/teams", "/login/audit"} {
		tech.forbidden(d.Base, path)
	}

	// The audit log shows each change, newest first, with before and after.
	adm.do("open the audit log", cdp.Navigate(d.Base+"/login/audit?kind=channel"))
	newest := strings.Join(strings.Fields(adm.text("ol.audit > li:first-child")), " ")
	for _, want := range []string{"Changed", "Channel Mac design", "by Carol Chan", "Description", "Design studio Macs", "Edited by Carol"} {
		if !strings.Contains(newest, want) {
			t.Errorf("newest channel change lacks %q:\n%s", want, newest)
		}
	}
	adm.do("open the whole audit log", cdp.Navigate(d.Base+"/login/audit"))
	all := strings.Join(strings.Fields(adm.text("ol.audit")), " ")
	for _, want := range []string{"Created Channel Mac design", "Created Channel Tier 2", "Created Team Designers", "Created Technician Carol Chan", "Channel manager", "by First Admin"} {
		if !strings.Contains(all, want) {
			t.Errorf("the audit log lacks %q:\n%s", want, all)
		}
	}
	// The manager change, before and after, on its own row.
	if row := eval[string](adm, `[...document.querySelectorAll("table.diff tr")].map(r => r.innerText).find(t => t.startsWith("Managers")) || ""`); !strings.Contains(row, "Carol Chan") {
		t.Errorf("no Managers row naming Carol Chan in the audit log: %q", row)
	}
	adm.screenshot("desk-audit")
}

// fieldErr returns the message next to field id on a page, unescaped.
func fieldErr(page, id string) string {
	m := regexp.MustCompile(`<span class="error" id="` + regexp.QuoteMeta(id) + `-err">([^<]*)</span>`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// inputValue returns the value the input id shows.
func inputValue(page, id string) (string, bool) {
	m := regexp.MustCompile(`<input id="` + regexp.QuoteMeta(id) + `" name="[^"]*" type="[^"]*" value="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		return "", false
	}
	return html.UnescapeString(m[1]), true
}

// textareaValue returns the text the textarea id shows.
func textareaValue(page, id string) string {
	m := regexp.MustCompile(`(?s)<textarea id="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</textarea>`).FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// TestDeskBadInputOnTheDaemon posts bad desk forms to the real daemon: each
// answer names the problem next to its field, keeps what was typed, and
// nothing is saved.
func TestDeskBadInputOnTheDaemon(t *testing.T) {
	t.Parallel()
	d := daemon.Start(t, daemon.Options{})
	c := setupAdmin(t, d, "/login", "admin")
	for _, f := range []struct{ path, what string }{
		{"/login/channels", "name=Tier+1&expiry_minutes=60&default=1"},
		{"/login/teams", "name=Blue"},
		{"/login/sites", "name=Main&hostnames=support.example.com&survey_mode=issue"},
	} {
		form := map[string]string{}
		for _, kv := range strings.Split(f.what, "&") {
			k, v, _ := strings.Cut(kv, "=")
			form[k] = strings.ReplaceAll(v, "+", " ")
		}
		if resp, body := c.Post(f.path, form); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("create %s: %d %s", f.path, resp.StatusCode, body)
		}
	}
	long := strings.Repeat("x", 65)
	cases := []struct {
		name, path string
		form       map[string]string
		field, msg string
		// kept is a field and the value the page must show again.
		keptField, kept string
	}{
		{"duplicate channel", "/login/channels", map[string]string{"name": "tier 1", "expiry_minutes": "60"}, "name", "Another channel already has this name", "name", "tier 1"},
		{"long channel name", "/login/channels", map[string]string{"name": long, "expiry_minutes": "60"}, "name", "Use at most 64 characters (this has 65)", "name", long},
		{"expiry too short", "/login/channels", map[string]string{"name": "Quick", "expiry_minutes": "29"}, "expiry_minutes", "Choose between 30 minutes and 24 hours", "expiry_minutes", "29"},
		{"expiry too long", "/login/channels", map[string]string{"name": "Slow", "expiry_minutes": "1441"}, "expiry_minutes", "Choose between 30 minutes and 24 hours", "name", "Slow"},
		{"expiry not a number", "/login/channels", map[string]string{"name": "Odd", "expiry_minutes": "soon"}, "expiry_minutes", "Enter the expiry as a number", "name", "Odd"},
		{"duplicate team", "/login/teams", map[string]string{"name": "BLUE"}, "name", "Another team already has this name", "name", "BLUE"},
		{"long team name", "/login/teams", map[string]string{"name": long}, "name", "Use at most 64 characters", "name", long},
		{"invalid host name", "/login/sites", map[string]string{"name": "Other", "hostnames": "bad_host!", "survey_mode": "issue"}, "hostnames", `"bad_host!" is not a host name`, "name", "Other"},
		{"duplicate host name", "/login/sites", map[string]string{"name": "Other", "hostnames": "help.example.com\nSupport.Example.com", "survey_mode": "issue"}, "hostnames", "support.example.com already belongs to another site", "name", "Other"},
		{"host name twice", "/login/sites", map[string]string{"name": "Other", "hostnames": "a.example.com\na.example.com", "survey_mode": "issue"}, "hostnames", "a.example.com is listed twice", "name", "Other"},
		{"long site name", "/login/sites", map[string]string{"name": long, "hostnames": "b.example.com", "survey_mode": "issue"}, "name", "Use at most 64 characters", "name", long},
		{"bad code name", "/login/issue-types", map[string]string{"name": "Printer", "code_name": "Not OK!", "priority": "3", "channel": "1"}, "code_name", "lower-case letters", "code_name", "Not OK!"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, page := c.Post(tc.path, tc.form)
			if resp.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("%d, want 422", resp.StatusCode)
			}
			if msg := fieldErr(page, tc.field); !strings.Contains(msg, tc.msg) {
				t.Errorf("message next to %s: %q, want %q", tc.field, msg, tc.msg)
			}
			if !strings.Contains(page, `aria-describedby="`+tc.field+`-hint `+tc.field+`-err"`) && !strings.Contains(page, `aria-describedby="`+tc.field+`-err"`) {
				t.Errorf("%s is not described by its error", tc.field)
			}
			got, ok := inputValue(page, tc.keptField)
			if !ok {
				got = textareaValue(page, tc.keptField)
			}
			if got != tc.kept {
				t.Errorf("%s shows %q again, want %q", tc.keptField, got, tc.kept)
			}
			if tc.field == "hostnames" && textareaValue(page, "hostnames") != tc.form["hostnames"] {
				t.Errorf("host names not kept: %q", textareaValue(page, "hostnames"))
			}
		})
	}
	// Nothing refused was saved.
	for path, want := range map[string]int{"/login/channels": 1, "/login/teams": 1, "/login/sites": 1} {
		_, page := c.Page(path)
		if n := strings.Count(page, `<tr id="`); n != want {
			t.Errorf("%s lists %d rows after refused forms, want %d", path, n, want)
		}
	}
	// Deleting the default channel is refused, saying why and what to do.
	resp, page := c.Post("/login/channels/1/delete", nil)
	msg := regexp.MustCompile(`<p class="alert" role="alert" id="delete-err">([^<]*)</p>`).FindStringSubmatch(page)
	if resp.StatusCode != http.StatusConflict || msg == nil || !strings.Contains(html.UnescapeString(msg[1]), `Channel "Tier 1" is the default channel. Make another channel the default first.`) {
		t.Fatalf("delete the default channel: %d %v", resp.StatusCode, msg)
	}
	if _, page := c.Page("/login/channels"); !strings.Contains(page, "Tier 1") {
		t.Fatal("the default channel was deleted")
	}
}
