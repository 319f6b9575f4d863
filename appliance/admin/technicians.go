package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// person is a site user with its desk profile, if it has one.
type person struct {
	ID                   uint64
	Username, Name, Role string
	Disabled             bool
	Profile              *desk.Technician
}

// directory is every site user and technician profile, for names and
// pickers.
type directory struct {
	list []person // by name
	byID map[uint64]person
}

func (a *Admin) directory(ctx context.Context) (directory, error) {
	d := directory{byID: map[uint64]person{}}
	users, err := a.auth.Users(ctx, auth.Site)
	if err != nil {
		return d, err
	}
	techs, err := a.desk.Technicians(ctx)
	if err != nil {
		return d, err
	}
	for _, u := range users {
		name := u.DisplayName
		if name == "" {
			name = u.Username
		}
		d.byID[u.ID] = person{ID: u.ID, Username: u.Username, Name: name, Role: u.Role, Disabled: u.Disabled}
	}
	for _, t := range techs {
		p, ok := d.byID[t.UserID]
		if !ok {
			p = person{ID: t.UserID} // a profile whose account was deleted
		}
		p.Name, p.Profile = t.PrivateName, &t
		d.byID[t.UserID] = p
	}
	for _, p := range d.byID {
		d.list = append(d.list, p)
	}
	sort.Slice(d.list, func(i, j int) bool {
		if x, y := strings.ToLower(d.list[i].Name), strings.ToLower(d.list[j].Name); x != y {
			return x < y
		}
		return d.list[i].ID < d.list[j].ID
	})
	return d, nil
}

func (d directory) name(id uint64) string {
	if p, ok := d.byID[id]; ok {
		return p.Name
	}
	return fmt.Sprintf("technician #%d (deleted)", id)
}

func (d directory) names(ids []uint64) []string {
	var out []string
	for _, id := range ids {
		out = append(out, d.name(id))
	}
	return out
}

// options are the people with a technician profile (and keep, when set,
// says yes) as checkboxes.
func (d directory) options(keep func(person) bool) []option {
	var out []option
	for _, p := range d.list {
		if p.Profile == nil || keep != nil && !keep(p) {
			continue
		}
		o := option{Value: strconv.FormatUint(p.ID, 10), Label: p.Name}
		switch {
		case p.Username == "":
			o.Note = "account deleted"
		case p.Disabled:
			o.Note = "disabled"
		case p.Role != desk.RoleTechnician:
			o.Note = desk.RoleName(p.Role)
		}
		out = append(out, o)
	}
	return out
}

type techniciansPage struct {
	Query string
	Rows  []techRow
	Total int
}

type techRow struct {
	person
	Href, RoleName string
}

func (a *Admin) serveTechnicians(w http.ResponseWriter, r *http.Request, q *req) error {
	dir, err := a.directory(r.Context())
	if err != nil {
		return err
	}
	d := techniciansPage{Query: query(r)}
	for _, p := range dir.list {
		if p.Username == "" {
			continue // no account to sign in with any more
		}
		d.Total++
		row := techRow{person: p, Href: fmt.Sprintf("/login/technicians/%d", p.ID), RoleName: desk.RoleName(p.Role)}
		public := ""
		if p.Profile != nil {
			public = p.Profile.PublicName
		}
		if matches(d.Query, p.Username, p.Name, public, row.RoleName) {
			d.Rows = append(d.Rows, row)
		}
	}
	// Profiles first, in the public list's order; then accounts without one.
	sort.SliceStable(d.Rows, func(i, j int) bool {
		x, y := d.Rows[i].Profile, d.Rows[j].Profile
		if (x == nil) != (y == nil) {
			return x != nil
		}
		return x != nil && x.DisplayNumber < y.DisplayNumber
	})
	v := a.area.View(r, q.Who, "Technicians")
	v.Flash = flash(r, "technician profile")
	v.Data = d
	return a.render(w, r, http.StatusOK, "technicians.html", v)
}

func technicianForm(t desk.Technician, role string) url.Values {
	v := url.Values{
		"private_name":   {t.PrivateName},
		"public_name":    {t.PublicName},
		"display_number": {strconv.Itoa(t.DisplayNumber)},
		"availability":   {t.Availability},
		"role":           {role},
	}
	for p, ok := range t.Perms {
		if ok {
			v.Add("perms", string(p))
		}
	}
	return v
}

// account returns site user id, or a 404.
func (a *Admin) account(ctx context.Context, id uint64) (auth.User, error) {
	return a.auth.User(ctx, auth.Site, id)
}

// technicianOf loads the account of the path and its profile, if it has one.
func (a *Admin) technicianOf(r *http.Request) (id uint64, u auth.User, t desk.Technician, exists bool, err error) {
	if id, err = pathID(r); err != nil {
		return
	}
	if u, err = a.account(r.Context(), id); err != nil {
		return
	}
	t, err = a.desk.Technician(r.Context(), id)
	if errors.Is(err, desk.ErrNotFound) {
		return id, u, t, false, nil
	}
	return id, u, t, err == nil, err
}

// displayName is the name an account goes by: its display name, or else
// its username.
func displayName(u auth.User) string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Username
}

func (a *Admin) serveTechnician(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	id, u, t, exists, err := a.technicianOf(r)
	if err != nil {
		return err
	}
	if !exists {
		// A new profile starts from the account's name and the role's
		// permissions.
		name := displayName(u)
		t = desk.Technician{UserID: id, PrivateName: name, PublicName: name, Availability: desk.Available, Perms: desk.RoleDefaults(u.Role)}
		if techs, err := a.desk.Technicians(ctx); err == nil && len(techs) > 0 {
			t.DisplayNumber = techs[len(techs)-1].DisplayNumber + 1
		}
	}
	v := a.area.View(r, q.Who, "Technician "+t.PrivateName)
	v.Form = technicianForm(t, u.Role)
	return a.renderTechnician(w, r, http.StatusOK, v, u, t, exists)
}

func (a *Admin) serveTechnicianSave(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	id, u, old, exists, err := a.technicianOf(r)
	if err != nil {
		return err
	}
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	fe := web.FieldErrors{}
	t := desk.Technician{
		UserID:        id,
		PrivateName:   first(form, "private_name"),
		PublicName:    first(form, "public_name"),
		DisplayNumber: intOr(form, "display_number", -1, fe, "Enter a number from 0 to 9999."),
		Availability:  first(form, "availability"),
	}
	if err := readPhoto(r, &t, fe); err != nil {
		return err
	}
	if on(form, "remove_photo") && t.Photo == nil {
		t.Photo, t.PhotoType = []byte{}, ""
	}
	role := first(form, "role")
	if !slices.Contains(desk.Roles, role) {
		fe.Add("role", "Choose one of the listed roles.")
	}
	if on(form, "perms_default") {
		t.Perms = desk.RoleDefaults(role)
	} else {
		t.Perms = map[desk.Perm]bool{}
		for _, p := range desk.Perms {
			if slices.Contains(form["perms"], string(p.Perm)) {
				t.Perms[p.Perm] = true
			}
		}
	}
	// Check the profile before the role changes, so a refused form
	// changes nothing.
	check := t
	if err := desk.CheckTechnician(&check); err != nil && !web.AddFields(fe, err) {
		return err
	}
	if !fe.Any() && role != u.Role {
		if err := a.auth.SetProfile(ctx, auth.Site, id, u.DisplayName, role); err != nil && !web.AddFields(fe, err) {
			return err
		}
	}
	if !fe.Any() {
		if _, err := a.desk.SaveTechnician(ctx, q.Actor, t, role); err != nil && !web.AddFields(fe, err) {
			return err
		}
	}
	if !fe.Any() {
		done := "saved"
		if !exists {
			done = "created"
		}
		return web.Redirect(w, r, "/login/technicians?done="+done+"#tech-"+strconv.FormatUint(id, 10))
	}
	if _, ok := fe["photo"]; !ok && len(t.Photo) > 0 {
		fe.Add("photo", "Nothing was saved, so choose the photo again.")
	}
	v := a.area.View(r, q.Who, "Technician "+u.Username)
	v.Form, v.Errors = url.Values(form), fe
	if !exists {
		old = desk.Technician{UserID: id}
	}
	return a.renderTechnician(w, r, http.StatusUnprocessableEntity, v, u, old, exists)
}

// readPhoto reads the uploaded photo, if any, into t. The desk checks its
// type and size; a larger file is not read past the limit.
func readPhoto(r *http.Request, t *desk.Technician, fe web.FieldErrors) error {
	if r.MultipartForm == nil || len(r.MultipartForm.File["photo"]) == 0 {
		return nil
	}
	fh := r.MultipartForm.File["photo"][0]
	if fh.Size == 0 {
		return nil // no file chosen
	}
	if fh.Size > desk.MaxPhoto {
		fe.Add("photo", fmt.Sprintf("Use a photo of at most %d KiB (this one has %d KiB).", desk.MaxPhoto>>10, (fh.Size+1023)>>10))
		return nil
	}
	f, err := fh.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	t.Photo, err = io.ReadAll(io.LimitReader(f, desk.MaxPhoto+1))
	return err
}

// serveTechnicianPhoto sends the photo back with the type detected when it
// was uploaded; the web layer adds X-Content-Type-Options: nosniff.
func (a *Admin) serveTechnicianPhoto(w http.ResponseWriter, r *http.Request, q *req) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	t, err := a.desk.Technician(r.Context(), id)
	if err != nil {
		return err
	}
	if len(t.Photo) == 0 || t.PhotoType == "" {
		return web.ErrNotFound
	}
	h := w.Header()
	h.Set("Content-Type", t.PhotoType)
	h.Set("Content-Length", strconv.Itoa(len(t.Photo)))
	h.Set("Content-Disposition", "inline")
	h.Set("Cache-Control", "private, no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(t.Photo)
	}
	return nil
}

// roleHelp says what each role may do.
var roleHelp = "Technician: works sessions in its channels. Channel manager: configures and supervises the channels it manages. " +
	"Technician manager: creates, configures and deletes channels and supervises every session. Administrator: all of /login."

func (a *Admin) renderTechnician(w http.ResponseWriter, r *http.Request, status int, v web.View, u auth.User, t desk.Technician, exists bool) error {
	name := t.PrivateName
	if name == "" {
		name = u.DisplayName
	}
	heading := "Technician " + u.Username
	if name != "" && name != u.Username {
		heading = fmt.Sprintf("Technician %s (%s)", name, u.Username)
	}
	p := editPage{
		Heading: heading, Back: "/login/technicians", BackLabel: "Technicians",
		Action: fmt.Sprintf("/login/technicians/%d", u.ID), Multipart: true, Submit: "Save profile",
	}
	if !exists {
		p.Intro = "This account has no technician profile yet. Saving creates it, so the person can serve channels and appear to customers."
		p.Submit = "Create profile"
	} else {
		p.Delete = fmt.Sprintf("/login/technicians/%d/delete", u.ID)
		p.DeleteTitle, p.DeleteLabel = "Delete this profile", "Delete profile"
		p.DeleteHint = "The person is removed from every channel and team and from the public technician list. The account itself stays: disable or delete it on the Users page."
		p.Confirm = fmt.Sprintf("Delete the technician profile of %s?", u.Username)
	}
	var roles []option
	for _, role := range desk.Roles {
		roles = append(roles, option{Value: role, Label: desk.RoleName(role)})
	}
	avail := []option{{Value: desk.Available, Label: "Available"}, {Value: desk.Busy, Label: "Busy"}, {Value: desk.Away, Label: "Away"}}
	profile := section{ID: "profile", Title: "Profile", Fields: []field{
		textField(v, "private_name", "Private name", 200, "Shown to colleagues in the console. Up to 64 characters."),
		textField(v, "public_name", "Public name", 200, "Shown to customers on the public site and in chat. Up to 64 characters."),
		numberField(v, "display_number", "Display number", 0, 9999, "Orders the public technician list, lowest first."),
		selectField(v, "availability", "Availability", avail, "Customers see available technicians first."),
	}}
	photo := field{ID: "photo", Name: "photo", Label: "Photo", Type: "file", Accept: "image/png,image/jpeg,image/webp",
		Hint: "Shown to customers. PNG, JPEG or WebP, at most 256 KiB.", Err: v.Err("photo")}
	profile.Fields = append(profile.Fields, photo)
	if len(t.Photo) > 0 {
		profile.Photo = fmt.Sprintf("/login/technicians/%d/photo?v=%d", u.ID, len(t.Photo))
		profile.Fields = append(profile.Fields, checkboxField(v, "remove_photo", "Remove the photo", ""))
	}
	role := v.Value("role")
	defaults := desk.RoleDefaults(role)
	var perms []option
	for _, p := range desk.Perms {
		o := option{Value: string(p.Perm), Label: p.Label}
		if defaults[p.Perm] {
			o.Note = "role default"
		}
		perms = append(perms, o)
	}
	p.Sections = []section{profile,
		{ID: "role", Title: "Role", Hint: roleHelp, Fields: []field{
			selectField(v, "role", "Role", roles, ""),
		}},
		{ID: "perms", Title: "Permissions", Hint: "On top of the role. Marked ones are the defaults of the role " + desk.RoleName(role) + ".", Fields: []field{
			checkboxField(v, "perms_default", "Use the defaults of the role chosen above", "Ticked, the boxes below are ignored: handy after changing the role."),
			checksField(v, "perms", "Granular permissions", perms, "", ""),
		}},
	}
	v.Data = p
	return a.render(w, r, status, "edit.html", v)
}
