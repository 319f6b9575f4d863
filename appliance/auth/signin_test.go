package auth

import (
	"context"
	"errors"
	"fmt"
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

// TestSignInSprayKeepsOwner is the lockout attack: wrong passwords for a
// named account from many addresses. The owner's browser, which signed in
// before, still gets in at once; other browsers are held back; the attack
// shows to admins.
func TestSignInSprayKeepsOwner(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.mustCreate(t, Site, "alice", RoleAdmin)
	if _, err := f.svc.Authenticate(ctx, Site, "alice", goodPassword, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	device := f.svc.DeviceToken(Site, "Alice")
	for i := range 40 {
		src := fmt.Sprintf("198.51.100.%d", i+1)
		// The attacker waits out the account's delay each time.
		f.clock.Advance(peek(f.svc.throttle, accountKey(Site, "alice")))
		if _, err := f.svc.Authenticate(ctx, Site, "alice", "wrong password!", src); !errors.Is(err, ErrBadCredentials) {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Authenticate(ctx, Site, "alice", goodPassword, "192.0.2.1"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("a new browser was not held back during the spray: %v", err)
	}
	if _, err := f.svc.AuthenticateDevice(ctx, Site, "alice", goodPassword, "192.0.2.1", device); err != nil {
		t.Fatalf("the owner's browser was locked out: %v", err)
	}
	// A token is bound to its account and cannot be forged.
	if _, err := f.svc.AuthenticateDevice(ctx, Site, "alice", goodPassword, "192.0.2.1", f.svc.DeviceToken(Site, "bob")); !errors.Is(err, ErrThrottled) {
		t.Fatalf("another account's token waived the throttle: %v", err)
	}
	if _, err := f.svc.AuthenticateDevice(ctx, Site, "alice", goodPassword, "192.0.2.1", device[:len(device)-2]+"AA"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("a forged token waived the throttle: %v", err)
	}
	// Nor does a spray from the owner's own network (one office address).
	for _, name := range []string{"bob", "carol", "dave"} {
		f.svc.Authenticate(ctx, Site, name, "wrong password!", "192.0.2.99")
	}
	if _, err := f.svc.Authenticate(ctx, Site, "erin", "wrong password!", "192.0.2.99"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("the spraying source is not held back: %v", err)
	}
	if _, err := f.svc.AuthenticateDevice(ctx, Site, "alice", goodPassword, "192.0.2.99", device); err != nil {
		t.Fatalf("the owner's browser was locked out by its own network: %v", err)
	}
	// The device's own failures still hold it back.
	for range 3 {
		f.svc.AuthenticateDevice(ctx, Site, "alice", "wrong password!", "192.0.2.1", device)
	}
	if _, err := f.svc.AuthenticateDevice(ctx, Site, "alice", goodPassword, "192.0.2.1", device); !errors.Is(err, ErrThrottled) {
		t.Fatalf("guessing with a device token is not throttled: %v", err)
	}
	attacks := f.svc.SignInAttacks(Site)
	if len(attacks) != 1 || attacks[0].Username != "alice" || attacks[0].Sources != 41 || attacks[0].Failures != 43 {
		t.Fatalf("attacks: %+v", attacks)
	}
	if got := f.svc.SignInAttacks(Box); len(got) != 0 {
		t.Fatalf("box realm shows the site's attack: %+v", got)
	}
}

// TestSignInIPv6Prefix: the addresses of one /64 are one source.
func TestSignInIPv6Prefix(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := range 3 {
		f.svc.Authenticate(ctx, Site, fmt.Sprint("name", i), "wrong password!", fmt.Sprintf("2001:db8:1:2::%x", i+1))
	}
	if _, err := f.svc.Authenticate(ctx, Site, "other", "wrong password!", "2001:db8:1:2:ffff::9"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("a spray from one /64 is not throttled: %v", err)
	}
	if _, err := f.svc.Authenticate(ctx, Site, "other", "wrong password!", "2001:db8:1:3::1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("the next /64 is held back too: %v", err)
	}
	for in, want := range map[string]string{
		"2001:db8::1":      srcPrefix + "2001:db8::/64",
		"::ffff:192.0.2.7": srcPrefix + "192.0.2.7",
		"fe80::1%eth0":     srcPrefix + "fe80::/64",
		"not an address":   srcPrefix + "not an address",
	} {
		if got := sourceKey(in); got != want {
			t.Errorf("sourceKey(%q) = %q, want %q", in, got, want)
		}
	}
}
