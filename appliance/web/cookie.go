package web

import (
	"net/http"
	"time"
)

// SetCookie sets a __Host- cookie: Secure, HttpOnly, SameSite=Lax, Path=/,
// no Domain. maxAge 0 makes it a browser-session cookie; negative deletes it.
func SetCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	setCookie(w, name, value, maxAge, http.SameSiteLaxMode)
}

// SetCrossSiteCookie is SetCookie with SameSite=None, for the one cookie
// that must come back on another site's POST: a SAML identity provider
// posting its answer to our assertion consumer service. Such a cookie
// must authorize nothing by itself.
func SetCrossSiteCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	setCookie(w, name, value, maxAge, http.SameSiteNoneMode)
}

func setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration, same http.SameSite) {
	c := &http.Cookie{
		Name:     "__Host-" + name,
		Value:    value,
		Path:     "/",
		Secure:   true,
		HttpOnly: true,
		SameSite: same,
	}
	switch {
	case maxAge < 0:
		c.MaxAge = -1
		c.Value = ""
	case maxAge > 0:
		c.MaxAge = int(maxAge / time.Second)
	}
	http.SetCookie(w, c)
}

// Cookie returns the value of the __Host- cookie name, or "".
func Cookie(r *http.Request, name string) string {
	c, err := r.Cookie("__Host-" + name)
	if err != nil {
		return ""
	}
	return c.Value
}
