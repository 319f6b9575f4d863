package admin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/text"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/appliance/account"
	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/samlsp"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// Single sign-on settings: each public site's portal login (for customers)
// and the technicians' sign-in to /login and /console. Both are SAML
// service providers of package samlsp; this file is their admin pages and
// the technicians' sign-in flow.

// SetSSO turns on the single sign-on pages and sign-in through s.
func (a *Admin) SetSSO(s *samlsp.Service) { a.sso = s }

// staffPrefix is where the technicians' service provider lives.
const staffPrefix = "/login/saml"

// maxSSOBody bounds the settings form (it may carry a metadata file).
const maxSSOBody = samlsp.MaxMetadata + 64<<10

func (a *Admin) ssoRoutes(rt *web.Router) {
	if a.sso == nil {
		return
	}
	rt.Handle("GET /login/sites/{id}/sso", a.guard(desk.ActManageSites, a.serveSiteSSO))
	rt.HandleUpload("POST /login/sites/{id}/sso", maxSSOBody, a.guard(desk.ActManageSites, a.serveSiteSSOSave))
	rt.Handle("GET /login/security", a.guard("", a.adminOnly(a.serveSecurity)))
	rt.HandleUpload("POST /login/security", maxSSOBody, a.guard("", a.adminOnly(a.serveSecuritySave)))

	rt.Handle("GET "+staffPrefix+"/metadata", a.serveStaffMetadata)
	rt.Handle("POST "+staffPrefix+"/login", a.serveStaffBegin)
	rt.HandleACS("POST "+staffPrefix+"/acs", 256<<10, a.serveStaffACS)
	rt.Handle("GET "+staffPrefix+"/acs", a.serveStaffACS)
	a.area.SetExternal(account.External{Action: staffPrefix + "/login", Offer: func(r *http.Request) (string, string, bool) {
		p, _, ok := a.staffProvider(r)
		if !ok {
			return "", "", false
		}
		return p.Label(), p.IdP.Origin(), true
	}})
}

// deleteSite deletes a public site and forgets its portal login.
func (a *Admin) deleteSite(ctx context.Context, actor desk.Actor, id uint64) error {
	if err := a.desk.DeleteSite(ctx, actor, id); err != nil {
		return err
	}
	if a.sso == nil {
		return nil
	}
	return a.sso.DeleteProvider(ctx, samlsp.SiteKey(id))
}

// adminOnly lets only the realm's administrators through: the technicians'
// sign-in decides who may become what, so no delegated permission covers it.
func (a *Admin) adminOnly(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, q *req) error {
		if !q.Who.Admin() {
			return desk.ErrForbidden
		}
		return h(w, r, q)
	}
}

// ssoPage is the settings page of one service provider.
type ssoPage struct {
	Heading, Intro, Action, Back, BackLabel string
	Staff                                   bool
	EP                                      samlsp.Endpoints
	IdP                                     *samlsp.IdP
	Certs                                   []certRow
	Failures                                []samlsp.Failure
	Sections                                []section
	Attributes                              []attrHint
}

type certRow struct {
	samlsp.Cert
	Badge, State string
}

// attrHint tells the IdP's admin what to release.
type attrHint struct{ Target, Attr string }

func certRows(idp *samlsp.IdP, now time.Time) []certRow {
	if idp == nil {
		return nil
	}
	var out []certRow
	for _, c := range idp.Certs {
		row := certRow{Cert: c, Badge: "ok", State: "valid until " + c.NotAfter.Format("2 January 2006")}
		switch days := int(c.NotAfter.Sub(now).Hours() / 24); {
		case c.Expired(now):
			row.Badge, row.State = "bad", "expired on "+c.NotAfter.Format("2 January 2006")+": sign-ins fail until new metadata is pinned"
		case days < 30:
			row.Badge, row.State = "warn", fmt.Sprintf("expires in %d days: pin the identity provider's new metadata before then", days)
		}
		out = append(out, row)
	}
	return out
}

// siteBase is the default address of a site's service provider: its first
// host name on the port this admin page came in on.
func siteBase(r *http.Request, st desk.Site) string {
	host := r.Host
	if len(st.Hostnames) > 0 {
		host = st.Hostnames[0]
		if i := strings.LastIndexByte(r.Host, ':'); i >= 0 && !strings.Contains(r.Host[i:], "]") {
			host += r.Host[i:]
		}
	}
	return "https://" + host
}

func providerForm(p samlsp.Provider, base string) url.Values {
	v := url.Values{"base": {base}, "name": {p.Name}}
	if p.Base != "" {
		v.Set("base", p.Base)
	}
	for k, attr := range p.Mapping {
		v.Set("map_"+k, attr)
	}
	if s := p.Staff; s != nil {
		v["enabled"], v["jit"] = boolValue(s.Enabled), boolValue(s.JIT)
		v.Set("match_by", s.MatchBy)
		v.Set("default_role", s.DefaultRole)
	}
	return v
}

func (a *Admin) serveSiteSSO(w http.ResponseWriter, r *http.Request, q *req) error {
	st, err := a.siteOf(r)
	if err != nil {
		return err
	}
	p, err := a.provider(r.Context(), samlsp.SiteKey(st.ID))
	if err != nil {
		return err
	}
	v := a.area.View(r, q.Who, "Portal login of "+st.Name)
	v.Form = providerForm(p, siteBase(r, st))
	v.Flash = flash(r, "portal login")
	return a.renderSSO(w, r, http.StatusOK, v, p, &st)
}

func (a *Admin) siteOf(r *http.Request) (desk.Site, error) {
	id, err := pathID(r)
	if err != nil {
		return desk.Site{}, err
	}
	return a.desk.Site(r.Context(), id)
}

// provider returns the saved provider key, or an empty one.
func (a *Admin) provider(ctx context.Context, key string) (samlsp.Provider, error) {
	p, err := a.sso.Provider(ctx, key)
	if err != nil && !errors.Is(err, samlsp.ErrNoProvider) {
		return p, err
	}
	return p, nil
}

func (a *Admin) serveSecurity(w http.ResponseWriter, r *http.Request, q *req) error {
	p, err := a.provider(r.Context(), samlsp.StaffKey)
	if err != nil {
		return err
	}
	if p.Staff == nil {
		p.Staff = &samlsp.Staff{MatchBy: "email"}
		p.Mapping = map[string]string{"email": "mail", "name": "displayName", "groups": "memberOf"}
	}
	v := a.area.View(r, q.Who, "Security")
	v.Form = providerForm(p, "https://"+r.Host)
	v.Form.Set("groups", groupLines(r.Context(), a.desk, p.Staff.Groups))
	v.Flash = flash(r, "sign-in settings")
	return a.renderSSO(w, r, http.StatusOK, v, p, nil)
}

func (a *Admin) renderSSO(w http.ResponseWriter, r *http.Request, status int, v web.View, p samlsp.Provider, st *desk.Site) error {
	now := time.Now()
	pg := ssoPage{IdP: p.IdP, Certs: certRows(p.IdP, now)}
	var err error
	if pg.Failures, err = a.sso.Failures(r.Context(), p.Key); err != nil {
		return err
	}
	base := v.Value("base")
	if p.Base != "" {
		base = p.Base
	}
	metaHint := "Upload the identity provider's SAML metadata (an XML file), or give its address to fetch it once. It is pinned: the box trusts only the signing certificates it lists until you pin new metadata. Leave both empty to keep what is pinned."
	identity := []field{
		textField(v, "base", "Address of this service provider", 300, "https:// and the host name (and port) people reach it on. The identity provider sends its answers there."),
		textField(v, "name", "Name of the identity provider", 64, "The button says “Sign in with …” this name, and technicians see it in the check mark's tooltip."),
		textField(v, "metadata_url", "Metadata address", 2000, ""),
		{ID: "metadata_file", Name: "metadata_file", Label: "Metadata file", Type: "file", Accept: ".xml,application/xml,application/samlmetadata+xml", Err: v.Err("metadata_file"), Hint: metaHint},
	}
	if st != nil {
		pg.Heading, pg.Back, pg.BackLabel = "Portal login of "+st.Name, fmt.Sprintf("/login/sites/%d", st.ID), st.Name
		pg.Action = fmt.Sprintf("/login/sites/%d/sso", st.ID)
		pg.Intro = "Customers sign in with your organization's identity provider (SAML) before they start a session: their name and the mapped fields are filled in and cannot be changed, and technicians see a green check. Whether the site asks for it (off, optional, required) is set on the site's page."
		pg.EP = samlsp.EndpointsAt(base, "/saml")
		mapping := []field{
			textField(v, "map_name", "Name", 200, "The attribute that holds the customer's name, such as displayName or urn:oid:2.16.840.1.113730.3.1.241."),
			textField(v, "map_company", "Company", 200, ""),
			textField(v, "map_email", "E-mail", 200, "Shown to technicians with the check mark, such as mail or urn:oid:0.9.2342.19200300.100.1.3."),
		}
		for _, f := range st.Custom {
			mapping = append(mapping, textField(v, "map_custom:"+f.Label, "Survey field “"+f.Label+"”", 200, ""))
		}
		pg.Sections = []section{
			{ID: "idp", Title: "Identity provider", Fields: identity},
			{ID: "mapping", Title: "Attributes", Hint: "Which attribute of the identity provider's answer fills each field. Leave a field empty to let customers type it.", Fields: mapping},
		}
		for _, k := range []string{"name", "company", "email"} {
			if at := p.Mapping[k]; at != "" {
				pg.Attributes = append(pg.Attributes, attrHint{k, at})
			}
		}
	} else {
		pg.Staff = true
		pg.Heading, pg.Back, pg.BackLabel, pg.Action = "Security: technicians' sign-in", "/login/dashboard", "Dashboard", "/login/security"
		pg.Intro = "Technicians can sign in to /login and /console with your organization's identity provider (SAML). Password accounts keep working whatever happens here, so an administrator with a password can always sign in when the identity provider is down. /appliance always uses its own accounts."
		pg.EP = samlsp.EndpointsAt(base, staffPrefix)
		roles := []option{{Value: "", Label: "None: refuse people no group rule gives a role"}}
		for _, role := range []string{auth.RoleTechnician, auth.RoleChannelManager, auth.RoleTechManager, auth.RoleAdmin} {
			roles = append(roles, option{Value: role, Label: desk.RoleName(role)})
		}
		match := []option{{Value: "email", Label: "The e-mail attribute equals the username"}, {Value: "nameid", Label: "The NameID equals the username"}}
		pg.Sections = []section{
			{ID: "on", Title: "Sign-in with the identity provider", Fields: []field{
				checkboxField(v, "enabled", "Offer “Sign in with …” on the sign-in page", ""),
				selectField(v, "match_by", "Accounts are matched when", match, "Usernames are compared in lower case."),
				checkboxField(v, "jit", "Create an account on first sign-in", "Otherwise only people who already have an account here can sign in."),
				selectField(v, "default_role", "Role of a created account", roles, "When none of the group rules below gives one."),
			}},
			{ID: "idp", Title: "Identity provider", Fields: identity},
			{ID: "mapping", Title: "Attributes and groups", Fields: []field{
				textField(v, "map_email", "E-mail attribute", 200, "Such as mail or urn:oid:0.9.2342.19200300.100.1.3."),
				textField(v, "map_name", "Display name attribute", 200, "Names a created account."),
				textField(v, "map_groups", "Group attribute", 200, "The attribute listing the person's groups by id (not display name), such as memberOf or groups."),
				textareaField(v, "groups", "Group rules", 8000, 6, "One rule per line: group id | role | team names separated by commas. Role or teams may be empty. The first rule with a role that matches gives the role of a created account; every matching rule's teams are joined. Rules apply when an account is created."),
			}},
		}
	}
	v.Data = pg
	return a.render(w, r, status, "sso.html", v)
}

// readProvider reads the settings form into p; field errors go to fe.
func (a *Admin) readProvider(r *http.Request, form url.Values, p *samlsp.Provider, st *desk.Site, fe web.FieldErrors) {
	base := strings.TrimSuffix(strings.TrimSpace(first(form, "base")), "/")
	u, err := url.Parse(base)
	switch {
	case err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil:
		fe.Add("base", "Enter https:// and a host name, such as https://support.example.com, with nothing after it.")
	case st != nil && len(st.Hostnames) > 0 && !slices.Contains(st.Hostnames, strings.ToLower(u.Hostname())):
		fe.Add("base", "Use one of the site's host names: "+strings.Join(st.Hostnames, ", ")+".")
	default:
		p.Base = "https://" + strings.ToLower(u.Host)
	}
	p.Name = strings.TrimSpace(first(form, "name"))
	if len([]rune(p.Name)) > 64 {
		fe.Add("name", "Use at most 64 characters.")
	}
	p.Mapping = map[string]string{}
	for k, vals := range form {
		if target, ok := strings.CutPrefix(k, "map_"); ok && len(vals) > 0 {
			if at := strings.TrimSpace(vals[0]); at != "" {
				if len(at) > 256 {
					fe.Add(k, "Use at most 256 characters.")
				}
				p.Mapping[target] = at
			}
		}
	}
	var raw []byte
	if r.MultipartForm != nil && len(r.MultipartForm.File["metadata_file"]) > 0 {
		fh := r.MultipartForm.File["metadata_file"][0]
		f, err := fh.Open()
		if err == nil {
			raw, err = io.ReadAll(io.LimitReader(f, samlsp.MaxMetadata+1))
			f.Close()
		}
		if err != nil {
			fe.Add("metadata_file", "The file could not be read. Choose it again.")
		}
	} else if mu := strings.TrimSpace(first(form, "metadata_url")); mu != "" {
		if raw, err = a.sso.FetchMetadata(r.Context(), mu); err != nil {
			fe.Add("metadata_url", sentence(err))
		}
	}
	if len(raw) > 0 {
		idp, _, err := samlsp.ParseMetadata(raw, time.Now())
		switch {
		case err != nil:
			field := "metadata_file"
			if first(form, "metadata_url") != "" && (r.MultipartForm == nil || len(r.MultipartForm.File["metadata_file"]) == 0) {
				field = "metadata_url"
			}
			fe.Add(field, sentence(err)+" Choose the file again, or check the address.")
		default:
			if mu := strings.TrimSpace(first(form, "metadata_url")); mu != "" && (r.MultipartForm == nil || len(r.MultipartForm.File["metadata_file"]) == 0) {
				idp.Source = mu
			}
			p.IdP = &idp
		}
	}
	if p.IdP == nil && !fe.Any() && (st == nil && on(form, "enabled")) {
		fe.Add("metadata_file", "Pin the identity provider's metadata before turning sign-in on.")
	}
}

// sentence is err's words as a sentence for a form.
func sentence(err error) string {
	s := strings.TrimPrefix(strings.TrimPrefix(err.Error(), samlsp.ErrMetadata.Error()+": "), desk.ErrLogo.Error()+": ")
	if s == "" {
		return "That did not work."
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// ssoAudit is what the audit log keeps of a provider: never the metadata
// document itself.
type ssoAudit struct {
	Base, Name string
	IdP        string            `json:",omitempty"`
	Certs      []string          `json:",omitempty"`
	Mapping    map[string]string `json:",omitempty"`
	Staff      *samlsp.Staff     `json:",omitempty"`
}

func auditOf(p samlsp.Provider) ssoAudit {
	out := ssoAudit{Base: p.Base, Name: p.Name, Mapping: p.Mapping, Staff: p.Staff}
	if p.IdP != nil {
		out.IdP = p.IdP.EntityID
		for _, c := range p.IdP.Certs {
			out.Certs = append(out.Certs, c.Fingerprint)
		}
	}
	return out
}

func (a *Admin) serveSiteSSOSave(w http.ResponseWriter, r *http.Request, q *req) error {
	st, err := a.siteOf(r)
	if err != nil {
		return err
	}
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	old, err := a.provider(r.Context(), samlsp.SiteKey(st.ID))
	if err != nil {
		return err
	}
	p := old
	fe := web.FieldErrors{}
	a.readProvider(r, form, &p, &st, fe)
	if fe.Any() {
		v := a.area.View(r, q.Who, "Portal login of "+st.Name)
		v.Form, v.Errors = form, fe
		return a.renderSSO(w, r, http.StatusUnprocessableEntity, v, old, &st)
	}
	if err := a.saveProvider(r.Context(), q.Actor, old, p, st.ID, "Portal login of "+st.Name); err != nil {
		return err
	}
	return web.Redirect(w, r, fmt.Sprintf("/login/sites/%d/sso?done=saved", st.ID))
}

func (a *Admin) saveProvider(ctx context.Context, actor desk.Actor, old, p samlsp.Provider, id uint64, name string) error {
	if err := a.sso.SaveProvider(ctx, p); err != nil {
		return err
	}
	return a.desk.RecordSetting(ctx, actor, "sso", id, name, auditOf(old), auditOf(p))
}

func (a *Admin) serveSecuritySave(w http.ResponseWriter, r *http.Request, q *req) error {
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	old, err := a.provider(r.Context(), samlsp.StaffKey)
	if err != nil {
		return err
	}
	p := old
	fe := web.FieldErrors{}
	a.readProvider(r, form, &p, nil, fe)
	staff := &samlsp.Staff{Enabled: on(form, "enabled"), MatchBy: first(form, "match_by"), JIT: on(form, "jit"), DefaultRole: first(form, "default_role")}
	if staff.MatchBy != "email" && staff.MatchBy != "nameid" {
		fe.Add("match_by", "Choose how accounts are matched.")
	}
	if staff.DefaultRole != "" && desk.RoleName(staff.DefaultRole) == staff.DefaultRole {
		fe.Add("default_role", "Choose a role from the list.")
	}
	if staff.Groups, err = a.parseGroups(r.Context(), first(form, "groups")); err != nil {
		fe.Add("groups", err.Error())
	}
	if staff.MatchBy == "email" && p.Mapping["email"] == "" {
		fe.Add("map_email", "Name the e-mail attribute: accounts are matched by it.")
	}
	p.Staff = staff
	if fe.Any() {
		v := a.area.View(r, q.Who, "Security")
		v.Form, v.Errors = form, fe
		return a.renderSSO(w, r, http.StatusUnprocessableEntity, v, old, nil)
	}
	if err := a.saveProvider(r.Context(), q.Actor, old, p, 0, "Technicians' sign-in"); err != nil {
		return err
	}
	return web.Redirect(w, r, "/login/security?done=saved")
}

// formMsg is an error whose text is a sentence for a form field.
type formMsg string

func (m formMsg) Error() string { return string(m) }

// maxGroupRules bounds the group rules.
const maxGroupRules = 100

// parseGroups reads "group id | role | team, team" lines.
func (a *Admin) parseGroups(ctx context.Context, text string) ([]samlsp.GroupRule, error) {
	teams, err := a.desk.Teams(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]uint64{}
	for _, t := range teams {
		byName[strings.ToLower(t.Name)] = t.ID
	}
	var out []samlsp.GroupRule
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if len(out) == maxGroupRules {
			return nil, formMsg(fmt.Sprintf("Use at most %d rules.", maxGroupRules))
		}
		parts := strings.Split(line, "|")
		for len(parts) < 3 {
			parts = append(parts, "")
		}
		g := samlsp.GroupRule{Group: strings.TrimSpace(parts[0]), Role: strings.TrimSpace(parts[1])}
		if g.Group == "" || len(g.Group) > 256 || len(parts) > 3 {
			return nil, formMsg(fmt.Sprintf("Line %d: write group id | role | teams, with the group id first.", i+1))
		}
		if g.Role != "" {
			if role, ok := roleByName(g.Role); ok {
				g.Role = role
			} else {
				return nil, formMsg(fmt.Sprintf("Line %d: %q is not a role; use technician, channel-manager, technician-manager or admin.", i+1, g.Role))
			}
		}
		for _, tn := range strings.Split(parts[2], ",") {
			if tn = strings.TrimSpace(tn); tn == "" {
				continue
			}
			id, ok := byName[strings.ToLower(tn)]
			if !ok {
				return nil, formMsg(fmt.Sprintf("Line %d: there is no team named %q.", i+1, tn))
			}
			g.Teams = append(g.Teams, id)
		}
		out = append(out, g)
	}
	return out, nil
}

func roleByName(s string) (string, bool) {
	for _, role := range []string{auth.RoleTechnician, auth.RoleChannelManager, auth.RoleTechManager, auth.RoleAdmin} {
		if strings.EqualFold(s, role) || strings.EqualFold(s, desk.RoleName(role)) {
			return role, true
		}
	}
	return "", false
}

// groupLines writes rules back as the form's lines.
func groupLines(ctx context.Context, d *desk.Service, rules []samlsp.GroupRule) string {
	names := map[uint64]string{}
	if teams, err := d.Teams(ctx); err == nil {
		for _, t := range teams {
			names[t.ID] = t.Name
		}
	}
	var b strings.Builder
	for _, g := range rules {
		var ts []string
		for _, id := range g.Teams {
			if n, ok := names[id]; ok {
				ts = append(ts, n)
			}
		}
		fmt.Fprintf(&b, "%s | %s | %s\n", g.Group, g.Role, strings.Join(ts, ", "))
	}
	return b.String()
}

// ---- the technicians' sign-in ----

func (a *Admin) staffProvider(r *http.Request) (samlsp.Provider, samlsp.Endpoints, bool) {
	p, err := a.sso.Provider(r.Context(), samlsp.StaffKey)
	if err != nil || !p.Ready() || p.Staff == nil || !p.Staff.Enabled {
		return p, samlsp.Endpoints{}, false
	}
	return p, samlsp.EndpointsAt(p.Base, staffPrefix), true
}

func (a *Admin) serveStaffMetadata(w http.ResponseWriter, r *http.Request) error {
	raw, err := a.sso.ProviderMetadata(r.Context(), samlsp.StaffKey, staffPrefix)
	if err != nil {
		return web.ErrNotFound
	}
	w.Header().Set("Content-Type", samlsp.MetadataType)
	w.Write(raw)
	return nil
}

const staffSAMLCookie = "sb-saml-staff"

func (a *Admin) serveStaffBegin(w http.ResponseWriter, r *http.Request) error {
	p, ep, ok := a.staffProvider(r)
	if !ok {
		return web.Error(http.StatusNotFound, "Signing in with the identity provider is not set up.", "Sign in with your username and password.")
	}
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	if ok, retry := a.ssoTries.Allow(a.area.SourceKey(r)); !ok {
		return web.TooMany(retry)
	}
	next := a.area.Next(first(form, "next"))
	if base, _ := url.Parse(p.Base); base != nil && !strings.EqualFold(base.Host, r.Host) {
		// The answer comes back to Base: start there, so the cookie does too.
		return web.Redirect(w, r, p.Base+"/login?next="+url.QueryEscape(next))
	}
	to, browser, err := a.sso.Begin(r.Context(), p, ep, samlsp.LocalPath(next))
	if err != nil {
		if errors.Is(err, samlsp.ErrBusy) {
			return web.Error(http.StatusServiceUnavailable, "Too many people are signing in right now.", "Wait a minute, then try again.")
		}
		return err
	}
	web.SetCrossSiteCookie(w, staffSAMLCookie, browser, samlsp.RequestTTL)
	http.Redirect(w, r, to.String(), http.StatusSeeOther)
	return nil
}

// staffFailed answers a refused technician sign-in: the page says why and
// offers to start again; the admin's list keeps the reason.
func (a *Admin) staffFailed(w http.ResponseWriter, r *http.Request, key string, err error) error {
	if rerr := a.sso.Record(r.Context(), key, a.area.Source(r), err); rerr != nil {
		return rerr
	}
	v := a.area.View(r, nil, "Sign-in refused")
	v.Data = struct{ Reason string }{samlsp.Reason(err)}
	return a.render(w, r, http.StatusForbidden, "sso-failed.html", v)
}

func (a *Admin) serveStaffACS(w http.ResponseWriter, r *http.Request) error {
	p, ep, ok := a.staffProvider(r)
	if !ok {
		return web.ErrNotFound
	}
	if ok, retry := a.ssoTries.Allow(a.area.SourceKey(r)); !ok {
		return web.TooMany(retry)
	}
	browser := web.Cookie(r, staffSAMLCookie)
	web.SetCrossSiteCookie(w, staffSAMLCookie, "", -1)
	res, err := a.sso.Finish(r.Context(), p, ep, r, browser)
	if err != nil {
		return a.staffFailed(w, r, p.Key, err)
	}
	u, err := a.staffAccount(r.Context(), p, res)
	var ref *samlsp.Refusal
	if err != nil && !errors.As(err, &ref) {
		return fmt.Errorf("single sign-on account: %w", err)
	}
	if err != nil {
		return a.staffFailed(w, r, p.Key, err)
	}
	err = a.area.SignInExternal(w, r, u, p.Name, res.Next)
	if errors.Is(err, account.ErrDisabled) {
		return a.staffFailed(w, r, p.Key, &samlsp.Refusal{Why: errAccountDisabled})
	}
	return err
}

var (
	errNoAccount       = errors.New("no account here matches the identity provider's answer, and accounts are not created on first sign-in")
	errNoRole          = errors.New("none of the person's groups gives a role here")
	errNoMatchValue    = errors.New("the identity provider's answer lacks the value accounts are matched by")
	errBadMatchValue   = errors.New("the value accounts are matched by is not a plain username (letters A–Z, digits and . _ @ -, at most 64)")
	errAccountDisabled = errors.New("the matching account is disabled")
	errLocalAdmin      = errors.New("administrators whose account was made on this box sign in with their password, not through the identity provider")
	errOtherIdP        = errors.New("the matching account was created by another identity provider")
)

// matchValue is what a username may be; anything else is refused rather
// than cleaned, so two different IdP values never meet one account.
var matchValue = regexp.MustCompile(`^[A-Za-z0-9._@-]{1,64}$`)

// staffAccount finds, or creates just in time, the account res signs in.
//   - A local account (made on the box) matches by username, except an
//     administrator's: the break-glass accounts only take passwords. Its
//     second factor is still asked for (SignInExternal).
//   - An account the same IdP created has its role and teams from the
//     group rules at every sign-in; with no role left it is refused.
//   - An account another IdP created is refused.
func (a *Admin) staffAccount(ctx context.Context, p samlsp.Provider, res samlsp.Result) (auth.User, error) {
	st := p.Staff
	match := res.NameID
	if st.MatchBy == "email" {
		match = res.Attr(p.Mapping["email"])
	}
	switch {
	case match == "":
		return auth.User{}, &samlsp.Refusal{Why: errNoMatchValue}
	case !matchValue.MatchString(match):
		return auth.User{}, &samlsp.Refusal{Why: errBadMatchValue}
	}
	match = strings.ToLower(match)
	origin := "saml:" + res.IdP
	sys := desk.SystemActor("Single sign-on (" + firstNonEmpty(p.Name, "identity provider") + ")")
	role, teams := groupsGive(st, res.Attributes[p.Mapping["groups"]])
	u, err := a.auth.UserNamed(ctx, auth.Site, match)
	switch {
	case err == nil && u.Local():
		if u.Role == auth.RoleAdmin {
			return auth.User{}, &samlsp.Refusal{Why: errLocalAdmin}
		}
		return u, nil
	case err == nil && u.Origin != origin:
		return auth.User{}, &samlsp.Refusal{Why: errOtherIdP}
	case err == nil:
		if role == "" {
			return auth.User{}, &samlsp.Refusal{Why: errNoRole}
		}
		if role != u.Role {
			if err := a.auth.SetProfile(ctx, auth.Site, u.ID, u.DisplayName, role); err != nil {
				return auth.User{}, err
			}
			t, err := a.desk.Technician(ctx, u.ID)
			if err == nil {
				t.Perms = nil // the new role's defaults
				if _, err := a.desk.SaveTechnician(ctx, sys, t, role); err != nil {
					return auth.User{}, err
				}
			}
			u.Role = role
		}
		return u, a.joinTeams(ctx, sys, u.ID, teams)
	case !errors.Is(err, auth.ErrNotFound):
		return auth.User{}, err
	case !st.JIT:
		return auth.User{}, &samlsp.Refusal{Why: errNoAccount}
	case role == "":
		return auth.User{}, &samlsp.Refusal{Why: errNoRole}
	}
	name := res.Attr(p.Mapping["name"])
	if name == "" || strings.ContainsRune(name, utf8.RuneError) {
		name = match
	}
	u, err = a.auth.CreateUser(ctx, auth.Site, auth.NewUser{Username: match, DisplayName: clipName(name), Password: unusablePassword(), Role: role, Origin: origin})
	if err != nil {
		var fe *auth.FieldError
		if errors.As(err, &fe) {
			return auth.User{}, &samlsp.Refusal{Why: fmt.Errorf("the account cannot be created: %s", fe.Msg)}
		}
		return auth.User{}, err
	}
	if _, err := a.desk.SaveTechnician(ctx, sys, desk.Technician{UserID: u.ID, PrivateName: u.DisplayName, PublicName: u.DisplayName}, u.Role); err != nil {
		return auth.User{}, err
	}
	return u, a.joinTeams(ctx, sys, u.ID, teams)
}

// groupsGive is the role (first matching rule with one, else the
// default) and the teams (every matching rule's) of groups.
func groupsGive(st *samlsp.Staff, groups []string) (string, []uint64) {
	has := map[string]bool{}
	for _, g := range groups {
		has[g] = true
	}
	role := ""
	var teams []uint64
	for _, g := range st.Groups {
		if !has[g.Group] {
			continue
		}
		if role == "" {
			role = g.Role
		}
		teams = append(teams, g.Teams...)
	}
	if role == "" {
		role = st.DefaultRole
	}
	return role, dedupe(teams)
}

// joinTeams adds user to the teams it is not in yet (a rule never takes
// anyone out of a team: an administrator does).
func (a *Admin) joinTeams(ctx context.Context, sys desk.Actor, user uint64, teams []uint64) error {
	for _, id := range teams {
		t, err := a.desk.Team(ctx, id)
		if err != nil || slices.Contains(t.Members, user) {
			continue // deleted since the rule was written, or already in
		}
		t.Members = append(t.Members, user)
		if _, err := a.desk.SaveTeam(ctx, sys, t); err != nil {
			return err
		}
	}
	return nil
}

func dedupe(ids []uint64) []uint64 {
	slices.Sort(ids)
	return slices.Compact(ids)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func clipName(s string) string { return text.ClipRunes(strings.TrimSpace(s), 64) }

// unusablePassword is the password of an account created by single
// sign-on: random and never shown, so the account signs in only through
// the identity provider until an admin sets one.
func unusablePassword() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// readUpload reads an uploaded file of at most limit bytes.
func readUpload(fh *multipart.FileHeader, limit int64) ([]byte, error) {
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(raw)) > limit {
		return nil, errors.New("too large")
	}
	return raw, err
}
