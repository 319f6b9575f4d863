package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// CSRF protection is a signed double submit: a random __Host-csrf cookie and,
// in every form (field csrf_token) or fetch (header X-CSRF-Token), an HMAC of
// it under a per-box key. A __Host- cookie cannot be planted by a sibling
// domain, and another site can read neither. Cross-site requests are also
// refused by their Fetch Metadata and Origin headers.

const (
	csrfCookie = "csrf"
	// CSRFField is the form field that carries the token.
	CSRFField = "csrf_token"
	// CSRFHeader is the header that carries the token for scripts.
	CSRFHeader = "X-CSRF-Token"
)

var errCSRF = Error(http.StatusForbidden,
	"This form has expired or was sent from another site, so nothing was changed.",
	"Go back, reload the page and submit it again.")

var crossOrigin = http.NewCrossOriginProtection()

// CSRFToken returns the token to embed in forms for this request, setting the
// cookie it is bound to when the browser has none yet. Call it once per
// response; [Pages.Render] does.
func (rt *Router) CSRFToken(w http.ResponseWriter, r *http.Request) string {
	seed := Cookie(r, csrfCookie)
	if len(seed) != 43 {
		b := make([]byte, 32)
		rand.Read(b)
		seed = base64.RawURLEncoding.EncodeToString(b)
		SetCookie(w, csrfCookie, seed, 0)
	}
	return rt.csrfMAC(seed)
}

func (rt *Router) csrfMAC(seed string) string {
	m := hmac.New(sha256.New, rt.cfg.CSRFKey)
	m.Write([]byte("csrf\x00"))
	m.Write([]byte(seed))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// checkCSRF verifies the token of a state-changing request.
func (rt *Router) checkCSRF(r *http.Request) *HTTPError {
	if err := crossOrigin.Check(r); err != nil {
		return &HTTPError{Code: errCSRF.Code, Msg: errCSRF.Msg, Next: errCSRF.Next, Err: err}
	}
	seed := Cookie(r, csrfCookie)
	if len(seed) != 43 {
		return errCSRF
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" {
		if err := parseForm(r); err != nil {
			return err
		}
		got = r.PostFormValue(CSRFField)
	}
	want := rt.csrfMAC(seed)
	if !hmac.Equal([]byte(got), []byte(want)) {
		return errCSRF
	}
	return nil
}
