package portal

import (
	"github.com/switchboardhq/switchboard/appliance/i18n"
	"net/http"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// closedView is what a closed site says: its message and when it opens.
type closedView struct {
	Message string
	// Opens is when the site opens again, in its time zone, in words ("" if
	// not within a year).
	Opens string
}

// defaultClosed is said when the site gives no closed message.
const defaultClosed = "We are closed right now."

// closed returns the site's closed view, or nil while it is open.
func (p *Portal) closed(lang string, site desk.Site) *closedView {
	open, next := site.OpenAt(p.desk.Now())
	if open {
		return nil
	}
	cv := &closedView{Message: site.Localized(lang).Closed}
	if cv.Message == "" {
		cv.Message = i18n.T(lang, defaultClosed)
	}
	if !next.IsZero() {
		// In the site's zone: "Monday 2 March, 09:00 (Europe/Paris)".
		cv.Opens = i18n.Date(lang, next.In(site.Hours.Location())) + " (" + site.Hours.TimeZone + ")"
	}
	return cv
}

// admit lets a customer on to start method m: the site must be open for
// it and, where the site requires it, the customer signed in to its
// portal. It reports whether it answered the request itself.
func (p *Portal) admit(w http.ResponseWriter, r *http.Request, site desk.Site, m desk.Method, back string) (bool, error) {
	if err := p.openFor(p.lang(r, site), site, m); err != nil {
		return true, err
	}
	return p.gate(w, r, site, m, back)
}

// openFor refuses start method m while the site is closed; the session
// key stays usable (the seed's rule), and presentations are no start
// method.
func (p *Portal) openFor(lang string, site desk.Site, m desk.Method) error {
	if m == desk.MethodKey || m == desk.MethodPresentation {
		return nil
	}
	cv := p.closed(lang, site)
	if cv == nil {
		return nil
	}
	next := i18n.T(lang, "Come back when we are open, or use the session key your technician gives you.")
	if cv.Opens != "" {
		next = i18n.T(lang, "We open again on %s. If a technician gave you a session key, you can use it now on the home page.", cv.Opens)
	}
	return web.Error(http.StatusConflict, cv.Message, next)
}
