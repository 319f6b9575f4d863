package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

type sitesPage struct {
	Query string
	Rows  []siteRow
	Total int
}

type siteRow struct {
	desk.Site
	Href    string
	Methods []string
}

// startMethods names the start methods a site has on.
func startMethods(st desk.Site) []string {
	var out []string
	for _, m := range []struct {
		on   bool
		name string
	}{{st.TechList, "Technician list"}, {st.SessionKey, "Session key"}, {st.Survey, "Issue survey"}, {st.SOSCall, "SOS Call"}} {
		if m.on {
			out = append(out, m.name)
		}
	}
	return out
}

func (a *Admin) serveSites(w http.ResponseWriter, r *http.Request, q *req) error {
	sites, err := a.desk.Sites(r.Context())
	if err != nil {
		return err
	}
	d := sitesPage{Query: query(r), Total: len(sites)}
	for _, st := range sites {
		row := siteRow{Site: st, Href: fmt.Sprintf("/login/sites/%d", st.ID), Methods: startMethods(st)}
		if matches(d.Query, st.Name, strings.Join(st.Hostnames, " ")) {
			d.Rows = append(d.Rows, row)
		}
	}
	v := a.area.View(r, q.Who, "Public sites")
	v.Flash = flash(r, "public site")
	v.Data = d
	return a.render(w, r, http.StatusOK, "sites.html", v)
}

func siteForm(st desk.Site) url.Values {
	v := url.Values{
		"name":             {st.Name},
		"hostnames":        {strings.Join(st.Hostnames, "\n")},
		"tech_list":        boolValue(st.TechList),
		"session_key":      boolValue(st.SessionKey),
		"survey":           boolValue(st.Survey),
		"sos_call":         boolValue(st.SOSCall),
		"survey_mode":      {st.SurveyMode},
		"ask_name":         boolValue(st.AskName),
		"ask_company":      boolValue(st.AskCompany),
		"ask_company_code": boolValue(st.AskCompanyCode),
		"ask_description":  boolValue(st.AskDescription),
		"agreement":        {st.Agreement},
		"portal_login":     {st.PortalLogin},
		"display_name":     {st.Branding.DisplayName},
		"accent":           {st.Branding.Accent},
		"portal_key":       boolValue(st.PortalKey),
		"custom_rows":      {strconv.Itoa(len(st.Custom))},
	}
	hoursForm(v, st.Hours)
	languagesForm(v, st)
	for i, f := range st.Custom {
		n := strconv.Itoa(i)
		v.Set("custom_label_"+n, f.Label)
		v.Set("custom_max_"+n, strconv.Itoa(f.MaxLen))
		if f.Required {
			v.Set("custom_required_"+n, "1")
		}
	}
	return v
}

func (a *Admin) serveSiteNew(w http.ResponseWriter, r *http.Request, q *req) error {
	v := a.area.View(r, q.Who, "New public site")
	v.Form = siteForm(desk.Site{TechList: true, SessionKey: true, Survey: true, SurveyMode: desk.SurveyIssue,
		AskName: true, AskDescription: true})
	return a.renderSite(w, r, http.StatusOK, v, desk.Site{})
}

func (a *Admin) serveSite(w http.ResponseWriter, r *http.Request, q *req) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	st, err := a.desk.Site(r.Context(), id)
	if err != nil {
		return err
	}
	v := a.area.View(r, q.Who, st.Name)
	v.Form = siteForm(st)
	return a.renderSite(w, r, http.StatusOK, v, st)
}

// maxCustomRows bounds the rows of custom fields a form may send.
const maxCustomRows = desk.MaxCustomFields + 5

// serveSiteSave creates (POST /login/sites) or changes a public site.
func (a *Admin) serveSiteSave(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	var old desk.Site
	if r.PathValue("id") != "" {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if old, err = a.desk.Site(ctx, id); err != nil {
			return err
		}
	}
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	fe := web.FieldErrors{}
	st := desk.Site{
		ID:   old.ID,
		Name: first(form, "name"),
		Hostnames: strings.FieldsFunc(first(form, "hostnames"), func(c rune) bool {
			return c == ',' || unicode.IsSpace(c)
		}),
		TechList:       on(form, "tech_list"),
		SessionKey:     on(form, "session_key"),
		Survey:         on(form, "survey"),
		SOSCall:        on(form, "sos_call"),
		SurveyMode:     first(form, "survey_mode"),
		AskName:        on(form, "ask_name"),
		AskCompany:     on(form, "ask_company"),
		AskCompanyCode: on(form, "ask_company_code"),
		AskDescription: on(form, "ask_description"),
		Agreement:      first(form, "agreement"),
		PortalLogin:    first(form, "portal_login"),
		PortalKey:      on(form, "portal_key"),
	}
	st.Hours = readHours(form, fe)
	readTexts(form, &st)
	st.Branding = desk.Branding{DisplayName: first(form, "display_name"), Accent: first(form, "accent")}
	// The logo is checked before anything is saved.
	var logo []byte
	if r.MultipartForm != nil && len(r.MultipartForm.File["logo"]) > 0 {
		if raw, err := readUpload(r.MultipartForm.File["logo"][0], desk.MaxLogoBytes); err != nil {
			fe.Add("logo", "The file could not be read, or is larger than 512 KiB. Choose it again.")
		} else if _, err := desk.CheckLogo(raw); err != nil {
			fe.Add("logo", sentence(err)+" Choose another file.")
		} else {
			logo = raw
		}
	}
	// again shows the form with what was typed and what is wrong.
	again := func() error {
		title := "New public site"
		if old.ID != 0 {
			title = old.Name
		}
		v := a.area.View(r, q.Who, title)
		v.Form, v.Errors = url.Values(form), fe
		return a.renderSite(w, r, http.StatusUnprocessableEntity, v, old)
	}
	if fe.Any() {
		return again() // hours the form cannot read, or a refused logo: nothing is saved
	}
	if st.SurveyMode == "" {
		fe.Add("survey_mode", "Choose what customers pick in the survey.")
		st.SurveyMode = "none" // refused by the desk too
	}
	for _, row := range customRows(form) {
		if row.blank() {
			continue
		}
		f := desk.CustomField{Label: row.Label, Required: row.Required}
		if row.Max == "" {
			f.MaxLen = 256
		} else if f.MaxLen, err = strconv.Atoi(strings.TrimSpace(row.Max)); err != nil {
			fe.Add("custom", fmt.Sprintf("Custom field %d: enter its maximum length as a number from 1 to %d.", row.Human, desk.MaxCustomFieldLen))
			f.MaxLen = 0 // refused by the desk too
		}
		st.Custom = append(st.Custom, f)
	}
	saved, err := a.desk.SaveSite(ctx, q.Actor, st)
	if err == nil && (logo != nil || on(form, "remove_logo")) {
		_, err = a.desk.SetSiteLogo(ctx, q.Actor, saved.ID, logo)
	}
	if err == nil && !fe.Any() {
		done := "saved"
		if old.ID == 0 {
			done = "created"
		}
		return web.Redirect(w, r, "/login/sites?done="+done+"#site-"+strconv.FormatUint(saved.ID, 10))
	}
	if err != nil && !web.AddFields(fe, err) {
		return err
	}
	return again()
}

// customTable is the custom survey fields part of the site form: the rows
// filled in, then blank rows to add more (no script needed).
type customTable struct {
	Rows []customRow
	Err  string
	Max  int
}

type customRow struct {
	N, Human   int
	Label, Max string
	Required   bool
	Bad        bool
}

func (c customRow) blank() bool {
	return strings.TrimSpace(c.Label) == "" && strings.TrimSpace(c.Max) == "" && !c.Required
}

// customRows reads the custom field rows of a site form.
func customRows(form map[string][]string) []customRow {
	n, _ := strconv.Atoi(first(form, "custom_rows"))
	n = min(max(n, 0), maxCustomRows)
	var rows []customRow
	for i := range n {
		k := strconv.Itoa(i)
		rows = append(rows, customRow{Human: i + 1, Label: first(form, "custom_label_"+k),
			Max: first(form, "custom_max_"+k), Required: on(form, "custom_required_"+k)})
	}
	return rows
}

// newCustomTable lays out the rows of v.Form again, filled ones first, with
// three blank rows to add fields.
func newCustomTable(v web.View) *customTable {
	t := &customTable{Err: v.Err("custom"), Max: desk.MaxCustomFields}
	for _, row := range customRows(v.Form) {
		if row.blank() {
			continue
		}
		row.Bad = t.Err != "" && strings.TrimSpace(row.Label) == ""
		t.Rows = append(t.Rows, row)
	}
	for blank := 0; blank < 3 && len(t.Rows) < desk.MaxCustomFields; blank++ {
		t.Rows = append(t.Rows, customRow{})
	}
	for i := range t.Rows {
		t.Rows[i].N, t.Rows[i].Human = i, i+1
	}
	return t
}

func (a *Admin) renderSite(w http.ResponseWriter, r *http.Request, status int, v web.View, st desk.Site) error {
	p := editPage{
		Heading: "New public site", Back: "/login/sites", BackLabel: "Public sites",
		Intro:  "A public site is the page customers open to ask for help, on one or more host names of this appliance.",
		Action: "/login/sites", Submit: "Create site",
	}
	if st.ID != 0 {
		p.Heading, p.Intro = "Public site "+st.Name, ""
		p.Action, p.Submit = fmt.Sprintf("/login/sites/%d", st.ID), "Save changes"
		p.Delete = fmt.Sprintf("/login/sites/%d/delete", st.ID)
		p.DeleteTitle, p.DeleteLabel = "Delete this site", "Delete site"
		p.DeleteHint = "Its host names stop showing a support page and can be given to another site."
		p.Confirm = fmt.Sprintf("Delete the public site %q for good?", st.Name)
	}
	modes := []option{{Value: desk.SurveyIssue, Label: "An issue type (the session goes to its channel)"},
		{Value: desk.SurveyTechnician, Label: "A technician (the session goes to their personal queue)"}}
	p.Sections = []section{
		{ID: "site", Title: "Site", Fields: []field{
			textField(v, "name", "Name", 200, "For administrators; up to 64 characters."),
			textareaField(v, "hostnames", "Host names", 4000, 3, "One per line, such as support.example.com. A host name belongs to one site only."),
		}},
		{ID: "start", Title: "How customers start a session", Fields: []field{
			checkboxField(v, "tech_list", "Technician list", "Customers click an available technician."),
			checkboxField(v, "session_key", "Session key", "Customers type the 9-digit key a technician gave them."),
			checkboxField(v, "survey", "Issue survey", "Customers describe their problem and wait in a queue."),
			checkboxField(v, "sos_call", "SOS Call", "Customers start from an SOS Call link."),
		}},
		{ID: "survey", Title: "Issue survey", Fields: []field{
			selectField(v, "survey_mode", "Customers choose", modes, ""),
			checkboxField(v, "ask_name", "Ask for a name", ""),
			checkboxField(v, "ask_company", "Ask for a company", ""),
			checkboxField(v, "ask_company_code", "Ask for a company code (optional for customers)", ""),
			checkboxField(v, "ask_description", "Ask for a description of the problem", ""),
		}, Custom: newCustomTable(v)},
		{ID: "agreement", Title: "Customer agreement", Fields: []field{
			textareaField(v, "agreement", "Agreement text", desk.MaxAgreement, 6, "Shown to customers before a session starts; they must accept it. Leave empty for none."),
		}},
	}
	p.Multipart = true
	brand := section{ID: "branding", Title: "Look", Hint: "How the site looks to customers, on every page including errors and the closed page.", Fields: []field{
		textField(v, "display_name", "Display name", 64, "The name in the header of the site's pages; its name above when empty."),
		{ID: "accent", Name: "accent", Label: "Accent colour", Type: "text", Value: v.Value("accent"), Err: v.Err("accent"), Hint: "# and six hexadecimal digits, such as #1f6feb; the default blue when empty.", MaxLen: 7},
		{ID: "logo", Name: "logo", Label: "Logo", Type: "file", Accept: "image/png,image/jpeg,image/webp", Err: v.Err("logo"), Hint: "PNG, JPEG or WebP, at most 512 KiB; it is re-encoded at most 480×160 pixels. SVG is refused."},
	}}
	if st.Branding.Logo > 0 {
		brand.Fields = append(brand.Fields, checkboxField(v, "remove_logo", "Remove the logo", ""))
	}
	p.Sections = append(p.Sections, brand, hoursSection(v), languagesSection(v))
	if a.sso != nil {
		portal := []option{{Value: desk.PortalOff, Label: "Off"},
			{Value: desk.PortalOptional, Label: "Optional: customers may sign in to have their details filled in"},
			{Value: desk.PortalRequired, Label: "Required: every start method first asks customers to sign in"}}
		hint := "Customers sign in with your identity provider (SAML). Set the provider up on the site's portal login page once the site is created."
		if st.ID != 0 {
			hint = "Customers sign in with your identity provider (SAML). The provider, the attributes and the refused sign-ins are on the portal login page linked below."
		}
		p.Sections = append(p.Sections, section{ID: "portal", Title: "Portal login", Hint: hint, Fields: []field{
			selectField(v, "portal_login", "Portal login", portal, ""),
			checkboxField(v, "portal_key", "Also before a session key", "Off: customers with a key from a technician may start without signing in."),
		}})
		if st.ID != 0 {
			p.Related = &related{Title: "More for this site", Links: []link{{Href: fmt.Sprintf("/login/sites/%d/sso", st.ID), Label: "Portal login: identity provider and attributes"}}}
		}
	}
	if st.ID != 0 {
		if p.Related == nil {
			p.Related = &related{Title: "More for this site"}
		}
		p.Related.Links = append(p.Related.Links, link{Href: fmt.Sprintf("/login/sites/%d/ios", st.ID), Label: "iOS profiles"})
	}
	v.Data = p
	return a.render(w, r, status, "edit.html", v)
}
