package account

import (
	"net/url"
	"strings"
	"testing"
)

func TestIsSetupPath(t *testing.T) {
	yes := []string{"/login/setup", "//login//setup", "/login/%2Fsetup", "/login/%252Fsetup", "/login/Setup",
		"/login/SETUP/x", "/login/setup;", "/login/setup;jsessionid=1", "/login/./setup", "/login/x/../setup",
		"/setup", "/login\\setup", "/login/%73etup", "/login/setup?x=1", "/login/setup.", "/appliance/setup/"}
	no := []string{"/login", "/login/setups", "/login/users", "/", "/assets/setup.css", "/login/account/setup-guide"}
	for _, p := range yes {
		if !isSetupPath(p) {
			t.Errorf("isSetupPath(%q) = false", p)
		}
	}
	for _, p := range no {
		if isSetupPath(p) {
			t.Errorf("isSetupPath(%q) = true", p)
		}
	}
}

func TestSafeNext(t *testing.T) {
	cases := map[string]string{
		"":                      "/home",
		"/console":              "/console",
		"/login/users?q=a":      "/login/users?q=a",
		"//evil.example":        "/home",
		"https://evil.example/": "/home",
		"/\\evil.example":       "/home",
		"/ok\r\nSet-Cookie: x":  "/home",
		"javascript:alert(1)":   "/home",
	}
	for in, want := range cases {
		if got := safeNext(in, "/home"); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/console", "//x", "/\\x", "https://x", "/%2F%2Fx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next, "/home")
		u, err := url.Parse(got)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") {
			t.Fatalf("safeNext(%q) = %q leaves the box", next, got)
		}
	})
}

func FuzzIsSetupPath(f *testing.F) {
	for _, s := range []string{"login", "login/%2F", "x/..", "%", "a;b", "Login/./"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		isSetupPath(s) // never panics
		// Whatever comes before it, a last segment "setup" is caught.
		if !strings.ContainsAny(s, "?#%;\\") && !isSetupPath("/"+s+"/setup") {
			t.Fatalf("isSetupPath(%q) = false", "/"+s+"/setup")
		}
	})
}
