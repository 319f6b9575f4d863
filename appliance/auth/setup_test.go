package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestSetupTokenLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	tok, exp, err := f.svc.NewSetupToken(ctx, Site)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(f.clock.Now().Add(time.Hour)) || len(tok) != 26 || strings.ToLower(tok) != tok {
		t.Fatalf("token %q expires %v", tok, exp)
	}
	// Only the keyed hash is stored.
	f.db.View(ctx, func(tx *bolt.Tx) error {
		b, _ := bucket(tx, Site, subSetup)
		if v := string(b.Get(keySetupToken)); v == "" || strings.Contains(strings.ToLower(v), tok) {
			t.Errorf("stored setup record %q", v)
		}
		return nil
	})
	if err := f.svc.SetupOpen(ctx, Site, tok); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetupOpen(ctx, Site, strings.ToUpper(tok)); err != nil {
		t.Fatalf("upper-case token: %v", err)
	}
	for _, bad := range []string{"", "x", strings.Repeat("a", 26), tok + "a", tok[:25]} {
		if err := f.svc.SetupOpen(ctx, Site, bad); !errors.Is(err, ErrBadToken) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	// The token belongs to its realm.
	if err := f.svc.SetupOpen(ctx, Box, tok); !errors.Is(err, ErrBadToken) {
		t.Fatalf("site token in box realm: %v", err)
	}

	// It expires after an hour.
	f.clock.Advance(time.Hour)
	if err := f.svc.SetupOpen(ctx, Site, tok); !errors.Is(err, ErrBadToken) {
		t.Fatalf("expired token: %v", err)
	}
	nu := NewUser{Username: "root", Password: goodPassword}
	if _, err := f.svc.CompleteSetup(ctx, Site, tok, nu); !errors.Is(err, ErrBadToken) {
		t.Fatalf("setup with expired token: %v", err)
	}

	// A new token replaces the old one.
	old := tok
	tok, _, err = f.svc.NewSetupToken(ctx, Site)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(-30 * time.Minute)
	if err := f.svc.SetupOpen(ctx, Site, old); !errors.Is(err, ErrBadToken) {
		t.Fatalf("replaced token: %v", err)
	}
	f.clock.Advance(30 * time.Minute)

	if _, err := f.svc.CompleteSetup(ctx, Site, tok, NewUser{Username: "root", Password: "short"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad password: %v", err)
	}
	if _, err := f.svc.CompleteSetup(ctx, Site, tok, NewUser{Username: "root", Password: goodPassword, Role: RoleTechnician}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("technician as first user: %v", err)
	}
	u, err := f.svc.CompleteSetup(ctx, Site, tok, nu)
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != RoleAdmin || u.Username != "root" {
		t.Fatalf("first user %+v", u)
	}
	if ok, _ := f.svc.HasAdmin(ctx, Site); !ok {
		t.Fatal("no admin after setup")
	}
	// Setup is closed now, whatever the token.
	if err := f.svc.SetupOpen(ctx, Site, tok); !errors.Is(err, ErrSetupClosed) {
		t.Fatalf("reused token: %v", err)
	}
	if _, err := f.svc.CompleteSetup(ctx, Site, tok, NewUser{Username: "root2", Password: goodPassword}); !errors.Is(err, ErrSetupClosed) {
		t.Fatalf("second setup: %v", err)
	}
	if _, _, err := f.svc.NewSetupToken(ctx, Site); !errors.Is(err, ErrSetupClosed) {
		t.Fatalf("new token after setup: %v", err)
	}
	// The box realm is still waiting for its own setup.
	if _, _, err := f.svc.NewSetupToken(ctx, Box); err != nil {
		t.Fatalf("box setup: %v", err)
	}
}

func TestCompleteSetupConcurrent(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tok, _, err := f.svc.NewSetupToken(ctx, Box)
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = f.svc.CompleteSetup(ctx, Box, tok, NewUser{Username: fmt.Sprint("admin", i), Password: goodPassword})
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ErrSetupClosed):
			t.Errorf("loser: %v", err)
		}
	}
	users, _ := f.svc.Users(ctx, Box)
	if wins != 1 || len(users) != 1 {
		t.Fatalf("%d winners, %d users", wins, len(users))
	}
}
