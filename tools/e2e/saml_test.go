package e2e

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	cdp "github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/tools/testenv"
)

// idpSignIn fills SimpleSAMLphp's login form on p and submits it; the IdP
// then posts its answer back through the browser by itself.
func (p page) idpSignIn(username, password string) {
	p.t.Helper()
	// Our own sign-in page has a username field too: wait for the IdP's.
	p.truthy("the identity provider's login page", `location.pathname.endsWith("/loginuserpass.php") && document.readyState === "complete"`)
	p.do("sign in at the identity provider",
		cdp.WaitVisible(cdp.CSS(`input[name=username]`)),
		cdp.SendKeys(cdp.CSS(`input[name=username]`), username),
		cdp.SendKeys(cdp.CSS(`input[name=password]`), password),
		cdp.Submit(cdp.CSS(`input[name=password]`)),
	)
}

// TestSAMLWithSimpleSAMLphp is the interoperability gate: Debian's
// SimpleSAMLphp as the identity provider, headless Chromium as the
// browsers (so SameSite rules are real), the daemon as both service
// providers.
//   - A customer of a site whose portal login is required signs in at the
//     IdP and lands on the survey with the name and e-mail filled and
//     read-only; making them editable in the page and posting other values
//     changes nothing; the technician sees the green check.
//   - A technician signs in to /console through the same IdP, and the
//     account is created with the role and team its group maps to.
//   - None of the attribute values reaches the daemon's log.
func TestSAMLWithSimpleSAMLphp(t *testing.T) {
	e := newDeskEnv(t)
	defer func() {
		if t.Failed() {
			t.Logf("daemon output:\n%s", e.d.Output())
		}
	}()
	ann := e.technician("ann", "Ann Archer")
	help := e.channel("Help desk", 60, ann)
	issue := e.create("/login/issue-types", url.Values{"name": {"Laptop"}, "code_name": {"laptop"}, "priority": {"1"}, "channel": {help}})
	team := e.create("/login/teams", url.Values{"name": {"Helpdesk"}})
	e.site(url.Values{"hostnames": {"localhost"}, "survey": {"1"}, "session_key": {"1"}, "portal_login": {"required"},
		"custom_rows": {"1"}, "custom_label_0": {"E-mail"}, "custom_max_0": {"200"}})

	u, _ := url.Parse(e.d.Base)
	base := "https://localhost:" + u.Port()
	idp := testenv.StartSimpleSAML(t, []testenv.SAMLServiceProvider{
		{EntityID: base + "/saml/metadata", ACS: base + "/saml/acs"},
		{EntityID: base + "/login/saml/metadata", ACS: base + "/login/saml/acs"},
	}, []testenv.SAMLUser{
		{Username: "student", Password: "studentpass", Attrs: map[string][]string{"uid": {"student"}, "mail": {"student@example.org"}, "displayName": {"Stu Dent"}}},
		{Username: "tess", Password: "tesspass", Attrs: map[string][]string{"uid": {"tess"}, "mail": {"tess.tech@example.org"}, "displayName": {"Tess Tech"}, "eduPersonAffiliation": {"grp-helpdesk", "staff"}}},
	})

	// The site's portal login and the technicians' sign-in, set up in
	// /login, each pinning the IdP's metadata fetched once from its URL.
	resp, body := postValues(t, e.d, e.admin, "/login/sites/1/sso", url.Values{"base": {base}, "name": {"Example IdP"}, "metadata_url": {idp.Metadata},
		"map_name": {testenv.OIDDisplayName}, "map_email": {testenv.OIDMail}, "map_custom:E-mail": {testenv.OIDMail}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("site portal login: %d %s", resp.StatusCode, body)
	}
	_, pg := e.admin.Page("/login/sites/1/sso")
	for _, want := range []string{base + "/saml/acs", base + "/saml/metadata", idp.Base + "/saml2/idp/metadata.php", "SHA-256 fingerprint"} {
		if !strings.Contains(pg, want) {
			t.Fatalf("the portal login page lacks %q", want)
		}
	}
	resp, body = postValues(t, e.d, e.admin, "/login/security", url.Values{"enabled": {"1"}, "match_by": {"email"}, "jit": {"1"}, "default_role": {""},
		"base": {base}, "name": {"Example IdP"}, "metadata_url": {idp.Metadata},
		"map_email": {testenv.OIDMail}, "map_name": {testenv.OIDDisplayName}, "map_groups": {testenv.OIDAffiliation},
		"groups": {"grp-helpdesk | technician | Helpdesk\nstaff | admin |"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("technicians' sign-in: %d %s", resp.StatusCode, body)
	}

	// The customer: the site asks to sign in before anything else.
	cust := e.tab()
	cust.do("open the site", cdp.Navigate(base+"/"))
	cust.waitText("#portal-signin", "Sign in with Example IdP")
	if got := eval[bool](cust, `!!document.querySelector("form[action='/start/survey']")`); got {
		t.Fatal("the survey shows before the portal login")
	}
	cust.clickSubmit("#portal-signin")
	cust.idpSignIn("student", "studentpass")
	cust.waitText("#portal-identity", "Signed in as")
	for id, want := range map[string]string{"name": "Stu Dent", "custom_0": "student@example.org"} {
		if v := eval[string](cust, `document.getElementById(`+js(id)+`).value`); v != want {
			t.Fatalf("#%s holds %q, want %q", id, v, want)
		}
		if !eval[bool](cust, `document.getElementById(`+js(id)+`).readOnly`) {
			t.Fatalf("#%s is editable", id)
		}
	}
	// Tampering: make the fields editable and post other values.
	// All in one script: no DOM node ids to go stale between steps.
	cust.do("tamper with the read-only fields", cdp.Evaluate[cdp.Void](`for (const id of ["name", "custom_0"]) { const f = document.getElementById(id); f.readOnly = false; f.value = "Mallory"; }
		document.getElementById("issue_type").value = `+js(issue)))
	cust.clickSubmit(`form[action='/start/survey'] button[type=submit]`)
	cust.waitText("h1", "queue")
	cust.do("say hello", cdp.SendKeys(cdp.ID("text"), "Hello from Stu"))
	cust.do("send it", cdp.Click(cdp.CSS(`#chat-form button[type=submit]`)))
	cust.waitText("#messages", "Hello from Stu")

	// Ann's console: the session is Stu Dent's, verified, whatever was posted.
	con := e.console("ann")
	con.waitText("#queues .c-name", "Stu Dent")
	tip := eval[string](con, `document.querySelector("#queues .session .verified").title`)
	if !strings.Contains(tip, "student@example.org") || !strings.Contains(tip, "Example IdP") {
		t.Fatalf("the check's tooltip says %q", tip)
	}
	if strings.Contains(eval[string](con, `document.getElementById("queues").textContent`), "Mallory") {
		t.Fatal("a posted value replaced what the IdP said")
	}
	sessionHref := eval[string](con, `document.querySelector("#queues .session a.button").getAttribute("href")`)
	con.do("open the session", cdp.Navigate(e.d.Base+sessionHref))
	con.waitText("h1", "Stu Dent")
	if !eval[bool](con, `!!document.querySelector("h1 .verified")`) {
		t.Fatal("no check on the session page")
	}
	con.waitText("#messages", "Hello from Stu")
	con.truthy("the customer's message in the chat has the check", `!!document.querySelector("#messages .msg.from-customer .verified[title*='student@example.org']")`)
	cust.do("say more", cdp.SendKeys(cdp.ID("text"), "Still there?"))
	cust.do("send it", cdp.Click(cdp.CSS(`#chat-form button[type=submit]`)))
	con.waitText("#messages", "Still there?")
	con.truthy("a live message has the check too", `document.querySelectorAll("#messages .msg.from-customer .verified").length === 2`)
	if !strings.Contains(eval[string](con, `document.getElementById("trail").textContent`), "verified by the portal login") {
		t.Fatal("the trail does not say the customer was verified")
	}

	// A technician signs in to /console with the IdP: the account is made
	// with the role and team of the groups.
	tess := e.tab()
	tess.do("open the sign-in page", cdp.Navigate(base+"/login?next=%2Fconsole"))
	tess.clickSubmit("#sso-signin")
	tess.idpSignIn("tess", "tesspass")
	tess.waitText("#queues", "My queue")
	_, users := e.admin.Page("/login/users")
	if m := regexp.MustCompile(`tess\.tech@example\.org[\s\S]{0,400}?Technician`).FindString(users); m == "" {
		t.Fatalf("no technician account for tess on /login/users:\n%s", users)
	}
	if strings.Count(users, ">Single sign-on</span>") != 1 {
		t.Fatal("/login/users does not mark tess's account, and only it, as made by single sign-on")
	}
	_, teamPage := e.admin.Page("/login/teams/" + team)
	if !strings.Contains(teamPage, "Tess Tech") {
		t.Fatal("tess is not in the Helpdesk team")
	}
	// Signing in again finds the same account.
	tess2 := e.tab()
	tess2.do("open the sign-in page again", cdp.Navigate(base+"/login"))
	tess2.clickSubmit("#sso-signin")
	tess2.idpSignIn("tess", "tesspass")
	tess2.waitText("h1", "")
	if got := strings.Count(func() string { _, p := e.admin.Page("/login/users"); return p }(), "tess.tech@example.org"); got != 1 {
		t.Fatalf("tess appears %d times on /login/users", got)
	}

	// Nothing the IdP said reaches the daemon's log.
	out := e.d.Output()
	for _, secret := range []string{"student@example.org", "Stu Dent", "tess.tech", "Tess Tech", "SAMLResponse", "Assertion", "grp-helpdesk"} {
		if strings.Contains(out, secret) {
			t.Errorf("the daemon's log holds %q", secret)
		}
	}
}
