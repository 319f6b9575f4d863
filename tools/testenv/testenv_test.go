package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// recorder is a testing.TB that records Fatalf and Skipf instead of stopping
// the test, to check what Require decides.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.fatal = fmt.Sprintf(format, args...) }

func (r *recorder) Skipf(format string, args ...any) { r.skip = fmt.Sprintf(format, args...) }

func TestRequire(t *testing.T) {
	tests := []struct {
		env       string
		ok        bool
		wantFatal bool
		wantSkip  bool
	}{
		{env: "", ok: true},
		{env: "1", ok: true},
		{env: "", ok: false, wantSkip: true},
		{env: "0", ok: false, wantSkip: true},
		{env: "1", ok: false, wantFatal: true},
		{env: "true", ok: false, wantFatal: true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("env=%q,ok=%v", tt.env, tt.ok), func(t *testing.T) {
			t.Setenv(RequireAllEnv, tt.env)
			r := &recorder{TB: t}
			Require(r, "frobnicator", tt.ok, "not installed")
			if got := r.fatal != ""; got != tt.wantFatal {
				t.Errorf("failed = %v (%q), want %v", got, r.fatal, tt.wantFatal)
			}
			if got := r.skip != ""; got != tt.wantSkip {
				t.Errorf("skipped = %v (%q), want %v", got, r.skip, tt.wantSkip)
			}
			if tt.wantFatal && r.fatal != "frobnicator required: not installed" {
				t.Errorf("failure message = %q", r.fatal)
			}
			if tt.wantSkip && !strings.Contains(r.skip, "not installed") {
				t.Errorf("skip message %q does not give the reason", r.skip)
			}
		})
	}
}

func TestRequireCommand(t *testing.T) {
	t.Setenv(RequireAllEnv, "1")
	r := &recorder{TB: t}
	if path := RequireCommand(r, "sh"); path == "" || r.fatal != "" {
		t.Errorf("RequireCommand(sh) = %q, failure %q", path, r.fatal)
	}
	r = &recorder{TB: t}
	RequireCommand(r, "switchboard-no-such-command")
	if !strings.HasPrefix(r.fatal, "switchboard-no-such-command required: ") {
		t.Errorf("missing command: failure = %q", r.fatal)
	}
}

func TestFreePort(t *testing.T) {
	port := FreePort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	tl, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("tcp %s: %v", addr, err)
	}
	defer tl.Close()
	ul, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatalf("udp %s: %v", addr, err)
	}
	ul.Close()
}

// TestBrowser loads a page from a TLS server with a self-signed certificate,
// and checks that a NewTab tab does not see the cookies of another tab.
func TestBrowser(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Switchboard test page</title><p>hello`)
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "who", Value: "technician", Path: "/", Secure: true})
		fmt.Fprint(w, `<!doctype html><title>logged in</title>`)
	})
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()

	browser := Browser(t)
	if err := chromedp.Do(browser, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(browser, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if title != "Switchboard test page" {
		t.Errorf("title = %q, want %q", title, "Switchboard test page")
	}

	// cookie navigates tab to the test page and returns its cookies.
	cookie := func(tab context.Context) string {
		t.Helper()
		if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+"/")); err != nil {
			t.Fatal(err)
		}
		c, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.cookie`))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	tech := NewTab(t, browser)
	customer := NewTab(t, browser)
	if err := chromedp.Do(tech, chromedp.Navigate(srv.URL+"/login")); err != nil {
		t.Fatal(err)
	}
	if got := cookie(tech); got != "who=technician" {
		t.Errorf("technician tab cookie = %q, want who=technician", got)
	}
	if got := cookie(customer); got != "" {
		t.Errorf("customer tab sees cookie %q set in the technician tab", got)
	}
	// The first tab is in the browser's default context, apart from both.
	if got := cookie(browser); got != "" {
		t.Errorf("first tab sees cookie %q set in the technician tab", got)
	}
}
