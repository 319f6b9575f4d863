package web

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func newTestRouter(t *testing.T) *Router {
	t.Helper()
	rt := NewRouter(Config{CSRFKey: []byte("k"), MaxBody: 1024}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rt.Pages().MustAdd(fstest.MapFS{"p/form.html": {Data: []byte(`{{define "content"}}<form method="post"><input name="csrf_token" value="{{.CSRF}}"><input name="x" value="{{.Value "x"}}"></form>{{end}}`)}}, "p/*.html")
	rt.Handle("GET /form", func(w http.ResponseWriter, r *http.Request) error {
		return rt.Pages().Render(w, r, 200, "form.html", View{Title: "Form", Form: url.Values{"x": {r.URL.Query().Get("x")}}})
	})
	rt.Handle("POST /form", func(w http.ResponseWriter, r *http.Request) error {
		f, err := Form(r)
		if err != nil {
			return err
		}
		io.WriteString(w, "ok "+strings.Join(f["x"], ","))
		return nil
	})
	rt.Handle("GET /boom", func(w http.ResponseWriter, r *http.Request) error { panic("boom") })
	rt.Handle("GET /fail", func(w http.ResponseWriter, r *http.Request) error { return errors.New("secret detail") })
	return rt
}

// csrfPair fetches the form page and returns the cookie and token it set.
func csrfPair(t *testing.T, h http.Handler) (*http.Cookie, string) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://box/form", nil))
	var c *http.Cookie
	for _, k := range rec.Result().Cookies() {
		if k.Name == "__Host-csrf" {
			c = k
		}
	}
	if c == nil {
		t.Fatal("no csrf cookie set")
	}
	body := rec.Body.String()
	i := strings.Index(body, `name="csrf_token" value="`)
	tok := body[i+len(`name="csrf_token" value="`):]
	tok = tok[:strings.IndexByte(tok, '"')]
	return c, tok
}

func post(h http.Handler, body string, c *http.Cookie, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "https://box/form", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c != nil {
		req.AddCookie(c)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestCSRF(t *testing.T) {
	h := newTestRouter(t).Handler()
	c, tok := csrfPair(t, h)
	if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
		t.Fatalf("cookie attributes: %+v", c)
	}
	cases := []struct {
		name   string
		body   string
		cookie *http.Cookie
		hdr    map[string]string
		want   int
	}{
		{"valid", "x=1&csrf_token=" + tok, c, nil, 200},
		{"valid header", "x=1", c, map[string]string{CSRFHeader: tok}, 200},
		{"no token", "x=1", c, nil, 403},
		{"no cookie", "x=1&csrf_token=" + tok, nil, nil, 403},
		{"wrong token", "x=1&csrf_token=AAAA" + tok[4:], c, nil, 403},
		{"other cookie", "x=1&csrf_token=" + tok, &http.Cookie{Name: "__Host-csrf", Value: strings.Repeat("A", 43)}, nil, 403},
		{"cross site", "x=1&csrf_token=" + tok, c, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := post(h, tc.body, tc.cookie, tc.hdr)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newTestRouter(t).Handler()
	for _, path := range []string{"/form", "/nowhere", AssetURL("app.css")} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "https://box"+path, nil))
		hd := rec.Header()
		csp := hd.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: CSP %q", path, csp)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"} {
			if hd.Get(k) != v {
				t.Errorf("%s: %s = %q", path, k, hd.Get(k))
			}
		}
		if !strings.HasPrefix(hd.Get("Strict-Transport-Security"), "max-age=") {
			t.Errorf("%s: no HSTS", path)
		}
	}
}

func TestAssetsAreCacheBusted(t *testing.T) {
	h := newTestRouter(t).Handler()
	u := AssetURL("app.css")
	if u == "/assets/app.css" {
		t.Fatal("asset URL has no hash")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://box"+u, nil))
	if rec.Code != 200 || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/css") {
		t.Fatalf("asset: %d %v", rec.Code, rec.Header())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://box/assets/app.css", nil))
	if rec.Code != 404 {
		t.Fatalf("unhashed asset served: %d", rec.Code)
	}
}

func TestBadInput(t *testing.T) {
	h := newTestRouter(t).Handler()
	c, tok := csrfPair(t, h)
	cases := []struct {
		name, body string
		want       int
		says       string
	}{
		{"invalid utf8", "x=%ff%fe&csrf_token=" + tok, 400, "not valid UTF-8"},
		{"control char", "x=a%00b&csrf_token=" + tok, 400, "control characters"},
		{"escape char", "x=a%1b[31mb&csrf_token=" + tok, 400, "control characters"},
		{"oversized", "x=" + strings.Repeat("a", 5000) + "&csrf_token=" + tok, 413, "larger than"},
		{"newlines ok", "x=a%0D%0Ab%09c&csrf_token=" + tok, 200, "ok a\r\nb\tc"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := post(h, tc.body, c, nil)
			if rec.Code != tc.want || !strings.Contains(rec.Body.String(), tc.says) {
				t.Fatalf("status %d body %q", rec.Code, rec.Body)
			}
		})
	}
}

func TestErrorPages(t *testing.T) {
	h := newTestRouter(t).Handler()
	for path, want := range map[string]int{"/boom": 500, "/fail": 500, "/missing": 404} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "https://box"+path, nil))
		if rec.Code != want {
			t.Errorf("%s: %d", path, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "secret detail") || strings.Contains(rec.Body.String(), "boom") {
			t.Errorf("%s: error details leaked: %s", path, rec.Body)
		}
		if !strings.Contains(rec.Body.String(), "<main") {
			t.Errorf("%s: error page lacks the layout", path)
		}
	}
}

func TestTemplatesEscape(t *testing.T) {
	h := newTestRouter(t).Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://box/form?x="+url.QueryEscape(`"><script>alert(1)</script>{{.}}`), nil))
	if strings.Contains(rec.Body.String(), "<script>alert") {
		t.Fatal("typed text reached the page unescaped")
	}
}

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	cases := []struct{ remote, xff, want string }{
		{"203.0.113.9:5000", "1.2.3.4", "203.0.113.9"},
		{"10.0.0.2:5000", "1.2.3.4", "1.2.3.4"},
		{"10.0.0.2:5000", "6.6.6.6, 1.2.3.4, 10.0.0.3", "1.2.3.4"},
		{"10.0.0.2:5000", "garbage", "10.0.0.2"},
		{"[::ffff:203.0.113.9]:1", "", "203.0.113.9"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := ClientAddr(r, trusted).String(); got != c.want {
			t.Errorf("%s + %q = %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
}

func FuzzCheckText(f *testing.F) {
	for _, s := range []string{"hello", "a\x00b", "\xff", "line\nbreak", "\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkText(s) == nil {
			for _, c := range s {
				if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
					t.Fatalf("accepted control %q", c)
				}
			}
		}
	})
}

func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := NewLimiter(2, 10*time.Second)
	l.Now = func() time.Time { return now }
	for i, want := range []bool{true, true, false} {
		if ok, _ := l.Allow("a"); ok != want {
			t.Fatalf("request %d: %v", i, ok)
		}
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Fatal("another key shares the bucket")
	}
	_, retry := l.Allow("a")
	if retry != 10*time.Second {
		t.Fatalf("retry %v", retry)
	}
	now = now.Add(10 * time.Second)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("no token after the interval")
	}
	if k := SourceKey(netip.MustParseAddr("2001:db8:1:2:3:4:5:6")); k != "2001:db8:1:2::/64" {
		t.Fatalf("IPv6 key %s", k)
	}
	if k := SourceKey(netip.MustParseAddr("::ffff:192.0.2.1")); k != "192.0.2.1" {
		t.Fatalf("mapped IPv4 key %s", k)
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[uint64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 7 << 20: "7.0 MiB", 3 << 30: "3.0 GiB"} {
		if got := Bytes(n); got != want {
			t.Errorf("Bytes(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestModuleImportsAreHashed: a module's imports of its sibling assets point
// at their cache-busted URLs, which are served.
func TestModuleImportsAreHashed(t *testing.T) {
	body := string(assets["remote.js"].body)
	for _, dep := range []string{"remote-wire.js", "remote-util.js", "remote-files.js"} {
		if !strings.Contains(body, `from "`+assetURL(dep)+`"`) {
			t.Errorf("remote.js does not import %s by %s", dep, assetURL(dep))
		}
	}
	if strings.Contains(body, `from "./`) {
		t.Error("remote.js still has a relative import")
	}
	if !strings.Contains(string(assets["remote-util.js"].body), `from "`+assetURL("remote-wire.js")+`"`) {
		t.Error("a module's own imports are not rewritten")
	}
}

func TestAllowFormTarget(t *testing.T) {
	for origin, want := range map[string]string{
		"https://idp.example.org":       "form-action 'self' https://idp.example.org;",
		"http://127.0.0.1:8080":         "form-action 'self' http://127.0.0.1:8080;",
		"https://[2001:db8::1]:8443":    "form-action 'self' https://[2001:db8::1]:8443;",
		"https://*":                     "form-action 'self';",
		"https://*.example.org":         "form-action 'self';",
		"https://idp.example.org/path":  "form-action 'self';",
		"https://a.example; script-src": "form-action 'self';",
		"javascript:alert(1)":           "form-action 'self';",
	} {
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Security-Policy", contentSecurityPolicy)
		AllowFormTarget(rec, origin)
		if got := rec.Header().Get("Content-Security-Policy"); !strings.Contains(got, want) {
			t.Errorf("%q: %s", origin, got)
		}
	}
}
