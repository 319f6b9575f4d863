package portal

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// The iOS profiles page: the site's Apple configuration profiles, the
// private ones once the browser entered an iOS access key.

// iosCookie holds the grant an access key gave this browser.
const iosCookie = "ios"

type iosData struct {
	Profiles []desk.Profile
	// Granted: the browser entered a key and sees the private profiles.
	Granted bool
}

// granted reports whether the browser may see site's private profiles.
func (p *Portal) granted(r *http.Request, site desk.Site) bool {
	return site.ID != 0 && p.desk.IOSGrant(r.Context(), site.ID, web.Cookie(r, iosCookie))
}

func (p *Portal) renderIOS(w http.ResponseWriter, r *http.Request, status int, site desk.Site, granted bool, form url.Values, fe web.FieldErrors) error {
	d := iosData{Granted: granted}
	if site.ID != 0 {
		list, err := p.desk.Profiles(r.Context(), site.ID)
		if err != nil {
			return err
		}
		for _, pr := range list {
			if !pr.Private || granted {
				d.Profiles = append(d.Profiles, pr)
			}
		}
	}
	v := p.view(r, site, "iPhone and iPad profiles")
	v.Form, v.Errors, v.Data = form, fe, d
	return p.pages.Render(w, r, status, "ios.html", v)
}

func (p *Portal) serveIOS(w http.ResponseWriter, r *http.Request) error {
	site := p.site(r.Context(), r)
	return p.renderIOS(w, r, http.StatusOK, site, p.granted(r, site), nil, nil)
}

// serveIOSKey takes an iOS access key and, if it is good, lets the
// browser see the private profiles.
func (p *Portal) serveIOSKey(w http.ResponseWriter, r *http.Request) error {
	site := p.site(r.Context(), r)
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	if site.ID == 0 {
		return web.ErrNotFound
	}
	grant, _, err := p.desk.RedeemIOSKey(r.Context(), site.ID, form.Get("key"), p.source(r))
	var th *desk.ThrottledError
	switch {
	case errors.As(err, &th):
		secs := max(int(th.Wait.Seconds()+0.5), 1)
		return p.renderIOS(w, r, http.StatusTooManyRequests, site, false, form, web.FieldErrors{"key": "Too many wrong keys. Wait " + strconv.Itoa(secs) + " seconds, then try again."})
	case errors.Is(err, desk.ErrBadIOSKey):
		return p.renderIOS(w, r, http.StatusUnprocessableEntity, site, false, form, web.FieldErrors{"key": desk.ErrBadIOSKey.Msg})
	case err != nil:
		return err
	}
	web.SetCookie(w, iosCookie, grant, desk.IOSGrantLifetime)
	return web.Redirect(w, r, "/ios")
}

// serveProfile downloads a profile as iPhones install them.
func (p *Portal) serveProfile(w http.ResponseWriter, r *http.Request) error {
	site := p.site(r.Context(), r)
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		return web.ErrNotFound
	}
	notAvailable := web.Error(http.StatusNotFound, "This profile is not available.", "Go back to the profiles page; a private profile needs the access key your technician gives you.")
	// Another site's profile, or a private one without a key: the same
	// answer as none at all, and the file is read only once allowed.
	pr, err := p.desk.Profile(r.Context(), id)
	if err != nil || pr.Site != site.ID || pr.Private && !p.granted(r, site) {
		return notAvailable
	}
	pr, file, err := p.desk.ProfileFile(r.Context(), id)
	if err != nil || pr.Site != site.ID {
		return notAvailable
	}
	h := w.Header()
	h.Set("Content-Type", desk.ProfileType)
	// FileName holds only letters, digits, dot, dash and underscore.
	h.Set("Content-Disposition", `attachment; filename="`+pr.FileName+`"`)
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Length", strconv.Itoa(len(file)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(file)
	}
	return nil
}
