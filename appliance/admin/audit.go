package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// auditLimit is how many entries the audit page shows at most.
const auditLimit = 200

// auditKinds are the kinds of objects the desk audits, with their labels.
var auditKinds = []option{
	{Value: "channel", Label: "Channel"},
	{Value: "team", Label: "Team"},
	{Value: "technician", Label: "Technician"},
	{Value: "issue-type", Label: "Issue type"},
	{Value: "site", Label: "Public site"},
	{Value: desk.KindAccount, Label: "Account"},
}

type auditPage struct {
	Filters []field
	Actors  []string
	Rows    []auditRow
	Limited bool
	Limit   int
	Any     bool // a filter is set
}

type auditRow struct {
	desk.Entry
	When, Stamp, Verb, KindName string
	// Changes are the fields that changed (for an update) or every field
	// the object had (for a creation or a deletion).
	Changes []change
}

// Update reports whether the entry has a before and an after.
func (r auditRow) Update() bool { return r.Before != "" && r.After != "" }

// change is one field of an object, before and after an audited change.
type change struct {
	Field, Before, After string
}

func (a *Admin) serveAudit(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	in := r.URL.Query()
	fe := web.FieldErrors{}
	f := desk.AuditFilter{Kind: in.Get("kind"), Actor: strings.TrimSpace(in.Get("actor")), Text: strings.TrimSpace(in.Get("q")), Limit: auditLimit}
	if f.Kind != "" && !slices.ContainsFunc(auditKinds, func(o option) bool { return o.Value == f.Kind }) {
		fe.Add("kind", "Choose one of the listed kinds.")
	}
	f.From = day(in, "from", fe)
	if to := day(in, "to", fe); !to.IsZero() {
		f.To = to.AddDate(0, 0, 1) // the whole day
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		fe.Add("to", "Choose an end date on or after the start date.")
	}
	d := auditPage{Limit: auditLimit, Any: f.Kind != "" || f.Actor != "" || f.Text != "" || in.Get("from") != "" || in.Get("to") != ""}
	status := http.StatusOK
	if fe.Any() {
		status = http.StatusUnprocessableEntity
	} else {
		entries, err := a.desk.Audit(ctx, q.Actor, f)
		if err != nil {
			return err
		}
		dir, err := a.directory(ctx)
		if err != nil {
			return err
		}
		chans, err := a.channelNames(ctx)
		if err != nil {
			return err
		}
		teams, err := a.teamNames(ctx)
		if err != nil {
			return err
		}
		fm := formatter{dir: dir, chans: chans, teams: teams}
		for _, e := range entries {
			d.Rows = append(d.Rows, auditRow{Entry: e, When: e.At.UTC().Format("2006-01-02 15:04:05 UTC"), Stamp: e.At.UTC().Format(time.RFC3339),
				Verb: verb(e.Action), KindName: kindName(e.Kind), Changes: fm.diff(e)})
		}
		d.Limited = len(entries) == auditLimit
	}
	users, err := a.auth.Users(ctx, auth.Site)
	if err != nil {
		return err
	}
	for _, u := range users {
		name := u.DisplayName
		if name == "" {
			name = u.Username
		}
		d.Actors = append(d.Actors, name)
	}
	v := a.area.View(r, q.Who, "Audit log")
	v.Form, v.Errors = url.Values{"kind": {f.Kind}, "actor": {f.Actor}, "q": {f.Text}, "from": {in.Get("from")}, "to": {in.Get("to")}}, fe
	kinds := append([]option{{Value: "", Label: "Everything"}}, auditKinds...)
	actor := textField(v, "actor", "Changed by", 128, "")
	actor.List = "actors"
	d.Filters = []field{
		selectField(v, "kind", "What", kinds, ""),
		actor,
		textField(v, "q", "Containing", 128, ""),
		{ID: "from", Name: "from", Label: "From", Type: "date", Value: v.Value("from"), Err: v.Err("from")},
		{ID: "to", Name: "to", Label: "To", Type: "date", Value: v.Value("to"), Err: v.Err("to")},
	}
	v.Data = d
	return a.render(w, r, status, "audit.html", v)
}

// day parses the date in field name (as a UTC day), adding a message to fe
// when it is not a date.
func day(in url.Values, name string, fe web.FieldErrors) time.Time {
	s := strings.TrimSpace(in.Get(name))
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		fe.Add(name, "Enter a date such as 2026-01-31.")
	}
	return t
}

func verb(action string) string {
	switch action {
	case "create":
		return "Created"
	case "update":
		return "Changed"
	case "delete":
		return "Deleted"
	case "sign-in":
		return "Signed in"
	case "sign-in-failed":
		return "Failed sign-in"
	case "sign-out":
		return "Signed out"
	case "disable":
		return "Disabled"
	case "enable":
		return "Enabled"
	case "end-sessions":
		return "Sessions ended"
	}
	return action
}

func kindName(kind string) string {
	for _, k := range auditKinds {
		if k.Value == kind {
			return k.Label
		}
	}
	return kind
}

// fieldLabels name the fields of audited objects.
var fieldLabels = map[string]string{
	"name": "Name", "description": "Description", "expiry_minutes": "Session expiry (minutes)", "default": "Default channel",
	"teams": "Teams", "technicians": "Technicians", "managers": "Managers", "members": "Members", "leads": "Leads",
	"private_name": "Private name", "public_name": "Public name", "display_number": "Display number",
	"photo_type": "Photo", "availability": "Availability", "perms": "Permissions", "role": "Role",
	"code_name": "Code name", "channel": "Channel", "priority": "Priority",
	"hostnames": "Host names", "tech_list": "Technician list", "session_key": "Session key", "survey": "Issue survey",
	"sos_call": "SOS Call", "survey_mode": "Survey mode", "ask_name": "Asks for a name", "ask_company": "Asks for a company",
	"ask_company_code": "Asks for a company code", "ask_description": "Asks for a description", "custom": "Custom fields",
	"agreement": "Customer agreement",
}

// hiddenFields are left out of diffs: ids that never change.
var hiddenFields = map[string]bool{"id": true, "user_id": true}

// formatter renders audited values for people, naming the ids it knows.
type formatter struct {
	dir   directory
	chans channelNames
	teams teamNames
}

// diff lists the fields of e that changed (every field set, for a creation
// or a deletion), in a stable order with the name first.
func (fm formatter) diff(e desk.Entry) []change {
	before, after := decode(e.Before), decode(e.After)
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	var order []string
	for k := range keys {
		if !hiddenFields[k] {
			order = append(order, k)
		}
	}
	sort.Slice(order, func(i, j int) bool {
		if (order[i] == "name") != (order[j] == "name") {
			return order[i] == "name"
		}
		return order[i] < order[j]
	})
	var out []change
	for _, k := range order {
		b, hasB := before[k]
		aft, hasA := after[k]
		c := change{Field: label(k)}
		if hasB {
			c.Before = fm.value(k, b)
		}
		if hasA {
			c.After = fm.value(k, aft)
		}
		if e.Before != "" && e.After != "" && c.Before == c.After {
			continue
		}
		if c.Before == "" && c.After == "" {
			continue
		}
		out = append(out, c)
	}
	return out
}

func decode(s string) map[string]any {
	if s == "" {
		return nil
	}
	m := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return map[string]any{"(unreadable)": s}
	}
	return m
}

func label(key string) string {
	if l, ok := fieldLabels[key]; ok {
		return l
	}
	return web.Sentence(strings.ReplaceAll(key, "_", " "))
}

// maxShown bounds a value shown in the audit log.
const maxShown = 300

// value formats v, the value of field key.
func (fm formatter) value(key string, v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case bool:
		if v {
			return "yes"
		}
		return "no"
	case json.Number:
		if key == "channel" {
			if id, err := strconv.ParseUint(v.String(), 10, 64); err == nil {
				return fm.chans.name(id)
			}
		}
		return v.String()
	case string:
		if key == "role" {
			return desk.RoleName(v)
		}
		if utf8.RuneCountInString(v) > maxShown {
			return string([]rune(v)[:maxShown]) + "…"
		}
		return v
	case []any:
		var parts []string
		for _, x := range v {
			parts = append(parts, fm.item(key, x))
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		if key == "perms" {
			var on []string
			for _, p := range desk.Perms {
				if b, _ := v[string(p.Perm)].(bool); b {
					on = append(on, p.Label)
				}
			}
			if len(on) == 0 {
				return "none"
			}
			return strings.Join(on, ", ")
		}
		b, _ := json.Marshal(v)
		return string(b)
	}
	return fmt.Sprint(v)
}

// item formats one element of a list field.
func (fm formatter) item(key string, x any) string {
	if n, ok := x.(json.Number); ok {
		id, err := strconv.ParseUint(n.String(), 10, 64)
		if err == nil {
			switch key {
			case "teams":
				return fm.teams.name(id)
			case "technicians", "managers", "members", "leads":
				return fm.dir.name(id)
			}
		}
		return n.String()
	}
	if m, ok := x.(map[string]any); ok && key == "custom" {
		s := fmt.Sprintf("%v (max %v", m["label"], m["max_len"])
		if req, _ := m["required"].(bool); req {
			s += ", required"
		}
		return s + ")"
	}
	return fm.value(key, x)
}
