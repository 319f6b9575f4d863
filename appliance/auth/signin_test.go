package auth

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestAuthenticate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin := f.mustCreate(t, Site, "Admin", RoleAdmin)
	tech := f.mustCreate(t, Site, "tech", RoleTechnician)
	if err := f.svc.SetDisabled(ctx, Site, tech.ID, true); err != nil {
		t.Fatal(err)
	}
	var hashes atomic.Int32
	f.svc.hashHook = func() { hashes.Add(1) }

	tests := []struct {
		name, user, pw string
		wantErr        error
	}{
		{"right", "admin", goodPassword, nil},
		{"name case does not matter", "ADMIN", goodPassword, nil},
		{"wrong password", "admin", goodPassword + "x", ErrBadCredentials},
		{"unknown user", "nobody", goodPassword, ErrBadCredentials},
		{"disabled user", "tech", goodPassword, ErrBadCredentials},
		{"impossible name", "no such/user", goodPassword, ErrBadCredentials},
		{"empty", "", "", ErrBadCredentials},
		{"huge password", "admin", strings.Repeat("x", 1<<20), ErrBadCredentials},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := hashes.Load()
			// A fresh source per case keeps the throttle out of the way.
			u, err := f.svc.Authenticate(ctx, Site, tt.user, tt.pw, "192.0.2."+string(rune('a'+i)))
			if !errors.Is(err, tt.wantErr) || (err != nil && err != tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			// Every outcome costs exactly one Argon2id verification.
			if n := hashes.Load() - before; n != 1 {
				t.Fatalf("%d hash computations, want 1", n)
			}
			if err == nil && (u.ID != admin.ID || u.PasswordHash != "") {
				t.Fatalf("user = %+v", u)
			}
		})
	}
}

func TestAuthenticateThrottled(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.mustCreate(t, Site, "alice", RoleAdmin)
	var hashes atomic.Int32
	f.svc.hashHook = func() { hashes.Add(1) }

	for i := range 3 {
		if _, err := f.svc.Authenticate(ctx, Site, "alice", "wrong password!", "198.51.100."+string(rune('1'+i))); !errors.Is(err, ErrBadCredentials) {
			t.Fatal(err)
		}
	}
	// From a new source the account is still held back, without a hash.
	before := hashes.Load()
	_, err := f.svc.Authenticate(ctx, Site, "alice", goodPassword, "203.0.113.9")
	var te *ThrottledError
	if !errors.As(err, &te) || !errors.Is(err, ErrThrottled) || te.RetryAfter != time.Second {
		t.Fatalf("fourth attempt: %v", err)
	}
	if hashes.Load() != before {
		t.Fatal("a throttled attempt computed a hash")
	}
	if !strings.Contains(err.Error(), "1 s") {
		t.Fatalf("message %q does not say how long to wait", err)
	}
	f.clock.Advance(time.Second)
	if _, err := f.svc.Authenticate(ctx, Site, "alice", goodPassword, "203.0.113.9"); err != nil {
		t.Fatal(err)
	}
	// The success cleared the account.
	for range 2 {
		f.svc.Authenticate(ctx, Site, "alice", "wrong password!", "203.0.113.10")
	}
	if _, err := f.svc.Authenticate(ctx, Site, "alice", goodPassword, "203.0.113.11"); err != nil {
		t.Fatalf("account not cleared by success: %v", err)
	}

	// One source guessing many names, known or not, is held back too.
	for _, name := range []string{"bob", "carol", "alice"} {
		f.svc.Authenticate(ctx, Site, name, "wrong password!", "203.0.113.66")
	}
	if _, err := f.svc.Authenticate(ctx, Site, "dave", "wrong password!", "203.0.113.66"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("spraying source: %v", err)
	}
	// An unknown name is throttled just like a known one.
	for range 3 {
		f.svc.Authenticate(ctx, Site, "mallory", "wrong password!", "")
	}
	if _, err := f.svc.Authenticate(ctx, Site, "mallory", "wrong password!", ""); !errors.Is(err, ErrThrottled) {
		t.Fatalf("unknown account: %v", err)
	}
	// The throttle of one realm's name does not hold back the other realm.
	f.mustCreate(t, Box, "mallory", RoleAdmin)
	if _, err := f.svc.Authenticate(ctx, Box, "mallory", goodPassword, ""); err != nil {
		t.Fatalf("box realm held back by site failures: %v", err)
	}
}

func TestAuthenticateUnreadableHash(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.mustCreate(t, Site, "alice", RoleAdmin)
	err := f.svc.updateUser(ctx, Site, u.ID, func(_ *bolt.Tx, u *User) error {
		u.PasswordHash = "$argon2id$v=19$m=99999999,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Authenticate(ctx, Site, "alice", goodPassword, "::1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("unreadable hash: %v", err)
	}
}

func TestAuthenticateCancelled(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.HashConcurrency = 1 })
	f.mustCreate(t, Site, "alice", RoleAdmin)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.svc.Authenticate(ctx, Site, "alice", "wrong password!", "::1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	// A cancelled attempt is neither a failure nor a success.
	if n := f.svc.throttle.size(); n != 0 {
		t.Fatalf("%d throttle keys after a cancelled attempt", n)
	}
}
