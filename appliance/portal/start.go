package portal

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

type homeData struct {
	Site        desk.Site
	Technicians []desk.Technician
	IssueTypes  []desk.IssueType
	// Error is a message for the whole page (e.g. key throttling).
	Error  string
	Portal portalView
	// Closed is set outside the site's opening hours: only the session
	// key is offered.
	Closed *closedView
	// Welcome is the site's welcome text in the page's language.
	Welcome string
	// IOS: the site offers iOS profiles.
	IOS bool
}

func (p *Portal) home(r *http.Request, site desk.Site) (homeData, error) {
	c, err := p.published(r.Context())
	if err != nil {
		return homeData{}, err
	}
	return homeData{Site: site, Technicians: c.technicians, IssueTypes: c.issueTypes, IOS: c.profiles[site.ID]}, nil
}

func (p *Portal) renderHome(w http.ResponseWriter, r *http.Request, status int, site desk.Site, form url.Values, fe web.FieldErrors, msg string) error {
	if site.NeedsPortalLogin(desk.MethodSurvey) && p.identity(r, site) == nil && p.portalOn(r, site) {
		// The session key answered from the portal login page goes back there.
		v := p.view(r, site, "Sign in to get help")
		p.allowSignIn(w, r, site)
		v.Form, v.Errors = form, fe
		v.Data = portalLoginData{Site: site, Portal: p.portalView(r, site), Next: "/", Error: msg,
			KeyOpen: site.SessionKey && !site.NeedsPortalLogin(desk.MethodKey)}
		return p.pages.Render(w, r, status, "portal-login.html", v)
	}
	p.allowSignIn(w, r, site)
	build := func() (web.View, error) {
		d, err := p.home(r, site)
		if err != nil {
			return web.View{}, err
		}
		v := p.view(r, site, "Get help")
		d.Error, d.Portal, d.Closed = msg, p.portalView(r, site), p.closed(v.Lang, site)
		d.Welcome = site.Localized(v.Lang).Welcome
		v.Form, v.Errors, v.Data = p.lockForm(r, site, form), fe, d
		return v, nil
	}
	// The plain home page of a site without portal login is the same for
	// everyone in a language: rendered once per change, not per request.
	if status == http.StatusOK && len(fe) == 0 && msg == "" && form.Get("key") == "" && r.URL.RawQuery == "" && site.PortalLogin == desk.PortalOff {
		key, snap, err := p.homeKey(r)
		if err != nil {
			return err
		}
		if snap.ID == site.ID && snap.PortalLogin == desk.PortalOff {
			// The rendering is kept under the key's version: it shows the
			// site as that version has it, not as an older request saw it.
			site = snap
			return p.pages.RenderShared(w, r, status, "home.html", key, build)
		}
	}
	v, err := build()
	if err != nil {
		return err
	}
	return p.pages.Render(w, r, status, "home.html", v)
}

// homeKey names everything the plain home page shows: the public data's
// version, the site, the language, whether it is closed and until when,
// and which important messages show now.
func (p *Portal) homeKey(r *http.Request) (string, desk.Site, error) {
	c, err := p.published(r.Context())
	if err != nil {
		return "", desk.Site{}, err
	}
	site := c.siteFor(hostOf(r))
	lang := p.lang(r, site)
	var b strings.Builder
	fmt.Fprintf(&b, "home\x00%d\x00%d\x00%s\x00", c.gen, site.ID, lang)
	if cv := p.closed(lang, site); cv != nil {
		b.WriteString("closed\x00" + cv.Opens + "\x00")
	}
	for _, an := range desk.ShownAt(c.messages[site.ID], p.desk.Now()) {
		fmt.Fprintf(&b, "%d,", an.ID)
	}
	return b.String(), site, nil
}

func (p *Portal) serveHome(w http.ResponseWriter, r *http.Request) error {
	site := p.site(r.Context(), r)
	// A site that requires its portal login shows that page first.
	if site.NeedsPortalLogin(desk.MethodSurvey) && p.identity(r, site) == nil {
		if !p.portalOn(r, site) {
			_, err := p.gate(w, r, site, desk.MethodSurvey, "/")
			return err
		}
		return p.renderPortalLogin(w, r, http.StatusOK, site, "/", "")
	}
	// A technician's key URL (/?key=123456789) fills in the key.
	return p.renderHome(w, r, http.StatusOK, site, url.Values{"key": {r.URL.Query().Get("key")}}, nil, "")
}

func (p *Portal) servePhoto(w http.ResponseWriter, r *http.Request) error {
	t, err := p.techFor(r, p.site(r.Context(), r))
	if err != nil || len(t.Photo) == 0 {
		return web.ErrNotFound
	}
	w.Header().Set("Content-Type", t.PhotoType)
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Write(t.Photo)
	return nil
}

// customerFrom reads the survey fields of a form.
func customerFrom(form url.Values, site desk.Site) desk.Customer {
	c := desk.Customer{
		Name:        form.Get("name"),
		Company:     form.Get("company"),
		CompanyCode: form.Get("company_code"),
		Description: form.Get("description"),
	}
	for i, f := range site.Custom {
		c.Custom = append(c.Custom, desk.Answer{Label: f.Label, Value: form.Get(fmt.Sprintf("custom_%d", i))})
	}
	return c
}

// customerOf reads the survey fields of form as fields asks for them, with
// what the portal login says in place of any mapped field.
func (p *Portal) customerOf(r *http.Request, site desk.Site, form url.Values, fields desk.Site) desk.Customer {
	c := customerFrom(form, fields)
	p.verify(r, site, &c, nil)
	return c
}

// begin sets the customer cookie and sends the customer to its session.
func (p *Portal) begin(w http.ResponseWriter, r *http.Request, token string) error {
	web.SetCookie(w, customerCookie, token, 24*time.Hour)
	return web.Redirect(w, r, "/session")
}

type techFormData struct {
	Site       desk.Site
	Technician desk.Technician
	Action     string
	Heading    string
	Portal     portalView
}

// techFor returns the technician of the path if the site lists it (the
// list is on and the technician is available); others are not found, so
// the public site does not reveal who exists.
func (p *Portal) techFor(r *http.Request, site desk.Site) (desk.Technician, error) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || !site.TechList {
		return desk.Technician{}, web.ErrNotFound
	}
	t, err := p.desk.Technician(r.Context(), id)
	if err != nil || t.Availability != desk.Available {
		return t, web.Error(http.StatusNotFound, "This technician is not available right now.", "Go back and choose another technician, or describe your issue in the form.")
	}
	return t, nil
}

func (p *Portal) renderStartForm(w http.ResponseWriter, r *http.Request, status int, site desk.Site, d techFormData, form url.Values, fe web.FieldErrors) error {
	v := p.view(r, site, d.Heading)
	if d.Site.Name == "" {
		d.Site = site
	}
	d.Portal = p.portalView(r, site)
	p.allowSignIn(w, r, site)
	v.Form, v.Errors, v.Data = p.lockForm(r, site, form), fe, d
	return p.pages.Render(w, r, status, "start.html", v)
}

func (p *Portal) serveTechForm(w http.ResponseWriter, r *http.Request) error {
	site := p.site(r.Context(), r)
	t, err := p.techFor(r, site)
	if err != nil {
		return err
	}
	if sent, err := p.admit(w, r, site, desk.MethodTechList, r.URL.Path); sent {
		return err
	}
	d := techFormData{Technician: t, Action: r.URL.Path, Heading: "Get help from " + t.PublicName}
	return p.renderStartForm(w, r, http.StatusOK, site, d, nil, nil)
}

func (p *Portal) serveStartTech(w http.ResponseWriter, r *http.Request) error {
	site := p.site(r.Context(), r)
	t, err := p.techFor(r, site)
	if err != nil {
		return err
	}
	if sent, err := p.admit(w, r, site, desk.MethodTechList, r.URL.Path); sent {
		return err
	}
	if err := p.limitStart(r); err != nil {
		return err
	}
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	_, tok, err := p.desk.StartWithTechnician(r.Context(), site, t.UserID, p.customerOf(r, site, form, site))
	if err != nil {
		d := techFormData{Technician: t, Action: r.URL.Path, Heading: "Get help from " + t.PublicName}
		if fe, ok := fieldErrors(err); ok {
			return p.renderStartForm(w, r, http.StatusUnprocessableEntity, site, d, form, fe)
		}
		if errors.Is(err, desk.ErrState) {
			return p.renderStartForm(w, r, http.StatusConflict, site, d, form, web.FieldErrors{"name": t.PublicName + " is not available right now. Go back and choose another technician, or describe your issue in the form."})
		}
		return deskError(err)
	}
	return p.begin(w, r, tok)
}

func (p *Portal) serveStartKey(w http.ResponseWriter, r *http.Request) error {
	site := p.site(r.Context(), r)
	if !site.SessionKey {
		return web.ErrNotFound
	}
	if sent, err := p.admit(w, r, site, desk.MethodKey, "/"); sent {
		return err
	}
	if err := p.limitStart(r); err != nil {
		return err
	}
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	c := p.customerOf(r, site, form, desk.Site{})
	_, tok, err := p.desk.StartWithKey(r.Context(), site, form.Get("key"), c, p.source(r))
	var te *desk.ThrottledError
	switch {
	case err == nil:
		return p.begin(w, r, tok)
	case errors.Is(err, desk.ErrBadKey):
		p.log.Info("wrong session key", "source", p.source(r))
		return p.renderHome(w, r, http.StatusUnprocessableEntity, site, form, web.FieldErrors{"key": "That session key is not valid. Check the 9 digits, or ask your technician for a new key."}, "")
	case errors.As(err, &te):
		p.log.Warn("session key entry throttled", "source", p.source(r), "wait", te.Wait)
		secs := int(te.Wait.Round(time.Second) / time.Second)
		return p.renderHome(w, r, http.StatusTooManyRequests, site, form, web.FieldErrors{"key": fmt.Sprintf("Too many wrong keys. Wait %d seconds, then try again.", max(secs, 1))}, "")
	}
	if fe, ok := fieldErrors(err); ok {
		return p.renderHome(w, r, http.StatusUnprocessableEntity, site, form, fe, "")
	}
	return err
}

func (p *Portal) serveStartSurvey(w http.ResponseWriter, r *http.Request) error {
	site := p.site(r.Context(), r)
	if !site.Survey {
		return web.ErrNotFound
	}
	if sent, err := p.admit(w, r, site, desk.MethodSurvey, "/"); sent {
		return err
	}
	if err := p.limitStart(r); err != nil {
		return err
	}
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	issue, _ := strconv.ParseUint(form.Get("issue_type"), 10, 64)
	tech, _ := strconv.ParseUint(form.Get("technician"), 10, 64)
	_, tok, err := p.desk.StartSurvey(r.Context(), site, issue, tech, p.customerOf(r, site, form, site))
	if err == nil {
		return p.begin(w, r, tok)
	}
	if fe, ok := fieldErrors(err); ok {
		return p.renderHome(w, r, http.StatusUnprocessableEntity, site, form, fe, "")
	}
	if errors.Is(err, desk.ErrState) || errors.Is(err, desk.ErrNotFound) {
		return p.renderHome(w, r, http.StatusConflict, site, form, web.FieldErrors{"technician": "That technician is not available right now. Choose another one."}, "")
	}
	return err
}

func (p *Portal) serveStartCode(w http.ResponseWriter, r *http.Request) error {
	site := p.site(r.Context(), r)
	if sent, err := p.admit(w, r, site, desk.MethodCode, "/"); sent {
		return err
	}
	if err := p.limitStart(r); err != nil {
		return err
	}
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	_, tok, code, err := p.desk.StartCode(r.Context(), site, p.customerOf(r, site, form, desk.Site{}))
	if err != nil {
		if fe, ok := fieldErrors(err); ok {
			return p.renderHome(w, r, http.StatusUnprocessableEntity, site, form, fe, "")
		}
		return err
	}
	// The code is shown on the session page until a technician claims it;
	// the desk keeps only its keyed hash.
	web.SetCookie(w, codeCookie, code, 24*time.Hour)
	return p.begin(w, r, tok)
}

const codeCookie = "sb-code"

// sosForm is the short SOS Call request form: a name and the issue.
func sosForm(site desk.Site, action string) techFormData {
	return techFormData{Action: action, Heading: "Request help",
		Site: desk.Site{ID: site.ID, Name: site.Name, AskName: true, AskDescription: true}}
}

func (p *Portal) serveSOSForm(w http.ResponseWriter, r *http.Request) error {
	site := p.site(r.Context(), r)
	l, err := p.desk.SOSByToken(r.Context(), r.PathValue("token"))
	switch {
	case errors.Is(err, desk.ErrNotFound):
		return errSOSInvalid
	case err != nil:
		return err
	case l.Paused:
		return web.Error(http.StatusConflict, "This help link is paused for now.", "Try again later, or contact your help desk another way.")
	}
	if sent, err := p.admit(w, r, site, desk.MethodSOS, r.URL.Path); sent {
		return err
	}
	d := sosForm(site, r.URL.Path)
	return p.renderStartForm(w, r, http.StatusOK, site, d, nil, nil)
}

func (p *Portal) serveStartSOS(w http.ResponseWriter, r *http.Request) error {
	site := p.site(r.Context(), r)
	if !site.SOSCall && site.ID != 0 {
		return web.Error(http.StatusNotFound, "Help links are turned off on this site.", "Contact your help desk another way.")
	}
	if sent, err := p.admit(w, r, site, desk.MethodSOS, r.URL.Path); sent {
		return err
	}
	if err := p.limitStart(r); err != nil {
		return err
	}
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	_, tok, err := p.desk.StartSOS(r.Context(), site, r.PathValue("token"), p.customerOf(r, site, form, desk.Site{}))
	d := sosForm(site, r.URL.Path)
	switch {
	case err == nil:
		return p.begin(w, r, tok)
	case errors.Is(err, desk.ErrSOSPaused):
		return p.renderStartForm(w, r, http.StatusConflict, site, d, form, web.FieldErrors{"name": "This help link is paused for now. Try again later, or contact your help desk another way."})
	case errors.Is(err, desk.ErrNotFound):
		return errSOSInvalid
	}
	if fe, ok := fieldErrors(err); ok {
		return p.renderStartForm(w, r, http.StatusUnprocessableEntity, site, d, form, fe)
	}
	return err
}

// serveLink shows a support link's page. Opening the address binds
// nothing: mail scanners and link previews fetch it too. The customer
// joins with the button (serveJoin); a browser already bound goes straight
// to its session.
func (p *Portal) serveLink(w http.ResponseWriter, r *http.Request) error {
	tok := r.PathValue("token")
	ss, bound, mine, err := p.desk.PeekLink(r.Context(), tok, web.Cookie(r, customerCookie))
	site := p.site(r.Context(), r)
	switch {
	case errors.Is(err, desk.ErrNotFound):
		return errLinkInvalid
	case err != nil:
		return err
	case mine:
		return web.Redirect(w, r, "/session")
	case bound:
		return errLinkTaken
	case !ss.Open():
		return p.renderEnded(w, r, site, ss)
	}
	if sent, err := p.admit(w, r, site, desk.MethodLink, r.URL.Path); sent {
		return err
	}
	v := p.view(r, site, "Join your support session")
	v.Data = struct{ Action string }{r.URL.Path}
	return p.pages.Render(w, r, http.StatusOK, "join.html", v)
}

var (
	errSOSInvalid  = web.Error(http.StatusNotFound, "This help link is no longer valid.", "Ask your help desk for a current link.")
	errLinkTaken   = web.Error(http.StatusConflict, "This support link is already in use on another device.", "Ask your technician for a new link if you need to join from here.")
	errLinkInvalid = web.Error(http.StatusNotFound, "This support link is not valid.", "Check the address, or ask your technician for a new link.")
)

func (p *Portal) serveJoin(w http.ResponseWriter, r *http.Request) error {
	site := p.site(r.Context(), r)
	if sent, err := p.admit(w, r, site, desk.MethodLink, r.URL.Path); sent {
		return err
	}
	ss, tok, err := p.desk.RedeemLink(r.Context(), site, r.PathValue("token"), web.Cookie(r, customerCookie))
	switch {
	case errors.Is(err, desk.ErrLinkTaken):
		return errLinkTaken
	case errors.Is(err, desk.ErrNotFound):
		return errLinkInvalid
	case err != nil:
		return err
	}
	if tok == "" {
		// The link's session ended before anyone opened it.
		return p.renderEnded(w, r, site, ss)
	}
	return p.begin(w, r, tok)
}
