package appliance

import (
	"context"
	"crypto/tls"
	"github.com/switchboardhq/switchboard/appliance/samlsp"
	"github.com/switchboardhq/switchboard/appliance/wire"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"
	"go.uber.org/goleak"

	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/config"
	"github.com/switchboardhq/switchboard/appliance/store"
	"github.com/switchboardhq/switchboard/hw/sim"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testConfig(t *testing.T) config.Config {
	cfg := config.Dev()
	cfg.StateDir = filepath.Join(t.TempDir(), "state")
	cfg.HTTPSAddr = "127.0.0.1:0"
	cfg.HTTPAddr = "127.0.0.1:0"
	return cfg
}

// TestEveryStateChangingRouteNeedsCSRF walks every registered route with a
// state-changing method, as a signed-in admin of both realms, and shows that
// each refuses a request without a valid CSRF token and changes nothing.
func TestEveryStateChangingRouteNeedsCSRF(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	db, err := store.Open(cfg.StateDir)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, err := auth.New(db, auth.Config{Argon: auth.Params{Time: 1, MemoryKiB: 64, Threads: 1}}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := newServices(db, a, time.Now, netOptions{readOnly: true}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	if svc.sso, err = samlsp.New(ctx, db, time.Now, quietLog()); err != nil {
		t.Fatal(err)
	}
	rt, err := buildWeb(ctx, cfg, db, svc, sim.New(), Env{Now: time.Now}, "443", nil, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	// The only state-changing routes without a CSRF token are the SAML
	// assertion consumer services (the identity provider posts there from
	// its own site; the answer authenticates itself).
	var noCSRF []string
	for _, route := range rt.Routes() {
		if route.NoCSRF {
			noCSRF = append(noCSRF, route.Method+" "+route.Pattern)
		}
	}
	if want := []string{"POST /login/saml/acs", "POST /saml/acs"}; !slices.Equal(slices.Sorted(slices.Values(noCSRF)), want) {
		t.Errorf("routes without CSRF: %v, want %v", noCSRF, want)
	}
	h := rt.Handler()
	// A page visit gives the browser its CSRF cookie and the matching token.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://box/", nil))
	token := regexp.MustCompile(`name="csrf-token" content="([^"]+)"`).FindStringSubmatch(rec.Body.String())[1]
	cookies := rec.Result().Cookies()

	snapshot := func() string {
		var b strings.Builder
		for _, realm := range []auth.Realm{auth.Site, auth.Box} {
			us, _ := a.Users(ctx, realm)
			for _, u := range us {
				ss, _ := a.Sessions(ctx, realm, u.ID)
				b.WriteString(u.Username + u.Role + u.Updated.String() + strings.Repeat("s", len(ss)) + "\n")
			}
		}
		return b.String()
	}
	fill := strings.NewReplacer("{id}", "2", "{action}", "delete", "{$}", "")
	// walk sends every state-changing route a request without a valid token.
	walk := func(phase string, setupClosed bool) int {
		before := snapshot()
		n := 0
		for _, route := range rt.Routes() {
			methods := []string{route.Method}
			if route.Method == "" {
				methods = []string{"POST", "PUT", "PATCH", "DELETE"}
			}
			for _, m := range methods {
				if m == "GET" || m == "HEAD" || m == "OPTIONS" || route.NoCSRF {
					continue
				}
				path := fill.Replace(route.Pattern)
				for _, variant := range []struct{ name, body string }{
					{"no token", "x=1"},
					{"wrong token", "csrf_token=" + token[:10] + "AAAA" + token[14:]},
				} {
					req := httptest.NewRequest(m, "https://box"+path, strings.NewReader(variant.body))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					for _, c := range cookies {
						req.AddCookie(c)
					}
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if setupClosed && strings.HasSuffix(path, "/setup") && rec.Code == http.StatusNotFound {
						continue // closed setup routes answer 404 before anything else
					}
					if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "sent from another site") {
						t.Errorf("%s: %s %s (%s): %d, want the CSRF refusal", phase, m, path, variant.name, rec.Code)
					}
				}
				n++
			}
		}
		if after := snapshot(); after != before {
			t.Fatalf("%s: refused requests changed state:\nbefore %s\nafter %s", phase, before, after)
		}
		return n
	}
	// Before setup: nobody is signed in and the setup routes are open.
	walk("before setup", false)
	// Signed in as an admin of both realms.
	for _, realm := range []auth.Realm{auth.Site, auth.Box} {
		u, err := a.CreateUser(ctx, realm, auth.NewUser{Username: "admin", Password: "a long enough password", Role: auth.RoleAdmin})
		if err != nil {
			t.Fatal(err)
		}
		a.CreateUser(ctx, realm, auth.NewUser{Username: "other", Password: "a long enough password", Role: auth.RoleAdmin})
		raw, _, err := a.NewSession(ctx, realm, u.ID, false, "127.0.0.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		cookies = append(cookies, &http.Cookie{Name: "__Host-sb-" + string(realm), Value: raw})
	}
	n := walk("signed in", true)
	if n < 15 {
		t.Fatalf("only %d state-changing routes found; the walk is broken", n)
	}
	// The same route with the token does get through (the walk hits real routes).
	req := httptest.NewRequest("POST", "https://box/login/account/sessions/end", strings.NewReader("csrf_token="+token))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("a valid token was refused: %d %s", rec.Code, rec.Body)
	}
	t.Logf("%d state-changing routes refuse requests without a valid CSRF token", n)
}

// TestRunStopsCleanly serves HTTPS and HTTP/3 requests, cancels, and checks
// Run returns nil and leaves no goroutine behind.
func TestRunStopsCleanly(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := testConfig(t)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, Env{Log: quietLog(), Ready: func(base string) { ready <- base }})
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	tlsConf := &tls.Config{InsecureSkipVerify: true}
	tr := &http.Transport{TLSClientConfig: tlsConf, ForceAttemptHTTP2: true}
	h3 := &http3.Transport{TLSClientConfig: tlsConf}
	for i, rt := range []http.RoundTripper{tr, h3} {
		resp, err := (&http.Client{Transport: rt}).Get(base + "/login")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.ProtoMajor != 2+i {
			t.Fatalf("/login: %d over %s", resp.StatusCode, resp.Proto)
		}
	}
	tr.CloseIdleConnections()
	h3.Close()

	// The relay answers on the TCP port too (ALPN switchboard/1, for
	// support apps whose network blocks UDP); one such connection is left
	// open across the stop.
	u, _ := url.Parse(base)
	relayConn := func() *tls.Conn {
		conn, err := tls.Dial("tcp", u.Host, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{wire.ALPN}})
		if err != nil {
			t.Fatal(err)
		}
		if p := conn.ConnectionState().NegotiatedProtocol; p != wire.ALPN {
			t.Fatalf("ALPN %q on TCP", p)
		}
		return conn
	}
	refused := relayConn()
	f, _ := wire.Encode(wire.Hello{Version: wire.Version, Role: wire.RoleClient, Token: "made-up", DeviceID: "d"})
	b, _ := wire.AppendFrame(nil, f)
	refused.Write(b)
	refused.SetReadDeadline(time.Now().Add(20 * time.Second))
	if fr, err := wire.ReadFrame(refused, nil); err != nil || fr.Type != wire.TClose {
		t.Fatalf("over TCP, a made-up token got %v, %v; want a Close", fr.Type, err)
	}
	refused.Close()
	idle := relayConn()
	defer idle.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}
