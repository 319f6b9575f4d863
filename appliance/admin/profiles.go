package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/mobileconfig"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// A site's iOS profiles: upload, name, public or private, delete.

// maxProfileBody bounds the upload form: one profile and its fields.
const maxProfileBody = mobileconfig.MaxSize + 64<<10

func (a *Admin) profileRoutes(rt *web.Router) {
	rt.Handle("GET /login/sites/{id}/ios", a.guard(desk.ActManageSites, a.serveProfiles))
	rt.HandleUpload("POST /login/sites/{id}/ios", maxProfileBody, a.guard(desk.ActManageSites, a.serveProfileAdd))
	rt.Handle("POST /login/sites/{id}/ios/{pid}", a.guard(desk.ActManageSites, a.serveProfileSave))
	rt.Handle("POST /login/sites/{id}/ios/{pid}/delete", a.guard(desk.ActManageSites, a.serveProfileDelete))
}

type profilesPage struct {
	Site     desk.Site
	Profiles []desk.Profile
	// URL is the site's iOS page.
	URL string
}

func (a *Admin) renderProfiles(w http.ResponseWriter, r *http.Request, q *req, status int, st desk.Site, form url.Values, fe web.FieldErrors) error {
	list, err := a.desk.Profiles(r.Context(), st.ID)
	if err != nil {
		return err
	}
	v := a.area.View(r, q.Who, "iOS profiles of "+st.Name)
	v.Form, v.Errors = form, fe
	if fe == nil {
		v.Flash = flash(r, "profile")
	}
	v.Data = profilesPage{Site: st, Profiles: list, URL: siteBase(r, st) + "/ios"}
	return a.render(w, r, status, "profiles.html", v)
}

func (a *Admin) serveProfiles(w http.ResponseWriter, r *http.Request, q *req) error {
	st, err := a.siteOf(r)
	if err != nil {
		return err
	}
	return a.renderProfiles(w, r, q, http.StatusOK, st, nil, nil)
}

func (a *Admin) serveProfileAdd(w http.ResponseWriter, r *http.Request, q *req) error {
	st, err := a.siteOf(r)
	if err != nil {
		return err
	}
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	fe := web.FieldErrors{}
	var file []byte
	if r.MultipartForm == nil || len(r.MultipartForm.File["file"]) == 0 {
		fe.Add("file", "Choose the .mobileconfig file to upload.")
	} else if file, err = readUpload(r.MultipartForm.File["file"][0], mobileconfig.MaxSize); err != nil {
		fe.Add("file", fmt.Sprintf("The file could not be read, or is larger than %d KiB. Choose it again.", mobileconfig.MaxSize>>10))
	}
	if len(fe) == 0 {
		_, err = a.desk.AddProfile(r.Context(), q.Actor, desk.Profile{Site: st.ID, Name: first(form, "name"), Private: on(form, "private")}, file)
		if !web.AddFields(fe, err) && err != nil {
			return err
		}
	}
	if len(fe) > 0 {
		return a.renderProfiles(w, r, q, http.StatusUnprocessableEntity, st, form, fe)
	}
	return web.Redirect(w, r, fmt.Sprintf("/login/sites/%d/ios?done=created", st.ID))
}

// profileOf returns the site and the profile of the path, which must
// belong to it.
func (a *Admin) profileOf(r *http.Request) (desk.Site, desk.Profile, error) {
	st, err := a.siteOf(r)
	if err != nil {
		return st, desk.Profile{}, err
	}
	pid, err := strconv.ParseUint(r.PathValue("pid"), 10, 64)
	if err != nil {
		return st, desk.Profile{}, web.ErrNotFound
	}
	p, err := a.desk.Profile(r.Context(), pid)
	if err != nil || p.Site != st.ID {
		return st, p, web.ErrNotFound
	}
	return st, p, nil
}

func (a *Admin) serveProfileSave(w http.ResponseWriter, r *http.Request, q *req) error {
	st, p, err := a.profileOf(r)
	if err != nil {
		return err
	}
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	_, err = a.desk.SetProfile(r.Context(), q.Actor, p.ID, first(form, "name"), on(form, "private"))
	if fe := (web.FieldErrors{}); web.AddFields(fe, err) {
		return a.renderProfiles(w, r, q, http.StatusUnprocessableEntity, st, nil, web.FieldErrors{fmt.Sprintf("name_%d", p.ID): fe["name"]})
	} else if err != nil {
		return err
	}
	return web.Redirect(w, r, fmt.Sprintf("/login/sites/%d/ios?done=saved", st.ID))
}

func (a *Admin) serveProfileDelete(w http.ResponseWriter, r *http.Request, q *req) error {
	st, p, err := a.profileOf(r)
	if err != nil {
		return err
	}
	if err := a.desk.DeleteProfile(r.Context(), q.Actor, p.ID); err != nil {
		return err
	}
	return web.Redirect(w, r, fmt.Sprintf("/login/sites/%d/ios?done=deleted", st.ID))
}
