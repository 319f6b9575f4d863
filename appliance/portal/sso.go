package portal

import (
	"errors"
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/text"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/samlsp"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// The portal login (SAML) of a public site. A customer signs in at the
// site's identity provider; the box keeps who they are (samlsp.Identity)
// behind a cookie for an hour, fills and locks the survey fields the site
// maps from the IdP's attributes, and marks the session Verified.

const (
	// samlCookie ties a pending sign-in to the browser that started it.
	// It must come back on the IdP's cross-site POST (SameSite=None) and
	// authorizes nothing alone.
	samlCookie = "sb-saml"
	// portalCookie carries a signed-in customer's identity token.
	portalCookie = "sb-portal"
	// maxACSBody bounds the IdP's POST (samlsp.MaxResponse, base64).
	maxACSBody = 256 << 10
)

// SetSSO turns on portal logins through s (nil: off).
func (p *Portal) SetSSO(s *samlsp.Service) { p.sso = s }

func (p *Portal) ssoRoutes(rt *web.Router) {
	rt.Handle("GET /saml/metadata", p.serveSAMLMetadata)
	rt.Handle("GET /saml/login", p.servePortalLogin)
	rt.Handle("POST /saml/login", p.serveSAMLBegin)
	rt.HandleACS("POST /saml/acs", maxACSBody, p.serveSAMLACS)
	rt.Handle("GET /saml/acs", p.serveSAMLACS)
	rt.Handle("POST /saml/logout", p.servePortalLogout)
}

// provider returns the site's service provider and its addresses, or
// false when the site has no usable portal login.
func (p *Portal) provider(r *http.Request, site desk.Site) (samlsp.Provider, samlsp.Endpoints, bool) {
	if p.sso == nil || site.ID == 0 || site.PortalLogin == desk.PortalOff {
		return samlsp.Provider{}, samlsp.Endpoints{}, false
	}
	pr, err := p.sso.Provider(r.Context(), samlsp.SiteKey(site.ID))
	if err != nil || !pr.Ready() {
		return pr, samlsp.Endpoints{}, false
	}
	return pr, samlsp.EndpointsAt(pr.Base, "/saml"), true
}

// portalOn reports whether the site offers its portal login.
func (p *Portal) portalOn(r *http.Request, site desk.Site) bool {
	_, _, ok := p.provider(r, site)
	return ok
}

// identity returns the customer's portal sign-in on this site, if any.
func (p *Portal) identity(r *http.Request, site desk.Site) *samlsp.Identity {
	if p.sso == nil || site.ID == 0 || site.PortalLogin == desk.PortalOff {
		return nil
	}
	id, err := p.sso.Identity(r.Context(), samlsp.SiteKey(site.ID), web.Cookie(r, portalCookie))
	if err != nil {
		return nil
	}
	return &id
}

// gate sends a customer who must sign in first to the portal login page,
// to come back to back afterwards. It reports whether it did. A site whose
// portal login is required but not set up refuses the start method: the
// site's rule holds even while the admin is still configuring it.
func (p *Portal) gate(w http.ResponseWriter, r *http.Request, site desk.Site, m desk.Method, back string) (bool, error) {
	if !site.NeedsPortalLogin(m) || p.identity(r, site) != nil {
		return false, nil
	}
	if !p.portalOn(r, site) {
		return true, web.Error(http.StatusServiceUnavailable, "Signing in to this site is required, but its sign-in is not available right now.", "Try again later, or contact your help desk another way.")
	}
	return true, web.Redirect(w, r, "/saml/login?next="+url.QueryEscape(samlsp.LocalPath(back)))
}

// portalView is what the public pages show about the portal login.
type portalView struct {
	// On: the site offers a portal login; Label is its button's words.
	On    bool
	Label string
	// Identity is the signed-in customer; Locked the survey fields it
	// filled (field name → true).
	Identity *samlsp.Identity
	Locked   map[string]bool
	Next     string
}

// allowSignIn lets the page's sign-in button lead to the site's IdP.
func (p *Portal) allowSignIn(w http.ResponseWriter, r *http.Request, site desk.Site) {
	if pr, _, ok := p.provider(r, site); ok {
		web.AllowFormTarget(w, pr.IdP.Origin())
	}
}

func (p *Portal) portalView(r *http.Request, site desk.Site) portalView {
	pv := portalView{Next: samlsp.LocalPath(r.URL.RequestURI())}
	pr, _, ok := p.provider(r, site)
	if !ok {
		return pv
	}
	pv.On, pv.Label = true, pr.Label()
	if id := p.identity(r, site); id != nil {
		pv.Identity = id
		pv.Locked = map[string]bool{}
		for _, lf := range lockedFields(site, pr, *id) {
			pv.Locked[lf.Field] = true
		}
	}
	return pv
}

// lockedField is a survey field the IdP filled: its form name, the custom
// field it is (-1 for name and company) and the value.
type lockedField struct {
	Field  string
	Custom int
	Value  string
}

// lockedFields are the survey's fields the IdP gave values for, as the
// site's attribute mapping says.
func lockedFields(site desk.Site, pr samlsp.Provider, id samlsp.Identity) []lockedField {
	var out []lockedField
	set := func(field, target string, custom, max int) {
		if attr := pr.Mapping[target]; attr != "" {
			if v := id.Attr(attr); v != "" {
				out = append(out, lockedField{field, custom, text.ClipRunes(v, max)})
			}
		}
	}
	set("name", "name", -1, 100)
	set("company", "company", -1, 100)
	for i, f := range site.Custom {
		set(fmt.Sprintf("custom_%d", i), "custom:"+f.Label, i, max(f.MaxLen, 1))
	}
	return out
}

// verify fills c with what the IdP said, replacing whatever was posted
// for a mapped field, and marks it Verified. It also puts the values in
// form, so a page shown again shows them.
func (p *Portal) verify(r *http.Request, site desk.Site, c *desk.Customer, form url.Values) {
	id := p.identity(r, site)
	if id == nil {
		return
	}
	pr, _, ok := p.provider(r, site)
	if !ok {
		return
	}
	v := &desk.Verified{By: pr.Name, IdP: id.IdP, NameID: id.NameID}
	if a := pr.Mapping["email"]; a != "" {
		v.Email = text.ClipRunes(id.Attr(a), 254)
	}
	for _, lf := range lockedFields(site, pr, *id) {
		v.Locked = append(v.Locked, lf.Field)
		if form != nil {
			form.Set(lf.Field, lf.Value)
		}
		switch {
		case lf.Field == "name":
			c.Name = lf.Value
		case lf.Field == "company":
			c.Company = lf.Value
		default:
			c.Custom = setAnswer(c.Custom, site.Custom[lf.Custom].Label, lf.Value)
		}
	}
	c.Verified = v
}

// setAnswer sets the answer labelled label in answers, adding it if absent.
func setAnswer(answers []desk.Answer, label, value string) []desk.Answer {
	for j := range answers {
		if answers[j].Label == label {
			answers[j].Value = value
			return answers
		}
	}
	return append(answers, desk.Answer{Label: label, Value: value})
}

// lockForm puts the IdP's values into a form shown to a signed-in customer.
func (p *Portal) lockForm(r *http.Request, site desk.Site, form url.Values) url.Values {
	if form == nil {
		form = url.Values{}
	}
	var c desk.Customer
	p.verify(r, site, &c, form)
	return form
}

func (p *Portal) serveSAMLMetadata(w http.ResponseWriter, r *http.Request) error {
	site := p.site(r.Context(), r)
	if p.sso == nil || site.ID == 0 {
		return web.ErrNotFound
	}
	raw, err := p.sso.ProviderMetadata(r.Context(), samlsp.SiteKey(site.ID), "/saml")
	if err != nil {
		return web.ErrNotFound
	}
	w.Header().Set("Content-Type", samlsp.MetadataType)
	w.Write(raw)
	return nil
}

// servePortalLogin is the seed's "Portal login" page: why to sign in and
// the button; the session key stays usable where the site allows it.
func (p *Portal) servePortalLogin(w http.ResponseWriter, r *http.Request) error {
	site := p.site(r.Context(), r)
	if !p.portalOn(r, site) {
		return web.ErrNotFound
	}
	next := samlsp.LocalPath(r.URL.Query().Get("next"))
	if p.identity(r, site) != nil {
		return web.Redirect(w, r, next)
	}
	return p.renderPortalLogin(w, r, http.StatusOK, site, next, "")
}

type portalLoginData struct {
	Site   desk.Site
	Portal portalView
	Next   string
	// Failed says why the last sign-in was refused; Error is any other
	// message for the whole page.
	Failed, Error string
	// KeyOpen: the session key form is offered without signing in.
	KeyOpen bool
}

func (p *Portal) renderPortalLogin(w http.ResponseWriter, r *http.Request, status int, site desk.Site, next, failed string) error {
	title := "Sign in to get help"
	if failed != "" {
		title = "Your sign-in did not go through"
	}
	v := p.view(r, site, title)
	p.allowSignIn(w, r, site)
	v.Data = portalLoginData{Site: site, Portal: p.portalView(r, site), Next: next, Failed: failed,
		KeyOpen: site.SessionKey && !site.NeedsPortalLogin(desk.MethodKey)}
	return p.pages.Render(w, r, status, "portal-login.html", v)
}

// serveSAMLBegin starts a sign-in at the IdP. A site reached by another of
// its host names first moves to the one the IdP knows, so the browser
// cookie lands where the answer arrives.
func (p *Portal) serveSAMLBegin(w http.ResponseWriter, r *http.Request) error {
	site := p.site(r.Context(), r)
	pr, ep, ok := p.provider(r, site)
	if !ok {
		return web.ErrNotFound
	}
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	next := samlsp.LocalPath(form.Get("next"))
	if base, _ := url.Parse(pr.Base); base != nil && !sameHost(base.Host, r.Host) {
		return web.Redirect(w, r, pr.Base+"/saml/login?next="+url.QueryEscape(next))
	}
	if ok, retry := p.saml.Allow(p.source(r)); !ok {
		return web.TooMany(retry)
	}
	to, browser, err := p.sso.Begin(r.Context(), pr, ep, next)
	if err != nil {
		if errors.Is(err, samlsp.ErrBusy) {
			return web.Error(http.StatusServiceUnavailable, "Too many people are signing in right now.", "Wait a minute, then try again.")
		}
		return err
	}
	web.SetCrossSiteCookie(w, samlCookie, browser, samlsp.RequestTTL)
	http.Redirect(w, r, to.String(), http.StatusSeeOther)
	return nil
}

func sameHost(a, b string) bool {
	ha, _, err := net.SplitHostPort(a)
	if err != nil {
		ha = a
	}
	hb, _, err := net.SplitHostPort(b)
	if err != nil {
		hb = b
	}
	return strings.EqualFold(ha, hb)
}

// serveSAMLACS takes the IdP's answer. A refusal gives a page that says
// why and offers to start again; its reason (never the answer) goes to
// the admin's list.
func (p *Portal) serveSAMLACS(w http.ResponseWriter, r *http.Request) error {
	site := p.site(r.Context(), r)
	pr, ep, ok := p.provider(r, site)
	if !ok {
		return web.ErrNotFound
	}
	if ok, retry := p.saml.Allow(p.source(r)); !ok {
		return web.TooMany(retry)
	}
	browser := web.Cookie(r, samlCookie)
	web.SetCrossSiteCookie(w, samlCookie, "", -1)
	res, err := p.sso.Finish(r.Context(), pr, ep, r, browser)
	if err != nil {
		var ref *samlsp.Refusal
		if !errors.As(err, &ref) {
			p.log.Error("portal sign-in could not be checked", "site", site.ID, "reason", samlsp.Reason(err))
		}
		if rerr := p.sso.Record(r.Context(), pr.Key, p.source(r), err); rerr != nil {
			return rerr
		}
		p.log.Info("portal sign-in refused", "site", site.ID, "source", p.source(r), "reason", samlsp.Reason(err))
		return p.renderPortalLogin(w, r, http.StatusForbidden, site, "/", samlsp.Reason(err))
	}
	tok, err := p.sso.Issue(r.Context(), res, pr.Name)
	if err != nil {
		return err
	}
	web.SetCookie(w, portalCookie, tok, samlsp.IdentityTTL)
	p.log.Info("portal sign-in", "site", site.ID)
	return web.Redirect(w, r, res.Next)
}

func (p *Portal) servePortalLogout(w http.ResponseWriter, r *http.Request) error {
	if tok := web.Cookie(r, portalCookie); tok != "" && p.sso != nil {
		if err := p.sso.Forget(r.Context(), tok); err != nil {
			return err
		}
	}
	web.SetCookie(w, portalCookie, "", -1)
	return web.Redirect(w, r, "/")
}
