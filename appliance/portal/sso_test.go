package portal

import (
	"bytes"
	"html"
	"image"
	"image/png"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/samlsp"
	"github.com/switchboardhq/switchboard/appliance/samlsp/samltest"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// ssoFixture is the portal with a site whose portal login is required,
// pinned to an in-test identity provider.
type ssoFixture struct {
	*fixture
	sso  *samlsp.Service
	idp  *samltest.IdP
	ep   samlsp.Endpoints
	logs *bytes.Buffer
}

func newSSOFixture(t *testing.T) *ssoFixture {
	t.Helper()
	f := &ssoFixture{fixture: newFixture(t), logs: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	if f.sso, err = samlsp.New(ctx, f.box.DB, time.Now, log); err != nil {
		t.Fatal(err)
	}
	f.portal.SetSSO(f.sso)
	f.portal.log = log
	f.site.PortalLogin = desk.PortalRequired
	if f.site, err = f.desk.SaveSite(ctx, f.admin, f.site); err != nil {
		t.Fatal(err)
	}
	f.idp = samltest.New("https://idp.example.org/idp", time.Now())
	idp, _, err := samlsp.ParseMetadata(f.idp.Metadata(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	err = f.sso.SaveProvider(ctx, samlsp.Provider{Key: samlsp.SiteKey(f.site.ID), Base: f.srv.URL, Name: "Acme IdP", IdP: &idp,
		Mapping: map[string]string{"name": "displayName", "email": "mail", "custom:Asset tag": "asset"}})
	if err != nil {
		t.Fatal(err)
	}
	f.ep = samlsp.EndpointsAt(f.srv.URL, "/saml")
	return f
}

// begin starts a sign-in from c and returns the request id.
func (f *ssoFixture) begin(t *testing.T, c *client) string {
	t.Helper()
	code, loc, _ := c.post("/saml/login", url.Values{"next": {"/"}})
	if code != http.StatusSeeOther || !strings.HasPrefix(loc, f.idp.SSO+"?SAMLRequest=") {
		t.Fatalf("start the sign-in: %d %s", code, loc)
	}
	u, _ := url.Parse(loc)
	id, err := samltest.RequestID(u)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *ssoFixture) answer(id string) samltest.Answer {
	return samltest.Answer{InResponseTo: id, Audience: f.ep.EntityID, Destination: f.ep.ACS, NameID: "_transient42", SignAssertion: true,
		Attributes: map[string]string{"displayName": "Stu Dent", "mail": "student@example.org", "asset": "AT-7"}}
}

// acs posts an answer the way the IdP's page does: from another site, so
// no CSRF token, with the browser's cookies.
func (c *client) acs(body []byte) (int, string, *http.Response) {
	c.t.Helper()
	resp, err := c.http.PostForm(c.f.srv.URL+"/saml/acs", samltest.Form(body))
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String(), resp
}

func setsCookie(resp *http.Response, name string) bool {
	for _, c := range resp.Cookies() {
		if c.Name == "__Host-"+name && c.Value != "" {
			return true
		}
	}
	return false
}

func TestPortalLoginRequired(t *testing.T) {
	f := newSSOFixture(t)
	c := f.customer(t)
	_, home := c.get("/")
	if !strings.Contains(home, "Sign in with Acme IdP") || strings.Contains(home, `action="/start/survey"`) || !strings.Contains(home, `action="/start/key"`) {
		t.Fatal("the home page of a required portal login is not the sign-in page with the key form")
	}
	// Every start method but the key is refused server-side before sign-in.
	for path, want := range map[string]string{"/start/survey": "/saml/login?next=%2F", "/start/technician/2": "/saml/login?next=%2Fstart%2Ftechnician%2F2", "/start/code": "/saml/login?next=%2F"} {
		code, loc, _ := c.post(path, url.Values{"name": {"Mallory"}})
		if code != http.StatusSeeOther || loc != want {
			t.Errorf("POST %s before signing in: %d %s", path, code, loc)
		}
	}
	for _, path := range []string{"/start/technician/2", "/present", "/p/sometoken"} {
		if code, loc := c.getLoc(path); code != http.StatusSeeOther || loc != "/saml/login?next="+url.QueryEscape(path) {
			t.Errorf("GET %s before signing in: %d %s", path, code, loc)
		}
	}
	// A support link's join, whatever its token.
	if code, loc, _ := c.post("/l/sometoken", url.Values{}); code != http.StatusSeeOther || loc != "/saml/login?next=%2Fl%2Fsometoken" {
		t.Errorf("POST a support link before signing in: %d %s", code, loc)
	}
	// A wrong session key is answered on the sign-in page, keeping the key.
	code, _, page := c.post("/start/key", url.Values{"key": {"123 456 789"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(page, "Sign in with Acme IdP") || !strings.Contains(page, `value="123 456 789"`) {
		t.Fatalf("wrong key: %d", code)
	}
	qs, _ := f.desk.Queues(ctx, f.tech)
	for _, q := range qs {
		if len(q.Sessions) > 0 {
			t.Fatalf("a session started before the portal login: %+v", q.Sessions)
		}
	}

	// Sign in: the survey shows the IdP's values read-only.
	id := f.begin(t, c)
	code, _, resp := c.acs(samltest.XML(f.idp.Response(f.answer(id))))
	if code != http.StatusSeeOther || resp.Header.Get("Location") != "/" || !setsCookie(resp, portalCookie) {
		t.Fatalf("acs: %d %s", code, resp.Header.Get("Location"))
	}
	_, home = c.get("/")
	for _, want := range []string{`id="portal-identity"`, `value="Stu Dent" readonly`, `value="AT-7" readonly`} {
		if !strings.Contains(home, want) {
			t.Errorf("the signed-in home page lacks %s", want)
		}
	}
	// What is posted for a mapped field is ignored.
	code, loc, _ := c.post("/start/technician/2", url.Values{"name": {"Mallory"}, "custom_0": {"EVIL"}, "company": {"Acme"}})
	if code != http.StatusSeeOther || loc != "/session" {
		t.Fatalf("start: %d %s", code, loc)
	}
	qs, _ = f.desk.Queues(ctx, f.tech)
	got := qs[0].Sessions[0]
	cu := got.Customer
	if cu.Name != "Stu Dent" || cu.Company != "Acme" || cu.Custom[0].Value != "AT-7" || cu.Verified == nil ||
		cu.Verified.Email != "student@example.org" || cu.Verified.NameID != "_transient42" || cu.Verified.By != "Acme IdP" {
		t.Fatalf("the session's customer: %+v %+v", cu, cu.Verified)
	}
	if !strings.Contains(cu.Verified.Summary, "Signed in as student@example.org via Acme IdP") {
		t.Fatalf("summary %q", cu.Verified.Summary)
	}
	ss, _ := f.desk.Session(ctx, f.tech, got.ID)
	if !trailHas(ss, "verified") {
		t.Fatal("the trail does not record the verification")
	}
	if strings.Contains(f.logs.String(), "student") || strings.Contains(f.logs.String(), "Stu Dent") {
		t.Fatalf("the log holds the IdP's values:\n%s", f.logs)
	}
}

func trailHas(ss desk.Session, event string) bool {
	for _, te := range ss.Trail {
		if te.Event == event {
			return true
		}
	}
	return false
}

func (c *client) getLoc(path string) (int, string) {
	resp, err := c.http.Get(c.f.srv.URL + path)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

// TestPortalLoginRefusals: each refused answer gives the page that says
// why and offers to start again, signs nobody in, keeps its reason for the
// admin, and logs nothing the answer said.
func TestPortalLoginRefusals(t *testing.T) {
	f := newSSOFixture(t)
	other, err := f.desk.SaveSite(ctx, f.admin, desk.Site{Name: "Other", Hostnames: []string{"other.example"}, SessionKey: true, PortalLogin: desk.PortalRequired})
	if err != nil {
		t.Fatal(err)
	}
	otherIdP, _, _ := samlsp.ParseMetadata(f.idp.Metadata(), time.Now())
	f.sso.SaveProvider(ctx, samlsp.Provider{Key: samlsp.SiteKey(other.ID), Base: "https://other.example", IdP: &otherIdP})

	var replay []byte
	cases := []struct {
		name  string
		body  func(c *client) []byte
		words string
	}{
		{"unsigned", func(c *client) []byte {
			a := f.answer(f.begin(t, c))
			a.SignAssertion = false
			return samltest.XML(f.idp.Response(a))
		}, "is not signed"},
		{"XSW: an evil assertion before the signed one", func(c *client) []byte {
			id := f.begin(t, c)
			s := f.idp.Assertion(f.answer(id))
			ev := f.answer(id)
			ev.SignAssertion, ev.Attributes = false, map[string]string{"displayName": "Admin"}
			e := f.idp.Assertion(ev)
			e.RemoveAttr("ID")
			e.CreateAttr("ID", s.SelectAttrValue("ID", ""))
			return samltest.XML(f.idp.Response(f.answer(id), e, s))
		}, "structure is refused"},
		{"unsolicited", func(c *client) []byte { return samltest.XML(f.idp.Response(f.answer(""))) }, "not asked for"},
		{"replayed", func(c *client) []byte { return replay }, "already used"},
		{"wrong audience", func(c *client) []byte {
			a := f.answer(f.begin(t, c))
			a.Audience = "https://other.example/saml/metadata"
			return samltest.XML(f.idp.Response(a))
		}, "another service"},
		{"another site's request", func(c *client) []byte {
			// A request made by the other site's provider, answered here.
			u, browser, err := f.sso.Begin(ctx, samlsp.Provider{Key: samlsp.SiteKey(other.ID), Base: "https://other.example", IdP: &otherIdP}, samlsp.EndpointsAt("https://other.example", "/saml"), "/")
			if err != nil {
				t.Fatal(err)
			}
			_ = browser
			id, _ := samltest.RequestID(u)
			return samltest.XML(f.idp.Response(f.answer(id)))
		}, "another site"},
	}
	// The replayed answer: one accepted once, in another browser.
	first := f.customer(t)
	replay = samltest.XML(f.idp.Response(f.answer(f.begin(t, first))))
	if code, _, _ := first.acs(replay); code != http.StatusSeeOther {
		t.Fatalf("the first use: %d", code)
	}
	f.logs.Reset()
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := f.customer(t)
			code, page, resp := c.acs(tc.body(c))
			if code != http.StatusForbidden || !strings.Contains(page, tc.words) || !strings.Contains(page, "Start the sign-in again") {
				t.Fatalf("%d, page lacks %q or the way to start again", code, tc.words)
			}
			if setsCookie(resp, portalCookie) {
				t.Fatal("a refused answer signed the browser in")
			}
			if _, home := c.get("/"); strings.Contains(home, "portal-identity") {
				t.Fatal("the browser counts as signed in")
			}
			fails, _ := f.sso.Failures(ctx, samlsp.SiteKey(f.site.ID))
			if len(fails) != i+1 || !strings.Contains(fails[0].Reason, tc.words) {
				t.Fatalf("the admin's list: %+v", fails)
			}
		})
	}
	// The whole corpus, answered as pages: each says why, offers to start
	// again, signs nobody in and is on the admin's list.
	limit := f.portal.saml
	f.portal.saml = web.NewLimiter(1000, time.Millisecond)
	for _, at := range f.idp.Attacks() {
		t.Run("corpus/"+at.Name, func(t *testing.T) {
			c := f.customer(t)
			code, page, resp := c.acs(at.Build(f.answer(f.begin(t, c))))
			fails, _ := f.sso.Failures(ctx, samlsp.SiteKey(f.site.ID))
			if code != http.StatusForbidden || len(fails) == 0 || !strings.Contains(page, html.EscapeString(fails[0].Reason)) || !strings.Contains(page, "Start the sign-in again") {
				t.Fatalf("%d, the page does not say why or offer to start again", code)
			}
			if setsCookie(resp, portalCookie) {
				t.Fatal("a refused answer signed the browser in")
			}
		})
	}
	f.portal.saml = limit
	for _, s := range []string{"student", "Stu Dent", "Admin", "SAMLResponse"} {
		if strings.Contains(f.logs.String(), s) {
			t.Errorf("the log holds %q:\n%s", s, f.logs)
		}
	}
	// GET on the ACS (the redirect binding) is refused the same way.
	c := f.customer(t)
	resp, _ := c.http.Get(f.srv.URL + "/saml/acs?SAMLResponse=AAAA")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("GET acs: %d", resp.StatusCode)
	}
	resp.Body.Close()
	// One network posting answers in a loop is slowed down, and the
	// admin's list stays bounded.
	limited := false
	for range 25 {
		if code, _, _ := c.acs([]byte("<x/>")); code == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("25 answers in a row from one network were all taken")
	}
	if fails, _ := f.sso.Failures(ctx, samlsp.SiteKey(f.site.ID)); len(fails) > samlsp.MaxFailures {
		t.Fatalf("%d failures kept", len(fails))
	}
}

func TestPortalLoginOptional(t *testing.T) {
	f := newSSOFixture(t)
	f.site.PortalLogin = desk.PortalOptional
	if _, err := f.desk.SaveSite(ctx, f.admin, f.site); err != nil {
		t.Fatal(err)
	}
	c := f.customer(t)
	_, home := c.get("/")
	if !strings.Contains(home, `action="/start/survey"`) || !strings.Contains(home, "Sign in with Acme IdP") || strings.Contains(home, "readonly") {
		t.Fatal("the optional portal login's home page: the survey with a sign-in offer and nothing locked")
	}
	// Without signing in, customers type their own details.
	code, loc, _ := c.post("/start/technician/2", url.Values{"name": {"Cleo"}, "custom_0": {"AT-1"}})
	if code != http.StatusSeeOther || loc != "/session" {
		t.Fatalf("start: %d %s", code, loc)
	}
	qs, _ := f.desk.Queues(ctx, f.tech)
	if cu := qs[0].Sessions[0].Customer; cu.Name != "Cleo" || cu.Verified != nil {
		t.Fatalf("unverified customer: %+v", cu)
	}
	// Signing in fills and locks them.
	c2 := f.customer(t)
	if code, _, _ := c2.acs(samltest.XML(f.idp.Response(f.answer(f.begin(t, c2))))); code != http.StatusSeeOther {
		t.Fatalf("acs: %d", code)
	}
	if _, home = c2.get("/start/technician/2"); !strings.Contains(home, `value="Stu Dent" readonly`) {
		t.Fatal("the technician form of a signed-in customer is not locked")
	}
	// Signing out forgets the identity.
	c2.post("/saml/logout", url.Values{})
	if _, home = c2.get("/"); strings.Contains(home, "portal-identity") {
		t.Fatal("still signed in after signing out")
	}
}

// TestClosedSite: outside the opening hours only the session key is
// offered, with the closed message and when the site opens; every other
// start method is refused on the server.
func TestClosedSite(t *testing.T) {
	f := newFixture(t)
	opens := time.Now().AddDate(0, 0, 3).Format(time.DateOnly)
	f.site.Hours = &desk.Hours{TimeZone: "Europe/Paris", Closed: "<b>Closed</b> for the holidays",
		Special: []desk.SpecialDay{{Date: opens, Spans: []desk.Span{{From: "09:00", To: "17:00"}}}}}
	var err error
	if f.site, err = f.desk.SaveSite(ctx, f.admin, f.site); err != nil {
		t.Fatal(err)
	}
	c := f.customer(t)
	_, home := c.get("/")
	if !strings.Contains(home, "&lt;b&gt;Closed&lt;/b&gt; for the holidays") || !strings.Contains(home, `action="/start/key"`) ||
		strings.Contains(home, `action="/start/survey"`) || strings.Contains(home, `/start/technician/2`) || strings.Contains(home, `action="/start/code"`) {
		t.Fatal("the closed home page shows more than the session key and the closed message")
	}
	if !strings.Contains(home, "09:00 (Europe/Paris)") {
		t.Fatal("the closed page does not say when the site opens")
	}
	for _, path := range []string{"/start/technician/2", "/start/survey", "/start/code", "/sos/anything", "/l/anything"} {
		code, _, page := c.post(path, url.Values{"name": {"Cleo"}})
		if code != http.StatusConflict || !strings.Contains(page, "We open again on") {
			t.Errorf("POST %s while closed: %d", path, code)
		}
	}
	if code, _, _ := c.post("/start/key", url.Values{"key": {"123456789"}}); code != http.StatusUnprocessableEntity {
		t.Errorf("the session key while closed: %d, want the wrong-key answer", code)
	}
	// Open around the clock: everything is back.
	all := desk.Span{From: "00:00", To: "24:00"}
	f.site.Hours = &desk.Hours{TimeZone: "America/New_York", Weekly: [7][]desk.Span{{all}, {all}, {all}, {all}, {all}, {all}, {all}}}
	f.desk.SaveSite(ctx, f.admin, f.site)
	if _, home = c.get("/"); !strings.Contains(home, `action="/start/survey"`) || strings.Contains(home, `id="closed"`) {
		t.Fatal("an open site hides its start methods")
	}
}

// TestSiteLook: the site's name, logo and accent are on its pages, error
// and closed pages included, and the display name is text.
func TestSiteLook(t *testing.T) {
	f := newFixture(t)
	f.site.Branding = desk.Branding{DisplayName: `<img src=x onerror=alert(1)> Acme`, Accent: "#1f6feb"}
	var err error
	if f.site, err = f.desk.SaveSite(ctx, f.admin, f.site); err != nil {
		t.Fatal(err)
	}
	logo := func() []byte {
		var b bytes.Buffer
		png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 20, 10)))
		return b.Bytes()
	}()
	if _, err := f.desk.SetSiteLogo(ctx, f.admin, f.site.ID, logo); err != nil {
		t.Fatal(err)
	}
	c := f.customer(t)
	for _, path := range []string{"/", "/no/such/page", "/l/not-a-link"} {
		_, page := c.get(path)
		if !strings.Contains(page, `class="site-logo" src="/brand/logo.png?v=1"`) || !strings.Contains(page, `href="/brand/site.css?c=1f6feb"`) ||
			!strings.Contains(page, "&lt;img src=x onerror=alert(1)&gt; Acme") || strings.Contains(page, "<img src=x") {
			t.Errorf("%s lacks the site's look", path)
		}
	}
	resp, _ := c.http.Get(f.srv.URL + "/brand/site.css")
	var css bytes.Buffer
	css.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.Contains(css.String(), "--accent: #1f6feb") {
		t.Fatalf("site.css: %s", css.String())
	}
	resp, _ = c.http.Get(f.srv.URL + "/brand/logo.png")
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("logo: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}
