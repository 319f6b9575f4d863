package portal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/tools/deskfix"
)

var ctx = context.Background()

type fixture struct {
	srv    *httptest.Server
	desk   *desk.Service
	portal *Portal
	admin  desk.Actor
	tech   desk.Actor
	site   desk.Site
	box    *deskfix.Box
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	box := deskfix.New(t, deskfix.Config{RealClock: true})
	d, b, rt, log := box.Desk, box.Bus, box.Router, box.Log
	p := New(d, b, 30, log)
	p.Routes(rt)
	f := &fixture{srv: httptest.NewTLSServer(rt.Handler()), desk: d, portal: p, box: box}
	t.Cleanup(f.srv.Close)
	f.admin = desk.Actor{UserID: 1, Name: "root", Role: desk.RoleAdmin, Perms: desk.RoleDefaults(desk.RoleAdmin)}
	if _, err := d.SaveTechnician(ctx, f.admin, desk.Technician{UserID: 2, PrivateName: "Ann", PublicName: "Ann from IT", DisplayNumber: 1}, desk.RoleTechnician); err != nil {
		t.Fatal(err)
	}
	var err error
	f.site, err = d.SaveSite(ctx, f.admin, desk.Site{Name: "Acme support", Hostnames: []string{"support.example"}, TechList: true, SessionKey: true, Survey: true, SOSCall: true, AskName: true, AskCompany: true,
		Custom: []desk.CustomField{{Label: "Asset tag", MaxLen: 20}}, Agreement: "We may see your screen."})
	if err != nil {
		t.Fatal(err)
	}
	f.tech, _ = d.ActorFor(ctx, 2, "Ann", desk.RoleTechnician)
	return f
}

// client is a customer's browser.
type client struct {
	t    *testing.T
	f    *fixture
	http *http.Client
	csrf string
}

func (f *fixture) customer(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	hc := *f.srv.Client() // a copy: each customer has its own cookies
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &client{t: t, f: f, http: &hc}
	_, body := c.get("/")
	c.csrf = regexp.MustCompile(`name="csrf-token" content="([^"]+)"`).FindStringSubmatch(body)[1]
	return c
}

func (c *client) get(path string) (int, string) {
	resp, err := c.http.Get(c.f.srv.URL + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *client) post(path string, form url.Values) (int, string, string) {
	form.Set("csrf_token", c.csrf)
	resp, err := c.http.PostForm(c.f.srv.URL+path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func TestTechnicianListToChat(t *testing.T) {
	f := newFixture(t)
	c := f.customer(t)
	_, home := c.get("/")
	if !strings.Contains(home, "Ann from IT") || !strings.Contains(home, `href="/start/technician/2"`) {
		t.Fatal("the technician list lacks the available technician")
	}
	code, loc, _ := c.post("/start/technician/2", url.Values{"name": {"Cleo"}, "company": {"Acme"}, "custom_0": {"AT-1"}})
	if code != http.StatusSeeOther || loc != "/session" {
		t.Fatalf("start: %d %s", code, loc)
	}
	_, page := c.get("/session")
	if !strings.Contains(page, "We may see your screen.") || !strings.Contains(page, "You are in the queue") {
		t.Fatal("the session page lacks the agreement or the queue status")
	}
	c.post("/session/agree", url.Values{"answer": {"agree"}})
	if _, page = c.get("/session"); strings.Contains(page, "We may see your screen.") {
		t.Fatal("the agreement is still shown after agreeing")
	}
	q, _ := f.desk.Queues(ctx, f.tech)
	if len(q[0].Sessions) != 1 || q[0].Sessions[0].Customer.Custom[0].Value != "AT-1" {
		t.Fatalf("the technician's queue: %+v", q[0])
	}
	ss, err := f.desk.Accept(ctx, f.tech, q[0].Sessions[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	f.desk.Say(ctx, f.tech, ss.ID, "Hi Cleo")
	c.post("/session/chat", url.Values{"text": {"My printer <script>alert(1)</script> {{.}} ${7*7}"}})
	_, page = c.get("/session")
	if !strings.Contains(page, "Ann from IT is helping you") || !strings.Contains(page, "Hi Cleo") {
		t.Fatal("the active session page lacks the technician or its message")
	}
	if strings.Contains(page, "<script>alert") || !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt; {{.}} ${7*7}") {
		t.Fatal("chat text was not shown literally")
	}
	c.post("/session/leave", url.Values{})
	if _, page = c.get("/session"); !strings.Contains(page, "This session has ended") {
		t.Fatal("after leaving")
	}
}

func TestChatKeepsTextOnError(t *testing.T) {
	f := newFixture(t)
	c := f.customer(t)
	c.post("/start/technician/2", url.Values{"name": {"Cleo"}})
	long := strings.Repeat("x", 2001)
	code, _, body := c.post("/session/chat", url.Values{"text": {long}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, long) || !strings.Contains(body, "under 2000 characters") {
		t.Fatalf("long message: %d", code)
	}
}

func TestSessionKeyForm(t *testing.T) {
	f := newFixture(t)
	key, _, err := f.desk.GenerateKey(ctx, f.tech, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := f.customer(t)
	if _, page := c.get("/?key=" + key); !strings.Contains(page, `value="`+key+`"`) {
		t.Fatal("the key URL does not fill in the key")
	}
	code, _, body := c.post("/start/key", url.Values{"key": {"12345678"}, "name": {"Dee"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "not valid") || !strings.Contains(body, `value="Dee"`) {
		t.Fatalf("bad key: %d", code)
	}
	code, loc, _ := c.post("/start/key", url.Values{"key": {key}, "name": {"Dee"}})
	if code != http.StatusSeeOther || loc != "/session" {
		t.Fatalf("good key: %d", code)
	}
}

func TestSupportLinkAndSOS(t *testing.T) {
	f := newFixture(t)
	ss, tok, err := f.desk.CreateLink(ctx, f.tech, desk.Queue{Kind: desk.QueueTechnician, ID: 2})
	if err != nil {
		t.Fatal(err)
	}
	a := f.customer(t)
	if code, body := a.get("/l/" + tok); code != 200 || !strings.Contains(body, "Join the session") {
		t.Fatalf("open link: %d", code)
	}
	if got, _ := f.desk.Session(ctx, f.tech, ss.ID); got.Status != desk.Waiting {
		t.Fatal("opening the address (a mail scanner could) bound the link")
	}
	if code, _, _ := a.post("/l/"+tok, url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("join: %d", code)
	}
	if code, _ := a.get("/l/" + tok); code != http.StatusSeeOther {
		t.Fatalf("the bound browser again: %d", code)
	}
	if got, _ := f.desk.Session(ctx, f.tech, ss.ID); got.Status != desk.Ready {
		t.Fatalf("after opening: %s", got.Status)
	}
	b := f.customer(t)
	if code, body := b.get("/l/" + tok); code != http.StatusConflict || !strings.Contains(body, "another device") {
		t.Fatalf("second device: %d", code)
	}
	f.desk.Accept(ctx, f.tech, ss.ID)
	f.desk.Close(ctx, f.tech, ss.ID)
	a.get("/l/" + tok)
	if code, body := a.get("/session"); !strings.Contains(body, "This session has ended") {
		t.Fatalf("a closed link's page does not say it ended: %d %s", code, body[:min(len(body), 3000)])
	}
	if code, _ := a.get("/l/not-a-token"); code != http.StatusNotFound {
		t.Fatalf("bogus link: %d", code)
	}
}

func TestClassicCode(t *testing.T) {
	f := newFixture(t)
	c := f.customer(t)
	c.post("/start/code", url.Values{"name": {"Gus"}})
	_, page := c.get("/session")
	m := regexp.MustCompile(`id="code">(\d{3}) (\d{3}) (\d{3})<`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no code shown")
	}
	if _, err := f.desk.ClaimCode(ctx, f.tech, m[1]+m[2]+m[3]); err != nil {
		t.Fatal(err)
	}
	if _, page = c.get("/session"); !strings.Contains(page, "You are in the queue") {
		t.Fatal("after the claim the customer is not in a queue")
	}
}

func TestSOSCall(t *testing.T) {
	f := newFixture(t)
	ch, err := f.desk.SaveChannel(ctx, f.admin, desk.Channel{Name: "Tier 2", ExpiryMinutes: 60})
	if err != nil {
		t.Fatal(err)
	}
	l, err := f.desk.CreateSOS(ctx, f.admin, ch.ID, "Tier 2 SOS")
	if err != nil {
		t.Fatal(err)
	}
	c := f.customer(t)
	if code, page := c.get("/sos/" + l.Token); code != 200 || !strings.Contains(page, "Request help") {
		t.Fatalf("SOS form: %d", code)
	}
	code, _, body := c.post("/sos/"+l.Token, url.Values{"name": {""}, "description": {"printer"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, ">printer</textarea>") {
		t.Fatalf("missing name: %d", code)
	}
	if code, loc, _ := c.post("/sos/"+l.Token, url.Values{"name": {"Fay"}, "description": {"printer"}}); code != http.StatusSeeOther || loc != "/session" {
		t.Fatalf("SOS start: %d", code)
	}
	f.desk.SetSOSPaused(ctx, f.admin, l.ID, true)
	if code, _, body := c.post("/sos/"+l.Token, url.Values{"name": {"Fay"}}); code != http.StatusConflict || !strings.Contains(body, "paused") {
		t.Fatalf("paused: %d", code)
	}
	f.desk.DeleteSOS(ctx, f.admin, l.ID)
	if code, _, _ := c.post("/sos/"+l.Token, url.Values{"name": {"Fay"}}); code != http.StatusNotFound {
		t.Fatalf("deleted: %d", code)
	}
}

func TestStartsAreLimitedPerNetwork(t *testing.T) {
	f := newFixture(t)
	c := f.customer(t)
	var last int
	for i := range 31 {
		last, _, _ = c.post("/start/technician/2", url.Values{"name": {fmt.Sprint("c", i)}})
	}
	if last != http.StatusTooManyRequests {
		t.Fatalf("the 31st start in a minute: %d", last)
	}
}

func TestCustomerEventStream(t *testing.T) {
	f := newFixture(t)
	c := f.customer(t)
	c.post("/start/technician/2", url.Values{"name": {"Cleo"}})
	q, _ := f.desk.Queues(ctx, f.tech)
	id := q[0].Sessions[0].ID
	if _, err := f.desk.Accept(ctx, f.tech, id); !errors.Is(err, desk.ErrAwaitingAgreement) {
		t.Fatalf("accepted before the customer agreed: %v", err)
	}
	c.post("/session/agree", url.Values{"answer": {"agree"}})
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/session/events", nil)
	resp, err := c.http.Do(req)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %v %v", resp, err)
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	next := func() string {
		for lines.Scan() {
			if l := lines.Text(); strings.HasPrefix(l, "event: ") {
				return strings.TrimPrefix(l, "event: ")
			}
		}
		t.Fatal("the stream ended")
		return ""
	}
	if e := next(); e != "state" {
		t.Fatalf("first event %q", e)
	}
	if _, err := f.desk.Accept(ctx, f.tech, id); err != nil {
		t.Fatal(err)
	}
	if e := next(); e != "state" {
		t.Fatalf("after accept: %q", e)
	}
	ss, _ := f.desk.Session(ctx, f.tech, id)
	f.desk.Typing(ss, "technician")
	if e := next(); e != "typing" {
		t.Fatalf("after typing: %q", e)
	}
	// Only a few windows may stream one session.
	var held []*http.Response
	for range 3 {
		r2, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/session/events", nil)
		resp2, err := c.http.Do(r2)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, resp2)
	}
	r5, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+"/session/events", nil)
	resp5, err := c.http.Do(r5)
	if err != nil || resp5.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("fifth stream: %v %v", resp5.StatusCode, err)
	}
	resp5.Body.Close()
	for _, h := range held {
		h.Body.Close()
	}
}

// TestChatIsLimitedPerNetwork: one network chatting in many sessions is
// held back across them, not only per session; an unread customer's
// session stops taking text at its bound with a message in the page.
func TestChatIsLimitedPerNetwork(t *testing.T) {
	f := newFixture(t)
	var codes []int
	for range 4 {
		c := f.customer(t)
		c.post("/start/technician/2", url.Values{"name": {"Cleo"}})
		for range 9 { // under the per-session burst
			code, _, _ := c.post("/session/chat", url.Values{"text": {"hello"}})
			codes = append(codes, code)
		}
	}
	if !slices.Contains(codes, http.StatusTooManyRequests) || codes[0] != http.StatusSeeOther {
		t.Fatalf("36 messages from one network in 4 sessions: %v", codes)
	}
	f2 := newFixture(t)
	at := time.Now()
	f2.portal.chat.Now = func() time.Time { at = at.Add(10 * time.Second); return at }
	f2.portal.chatSource.Now = f2.portal.chat.Now
	c := f2.customer(t)
	c.post("/start/technician/2", url.Values{"name": {"Cleo"}})
	line := strings.Repeat("y", desk.MaxChat)
	var body string
	code := 0
	for range desk.MaxUnreadChat/desk.MaxChat + 1 {
		code, _, body = c.post("/session/chat", url.Values{"text": {line}})
	}
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "you can write more then") || !strings.Contains(body, line) {
		t.Fatalf("past the unread bound: %d", code)
	}
}

// TestCustomerErrorPagesLookLikeTheSite: an error on the public site is a
// page of the site (its name, a way back home) that says what happened and
// what to do, not a bare status.
func TestCustomerErrorPagesLookLikeTheSite(t *testing.T) {
	f := newFixture(t)
	c := f.customer(t)
	code, body := c.get("/l/AAAAAAAAAAAAAAAAAAAAAA")
	if code != http.StatusNotFound {
		t.Fatalf("unknown link: %d", code)
	}
	for _, want := range []string{`<span class="surface">Acme support</span>`, `<h1 id="err-title">`, "Back to Acme support", `class="next"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the error page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<h1 id=\"err-title\">Not Found") {
		t.Error("the heading is the bare status")
	}
	code, _, body = c.post("/session/chat", url.Values{"text": {"hi"}})
	if code < 400 || !strings.Contains(body, `<span class="surface">Acme support</span>`) {
		t.Fatalf("chat without a session: %d", code)
	}
}
