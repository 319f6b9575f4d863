package web

import (
	"net/http"
	"time"
)

// SetCookie sets a __Host- cookie: Secure, HttpOnly, SameSite=Lax, Path=/,
// no Domain. maxAge 0 makes it a browser-session cookie; negative deletes it.
func SetCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{
		Name:     "__Host-" + name,
		Value:    value,
		Path:     "/",
		Secure:   true,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
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
