package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// contentSecurityPolicy allows scripts and styles from the box only: no
// inline script, no framing, forms post only to the box.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func setSecurityHeaders(h http.Header, altSvc string) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	if altSvc != "" {
		h.Set("Alt-Svc", altSvc)
	}
}

// originHost is a DNS name or IPv4 address, or a bracketed IPv6 address,
// with an optional numeric port: no wildcard or other CSP syntax.
var originHost = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?$`)

// AllowFormTarget lets the forms of this response lead to origin as well
// as to this site (CSP form-action), for a sign-in button whose POST is
// answered by a redirect to an identity provider. origin must be a
// scheme://host[:port] with nothing else; anything else is ignored.
func AllowFormTarget(w http.ResponseWriter, origin string) {
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil ||
		!originHost.MatchString(u.Host) {
		return
	}
	w.Header().Set("Content-Security-Policy", strings.Replace(contentSecurityPolicy, "form-action 'self'", "form-action 'self' "+u.Scheme+"://"+u.Host, 1))
}
