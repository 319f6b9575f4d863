package account

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/web"
)

type usersData struct {
	Prefix string
	Users  []userRow
	Roles  []roleOption
	Me     uint64
	Query  string
}

type userRow struct {
	auth.User
	RoleName, Profile string
}

type roleOption struct{ Value, Label string }

func (a *Area) roles() []string {
	if len(a.cfg.Roles) == 0 {
		return []string{auth.RoleAdmin}
	}
	return a.cfg.Roles
}

func (a *Area) roleName(role string) string {
	if a.cfg.RoleName != nil {
		return a.cfg.RoleName(role)
	}
	return role
}

func (a *Area) usersView(r *http.Request, who *Who) (web.View, error) {
	v := a.View(r, who, "Users")
	users, err := a.auth.Users(r.Context(), a.cfg.Realm)
	if err != nil {
		return v, err
	}
	q := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("q")))
	if q != "" {
		kept := users[:0]
		for _, u := range users {
			if strings.Contains(strings.ToLower(u.Username+" "+u.DisplayName), q) {
				kept = append(kept, u)
			}
		}
		users = kept
	}
	d := usersData{Prefix: a.cfg.Prefix, Me: who.User.ID, Query: q}
	for _, u := range users {
		row := userRow{User: u, RoleName: a.roleName(u.Role)}
		if a.cfg.Profile != nil {
			row.Profile = a.cfg.Profile(u.ID)
		}
		d.Users = append(d.Users, row)
	}
	for _, r := range a.roles() {
		d.Roles = append(d.Roles, roleOption{r, a.roleName(r)})
	}
	v.Data = d
	return v, nil
}

func (a *Area) serveUsers(w http.ResponseWriter, r *http.Request, who *Who) error {
	v, err := a.usersView(r, who)
	if err != nil {
		return err
	}
	v.Flash = flash(r.URL.Query().Get("done"))
	return a.Render(w, r, http.StatusOK, "users.html", v)
}

func (a *Area) serveUserCreate(w http.ResponseWriter, r *http.Request, who *Who) error {
	form, err := web.Form(r)
	if err != nil {
		return err
	}
	nu := auth.NewUser{
		Username:    strings.TrimSpace(first(form, "username")),
		DisplayName: strings.TrimSpace(first(form, "display_name")),
		Password:    first(form, "password"),
		Role:        first(form, "role"),
	}
	fe := web.FieldErrors{}
	if !validRole(nu.Role, a.roles()) {
		fe.Add("role", "Pick one of the listed roles.")
	}
	if !fe.Any() {
		u, err := a.auth.CreateUser(r.Context(), a.cfg.Realm, nu)
		if err == nil {
			a.log.Info("user created", "realm", a.cfg.Realm, "by", who.User.Username, "user", u.Username, "role", u.Role)
			for _, fn := range a.onCreate {
				if err := fn(r, who, u); err != nil {
					return err
				}
			}
			return web.Redirect(w, r, a.path("/users")+"?done=created")
		}
		if !web.AddFields(fe, err) {
			return err
		}
	}
	v, err := a.usersView(r, who)
	if err != nil {
		return err
	}
	v.Errors = fe
	v.Form = url.Values{"username": {nu.Username}, "display_name": {nu.DisplayName}, "role": {nu.Role}}
	return a.Render(w, r, http.StatusUnprocessableEntity, "users.html", v)
}

func validRole(role string, roles []string) bool {
	for _, r := range roles {
		if r == role {
			return true
		}
	}
	return false
}

func (a *Area) serveUserAction(w http.ResponseWriter, r *http.Request, who *Who) error {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		return web.ErrNotFound
	}
	ctx := r.Context()
	target, err := a.auth.User(ctx, a.cfg.Realm, id)
	if errors.Is(err, auth.ErrNotFound) {
		return web.ErrNotFound
	} else if err != nil {
		return err
	}
	var done string
	switch r.PathValue("action") {
	case "disable":
		if id == who.User.ID {
			return web.Error(http.StatusConflict, "You cannot disable your own account.", "Ask another administrator to do it.")
		}
		err, done = a.auth.SetDisabled(ctx, a.cfg.Realm, id, true), "disabled"
	case "enable":
		err, done = a.auth.SetDisabled(ctx, a.cfg.Realm, id, false), "enabled"
	case "sessions":
		_, err = a.auth.EndUserSessions(ctx, a.cfg.Realm, id)
		done = "ended"
	case "delete":
		if id == who.User.ID {
			return web.Error(http.StatusConflict, "You cannot delete your own account.", "Ask another administrator to do it.")
		}
		err, done = a.auth.DeleteUser(ctx, a.cfg.Realm, id), "deleted"
	default:
		return web.ErrNotFound
	}
	if err != nil {
		var f *auth.FieldError
		switch {
		case errors.Is(err, auth.ErrNotFound):
			return web.ErrNotFound
		case errors.As(err, &f):
			return web.Error(http.StatusConflict, f.Msg, "Go back to the user list.")
		}
		return err
	}
	hooks := map[string][]func(*http.Request, *Who, uint64) error{"deleted": a.onDelete, "disabled": a.onDisable}[done]
	for _, fn := range hooks {
		if err := fn(r, who, id); err != nil {
			return err
		}
	}
	action := map[string]EventAction{"disabled": EventDisabled, "enabled": EventEnabled, "ended": EventSessionsEnded, "deleted": EventDeleted}[done]
	if err := a.event(r, Event{Action: action, By: who, User: target, Source: a.source(r)}); err != nil {
		return err
	}
	a.log.Info("user changed", "realm", a.cfg.Realm, "by", who.User.Username, "user_id", id, "action", done)
	return web.Redirect(w, r, a.path("/users")+"?done="+done)
}
