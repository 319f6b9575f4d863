package auth

import (
	"context"
	"errors"
	"testing"
)

func TestSetProfile(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.mustCreate(t, Site, "boss", RoleAdmin)
	u := f.mustCreate(t, Site, "cm", RoleTechnician)
	if err := f.svc.SetProfile(ctx, Site, u.ID, "Cam Manager", RoleChannelManager); err != nil {
		t.Fatal(err)
	}
	got, _ := f.svc.User(ctx, Site, u.ID)
	if got.Role != RoleChannelManager || got.DisplayName != "Cam Manager" {
		t.Fatalf("after SetProfile: %+v", got)
	}
	if err := f.svc.SetProfile(ctx, Site, a.ID, "Boss", RoleTechnician); !errors.Is(err, ErrInvalid) {
		t.Fatalf("demoting the last admin: %v", err)
	}
	if err := f.svc.SetProfile(ctx, Site, u.ID, "x", "wizard"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown role: %v", err)
	}
}
