package console

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/bus"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
	"github.com/switchboardhq/switchboard/tools/deskfix"
)

var ctx = context.Background()

// env is the console on a real store, auth and desk behind the real router,
// served over TLS on loopback.
type env struct {
	t     *testing.T
	auth  *auth.Service
	desk  *desk.Service
	bus   *bus.Bus
	con   *Console
	srv   *httptest.Server
	root  desk.Actor // the administrator who sets things up
	site  desk.Site
	tier1 desk.Channel
	tier2 desk.Channel
}

func newEnv(t *testing.T) *env {
	t.Helper()
	box := deskfix.New(t, deskfix.Config{Home: "/console", RealClock: true})
	a, d, b, rt, log := box.Auth, box.Desk, box.Bus, box.Router, box.Log
	con := New(box.Site, d, b, log)
	con.heartbeat = 100 * time.Millisecond
	con.Routes(rt)
	box.Site.Routes()
	e := &env{t: t, auth: a, desk: d, bus: b, con: con}
	e.srv = httptest.NewTLSServer(rt.Handler())
	t.Cleanup(e.srv.Close)
	var err error
	_, e.root = box.Admin(t, "Root")
	e.site, err = d.SaveSite(ctx, e.root, desk.Site{Name: "Main", Hostnames: []string{"support.example"}, TechList: true, SessionKey: true,
		Survey: true, AskName: true, AskCompany: true, AskDescription: true,
		Custom: []desk.CustomField{{Label: "Asset <tag>", MaxLen: 1024}}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// channels makes Tier 1 (served by tier1) and Tier 2 (served by tier2).
func (e *env) channels(tier1, tier2 []uint64) {
	e.t.Helper()
	var err error
	if e.tier1, err = e.desk.SaveChannel(ctx, e.root, desk.Channel{Name: "Tier 1", ExpiryMinutes: 60, Technicians: tier1, Default: true}); err != nil {
		e.t.Fatal(err)
	}
	if e.tier2, err = e.desk.SaveChannel(ctx, e.root, desk.Channel{Name: "Tier 2", ExpiryMinutes: 60, Technicians: tier2}); err != nil {
		e.t.Fatal(err)
	}
}

// tech is a signed-in technician with its own cookies.
type tech struct {
	e      *env
	id     uint64
	name   string
	client *http.Client
	csrf   string
}

// tech creates a site user with a technician profile and signs it in.
func (e *env) tech(username, name, role string) *tech {
	e.t.Helper()
	u, err := e.auth.CreateUser(ctx, auth.Site, auth.NewUser{Username: username, DisplayName: name, Password: "a long enough password", Role: role})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.desk.SaveTechnician(ctx, e.root, desk.Technician{UserID: u.ID, PrivateName: name, PublicName: name}, role); err != nil {
		e.t.Fatal(err)
	}
	raw, _, err := e.auth.NewSession(ctx, auth.Site, u.ID, false, "127.0.0.1", "test")
	if err != nil {
		e.t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	base, _ := url.Parse(e.srv.URL)
	jar.SetCookies(base, []*http.Cookie{{Name: "__Host-sb-site", Value: raw, Path: "/", Secure: true}})
	tr := e.srv.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	c := &http.Client{Jar: jar, Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tc := &tech{e: e, id: u.ID, name: name, client: c}
	_, body := tc.get("/console")
	m := regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`).FindStringSubmatch(body)
	if m == nil {
		e.t.Fatalf("no csrf token on /console:\n%s", body)
	}
	tc.csrf = m[1]
	return tc
}

// actor is the technician's desk actor now.
func (tc *tech) actor() desk.Actor {
	tc.e.t.Helper()
	u, err := tc.e.auth.User(ctx, auth.Site, tc.id)
	if err != nil {
		tc.e.t.Fatal(err)
	}
	a, err := tc.e.desk.ActorFor(ctx, tc.id, tc.name, u.Role)
	if err != nil {
		tc.e.t.Fatal(err)
	}
	return a
}

func (tc *tech) get(path string) (int, string) {
	tc.e.t.Helper()
	resp, err := tc.client.Get(tc.e.srv.URL + path)
	if err != nil {
		tc.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post submits a form as a browser without JavaScript does.
func (tc *tech) post(path string, form url.Values) (*http.Response, string) {
	tc.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", tc.csrf)
	resp, err := tc.client.PostForm(tc.e.srv.URL+path, form)
	if err != nil {
		tc.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// fetch posts as console.js does: the token in a header, JSON back.
func (tc *tech) fetch(path string, form url.Values) (int, map[string]any) {
	tc.e.t.Helper()
	req, _ := http.NewRequest("POST", tc.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(web.CSRFHeader, tc.csrf)
	resp, err := tc.client.Do(req)
	if err != nil {
		tc.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			tc.e.t.Fatalf("%s: not JSON (%d): %s", path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, out
}

// sse is one open /console/events stream.
type sse struct {
	t      *testing.T
	events chan sseEvent
	cancel context.CancelFunc
	done   chan struct{}
}

type sseEvent struct {
	Kind string
	Data string
}

// decode decodes the event's data.
func (ev sseEvent) decode(t *testing.T) outEvent {
	t.Helper()
	var oe outEvent
	if err := json.Unmarshal([]byte(ev.Data), &oe); err != nil {
		t.Fatalf("%s: %v: %s", ev.Kind, err, ev.Data)
	}
	return oe
}

func (ev sseEvent) state(t *testing.T) State {
	t.Helper()
	var st State
	if ev.Kind != "state" {
		t.Fatalf("got %s, want state", ev.Kind)
	}
	if err := json.Unmarshal([]byte(ev.Data), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// events opens the technician's event stream.
func (tc *tech) events() *sse {
	t := tc.e.t
	t.Helper()
	cctx, cancel := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(cctx, "GET", tc.e.srv.URL+"/console/events", nil)
	c := *tc.client
	c.Timeout = 0
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &sse{t: t, events: make(chan sseEvent, 1000), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Kind != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.Kind = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.Data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *sse) close() {
	s.cancel()
	<-s.done
}

// next returns the next event.
func (s *sse) next() sseEvent {
	s.t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-time.After(10 * time.Second):
		s.t.Fatal("no event within 10 s")
	}
	return sseEvent{}
}

// quiet asserts that no event arrives for a while.
func (s *sse) quiet(d time.Duration) {
	s.t.Helper()
	select {
	case ev := <-s.events:
		s.t.Fatalf("unexpected %s event: %s", ev.Kind, ev.Data)
	case <-time.After(d):
	}
}

// customer starts a session in technician id's personal queue.
func (e *env) customer(id uint64, c desk.Customer) desk.Session {
	e.t.Helper()
	ss, _, err := e.desk.StartWithTechnician(ctx, e.site, id, c)
	if err != nil {
		e.t.Fatal(err)
	}
	return ss
}

// sos starts a session in channel ch through an SOS Call link.
func (e *env) sos(ch uint64, name string) desk.Session {
	e.t.Helper()
	l, err := e.desk.CreateSOS(ctx, e.root, ch, fmt.Sprint("SOS ", name))
	if err != nil {
		e.t.Fatal(err)
	}
	ss, _, err := e.desk.StartSOS(ctx, e.site, l.Token, desk.Customer{Name: name})
	if err != nil {
		e.t.Fatal(err)
	}
	return ss
}
