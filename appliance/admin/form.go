package admin

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/appliance/web"
)

// field is one form control with what the person typed and the message
// about it, ready for the "field" and "checks" templates of _form.html.
// Pages build them after they know the view's Form and Errors, so a form
// shown again after an error keeps every value.
type field struct {
	ID, Name, Label string
	// Type is an input type (text, number, date, search, file, checkbox)
	// or "textarea", "select" or "checks" (a list of checkboxes).
	Type      string
	Value     string
	Hint, Err string
	Min, Max  int // bounds of a number, when Max > 0
	MaxLen    int
	Rows      int
	Required  bool
	Checked   bool // a single checkbox
	Options   []option
	Empty     string // what a checks field says when it has no options
	Accept    string // file types
	List      string // id of a datalist of suggestions
	Readonly  bool
}

// option is one choice of a select or a checks field.
type option struct {
	Value, Label, Note string
	Checked            bool
}

// Describedby lists the ids of the hint and the error, for aria-describedby.
func (f field) Describedby() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Err != "" {
		ids = append(ids, f.ID+"-err")
	}
	return strings.Join(ids, " ")
}

func textField(v web.View, name, label string, maxLen int, hint string) field {
	return field{ID: name, Name: name, Label: label, Type: "text", Value: v.Value(name), Err: v.Err(name), Hint: hint, MaxLen: maxLen}
}

func numberField(v web.View, name, label string, lo, hi int, hint string) field {
	return field{ID: name, Name: name, Label: label, Type: "number", Value: v.Value(name), Err: v.Err(name), Hint: hint, Min: lo, Max: hi}
}

func textareaField(v web.View, name, label string, maxLen, rows int, hint string) field {
	return field{ID: name, Name: name, Label: label, Type: "textarea", Value: v.Value(name), Err: v.Err(name), Hint: hint, MaxLen: maxLen, Rows: rows}
}

func checkboxField(v web.View, name, label, hint string) field {
	return field{ID: name, Name: name, Label: label, Type: "checkbox", Checked: v.Value(name) != "", Err: v.Err(name), Hint: hint}
}

func selectField(v web.View, name, label string, opts []option, hint string) field {
	cur := v.Value(name)
	for i := range opts {
		opts[i].Checked = opts[i].Value == cur
	}
	return field{ID: name, Name: name, Label: label, Type: "select", Options: opts, Err: v.Err(name), Hint: hint}
}

func checksField(v web.View, name, label string, opts []option, hint, empty string) field {
	for i := range opts {
		opts[i].Checked = slices.Contains(v.Form[name], opts[i].Value)
	}
	return field{ID: name, Name: name, Label: label, Type: "checks", Options: opts, Err: v.Err(name), Hint: hint, Empty: empty}
}

// first is the first value of name in form.
func first(form map[string][]string, name string) string {
	if vs := form[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// on reports whether the checkbox name was ticked.
func on(form map[string][]string, name string) bool { return first(form, name) != "" }

// ids parses the ids ticked in the checkboxes name; values that are not
// ids (a tampered form) are dropped.
func ids(form map[string][]string, name string) []uint64 {
	var out []uint64
	for _, s := range form[name] {
		if id, err := strconv.ParseUint(s, 10, 64); err == nil && id != 0 {
			out = append(out, id)
		}
	}
	return out
}

// intOr parses the number in field name, or adds msg to fe and returns bad
// (a value the desk refuses too, so every other field is still checked in
// the same round).
func intOr(form map[string][]string, name string, bad int, fe web.FieldErrors, msg string) int {
	n, err := strconv.Atoi(strings.TrimSpace(first(form, name)))
	if err != nil {
		fe.Add(name, msg)
		return bad
	}
	return n
}

// idStrings formats ids as form values.
func idStrings(ids []uint64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatUint(id, 10)
	}
	return out
}

func boolValue(b bool) []string {
	if b {
		return []string{"1"}
	}
	return nil
}

// flash is the confirmation a list page shows after a change of what.
func flash(r *http.Request, what string) string {
	switch r.URL.Query().Get("done") {
	case "created":
		return "The " + what + " was created."
	case "saved":
		return "Your changes to the " + what + " were saved."
	case "deleted":
		return "The " + what + " was deleted."
	}
	return ""
}

// matches reports whether the search q (lower-cased) is found in any of s.
func matches(q string, s ...string) bool {
	if q == "" {
		return true
	}
	return strings.Contains(strings.ToLower(strings.Join(s, " ")), q)
}

// query is the trimmed, lower-cased search of a list page.
func query(r *http.Request) string {
	q := []rune(strings.TrimSpace(r.URL.Query().Get("q")))
	if len(q) > 64 {
		q = q[:64]
	}
	return strings.ToLower(string(q))
}

// editPage is the data of edit.html, the create-and-edit page every kind of
// desk object shares: sections of fields, a save button, and a separate
// delete form with a confirmation.
type editPage struct {
	Heading, Intro  string
	Back, BackLabel string
	Action          string
	Multipart       bool
	Sections        []section
	Submit          string
	// Delete is the action of the delete form; empty when the person may
	// not delete (or the object is new).
	Delete, DeleteTitle, DeleteHint, Confirm, DeleteLabel string
	// DeleteErr says why a delete was refused and what to do.
	DeleteErr string
	Related   *related
}

// section is a titled group of fields of an edit page.
type section struct {
	ID, Title, Hint string
	Fields          []field
	// Photo, if set, is shown above the fields.
	Photo, PhotoAlt string
	// Custom, if set, is the custom survey fields table.
	Custom *customTable
}

// related lists objects linked to the one edited.
type related struct {
	Title, Empty string
	Links        []link
}

type link struct{ Label, Href, Note string }
