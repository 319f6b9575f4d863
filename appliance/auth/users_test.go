package auth

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestCreateUserValidation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		name  string
		realm Realm
		nu    NewUser
		field string // "" for success
	}{
		{"ok", Site, NewUser{Username: "a.b_c@d-e", DisplayName: "Ann Bee", Password: goodPassword, Role: RoleTechnician}, ""},
		{"box role defaults to admin", Box, NewUser{Username: "boxer", Password: goodPassword}, ""},
		{"64 chars", Site, NewUser{Username: strings.Repeat("x", 64), Password: goodPassword, Role: RoleAdmin}, ""},
		{"empty username", Site, NewUser{Password: goodPassword, Role: RoleAdmin}, "username"},
		{"65 chars", Site, NewUser{Username: strings.Repeat("x", 65), Password: goodPassword, Role: RoleAdmin}, "username"},
		{"space", Site, NewUser{Username: "a b", Password: goodPassword, Role: RoleAdmin}, "username"},
		{"slash", Site, NewUser{Username: "../etc", Password: goodPassword, Role: RoleAdmin}, "username"},
		{"non-ascii", Site, NewUser{Username: "jürgen", Password: goodPassword, Role: RoleAdmin}, "username"},
		{"nul", Site, NewUser{Username: "a\x00", Password: goodPassword, Role: RoleAdmin}, "username"},
		{"short password", Site, NewUser{Username: "p", Password: "short", Role: RoleAdmin}, "password"},
		{"no role", Site, NewUser{Username: "r", Password: goodPassword}, "role"},
		{"unknown role", Site, NewUser{Username: "r", Password: goodPassword, Role: "root"}, "role"},
		{"technician in box", Box, NewUser{Username: "r", Password: goodPassword, Role: RoleTechnician}, "role"},
		{"display name control", Site, NewUser{Username: "d", DisplayName: "a\nb", Password: goodPassword, Role: RoleAdmin}, "display_name"},
		{"display name long", Site, NewUser{Username: "d", DisplayName: strings.Repeat("é", 65), Password: goodPassword, Role: RoleAdmin}, "display_name"},
		{"display name not utf-8", Site, NewUser{Username: "d", DisplayName: "\xff", Password: goodPassword, Role: RoleAdmin}, "display_name"},
		{"unknown realm", Realm("x"), NewUser{Username: "d", Password: goodPassword, Role: RoleAdmin}, "realm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := f.svc.CreateUser(ctx, tt.realm, tt.nu)
			if tt.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				got, err := f.svc.User(ctx, tt.realm, u.ID)
				if err != nil || got != u || u.PasswordHash != "" || u.Realm != tt.realm {
					t.Fatalf("stored %+v, returned %+v, %v", got, u, err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want a FieldError on %s", err, tt.field)
			}
		})
	}
}

func TestCreateUserDuplicate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.mustCreate(t, Site, "Alice", RoleAdmin)
	_, err := f.svc.CreateUser(ctx, Site, NewUser{Username: "ALICE", Password: goodPassword, Role: RoleTechnician})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
}

func TestUsersSortedAndFound(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, n := range []string{"mike", "Zed", "alpha", "bravo"} {
		f.mustCreate(t, Site, n, RoleTechnician)
	}
	users, err := f.svc.Users(ctx, Site)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range users {
		names = append(names, u.Username)
		if u.PasswordHash != "" {
			t.Fatal("Users hands out password hashes")
		}
	}
	if want := []string{"alpha", "bravo", "mike", "zed"}; !slices.Equal(names, want) {
		t.Fatalf("users %v, want %v", names, want)
	}
	if users[0].ID != 3 {
		t.Fatalf("ids are not the bucket sequence: %+v", users[0])
	}
	if _, err := f.svc.User(ctx, Site, 99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing user: %v", err)
	}
	if err := f.svc.SetDisabled(ctx, Site, 99, true); !errors.Is(err, ErrNotFound) {
		t.Fatalf("disable missing user: %v", err)
	}
	if err := f.svc.DeleteUser(ctx, Site, 99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete missing user: %v", err)
	}
	if err := f.svc.SetPassword(ctx, Site, 99, goodPassword); !errors.Is(err, ErrNotFound) {
		t.Fatalf("password of missing user: %v", err)
	}
}

func TestLastAdminProtected(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first := f.mustCreate(t, Site, "first", RoleAdmin)
	tech := f.mustCreate(t, Site, "tech", RoleTechnician)

	var fe *FieldError
	if err := f.svc.DeleteUser(ctx, Site, first.ID); !errors.As(err, &fe) {
		t.Fatalf("deleting the last admin: %v", err)
	}
	if err := f.svc.SetDisabled(ctx, Site, first.ID, true); !errors.As(err, &fe) {
		t.Fatalf("disabling the last admin: %v", err)
	}
	// A disabled admin does not count.
	second := f.mustCreate(t, Site, "second", RoleAdmin)
	if err := f.svc.SetDisabled(ctx, Site, second.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteUser(ctx, Site, first.ID); !errors.As(err, &fe) {
		t.Fatalf("deleting the last enabled admin: %v", err)
	}
	if err := f.svc.SetDisabled(ctx, Site, second.ID, false); err != nil {
		t.Fatal(err)
	}
	raw, _, err := f.svc.NewSession(ctx, Site, first.ID, false, "::1", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteUser(ctx, Site, first.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Lookup(ctx, Site, raw); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("session of a deleted user: %v", err)
	}
	if _, err := f.svc.Authenticate(ctx, Site, "first", goodPassword, "::1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("deleted user signed in: %v", err)
	}
	// The name is free again.
	f.mustCreate(t, Site, "first", RoleTechnician)
	if err := f.svc.DeleteUser(ctx, Site, tech.ID); err != nil {
		t.Fatal(err)
	}
	if ok, _ := f.svc.HasAdmin(ctx, Site); !ok {
		t.Fatal("no admin left")
	}
}

func TestSetDisabledEndsSessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.mustCreate(t, Site, "admin", RoleAdmin)
	tech := f.mustCreate(t, Site, "tech", RoleTechnician)
	raw, _, err := f.svc.NewSession(ctx, Site, tech.ID, false, "::1", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetDisabled(ctx, Site, tech.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Lookup(ctx, Site, raw); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("session of a disabled user: %v", err)
	}
	if _, _, err := f.svc.NewSession(ctx, Site, tech.ID, false, "::1", ""); !errors.Is(err, ErrDisabled) {
		t.Fatalf("new session for a disabled user: %v", err)
	}
	if err := f.svc.SetDisabled(ctx, Site, tech.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, Site, "tech", goodPassword, "::1"); err != nil {
		t.Fatalf("re-enabled user: %v", err)
	}
}

func TestSetPassword(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.mustCreate(t, Site, "alice", RoleAdmin)
	if err := f.svc.SetPassword(ctx, Site, u.ID, "short"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("short password: %v", err)
	}
	if err := f.svc.SetPassword(ctx, Site, u.ID, "a brand new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, Site, "alice", goodPassword, "::1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("old password: %v", err)
	}
	if _, err := f.svc.Authenticate(ctx, Site, "alice", "a brand new password", "::2"); err != nil {
		t.Fatalf("new password: %v", err)
	}
}
