package auth

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/store"
	bolt "go.etcd.io/bbolt"
)

// fakeClock is the injected clock of the tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// cheap parameters keep tests fast; one test covers the defaults.
var cheap = Params{Time: 1, MemoryKiB: 64, Threads: 1}

const goodPassword = "correct horse battery"

type fixture struct {
	svc   *Service
	db    *store.DB
	clock *fakeClock
}

func newFixture(t *testing.T, tweak ...func(*Config)) *fixture {
	t.Helper()
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := newFakeClock()
	cfg := Config{Argon: cheap, Now: clock.Now}
	for _, f := range tweak {
		f(&cfg)
	}
	svc, err := New(db, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, db: db, clock: clock}
}

func (f *fixture) mustCreate(t *testing.T, realm Realm, name, role string) User {
	t.Helper()
	u, err := f.svc.CreateUser(context.Background(), realm, NewUser{Username: name, Password: goodPassword, Role: role})
	if err != nil {
		t.Fatalf("create %s/%s: %v", realm, name, err)
	}
	return u
}

func TestRealmsAreIsolated(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	site := f.mustCreate(t, Site, "alice", RoleAdmin)

	if _, err := f.svc.Authenticate(ctx, Box, "alice", goodPassword, "10.0.0.1"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("site account signed in to box realm: %v", err)
	}
	if ok, _ := f.svc.HasAdmin(ctx, Box); ok {
		t.Fatal("box realm reports the site admin")
	}
	if users, _ := f.svc.Users(ctx, Box); len(users) != 0 {
		t.Fatalf("box users = %v", users)
	}
	// The same name is free in the other realm and its password is its own.
	box, err := f.svc.CreateUser(ctx, Box, NewUser{Username: "Alice", Password: "another long password"})
	if err != nil {
		t.Fatal(err)
	}
	if box.Role != RoleAdmin || box.Realm != Box {
		t.Fatalf("box user = %+v", box)
	}
	if _, err := f.svc.Authenticate(ctx, Box, "alice", goodPassword, "10.0.0.2"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("site password opened the box account: %v", err)
	}
	if _, err := f.svc.Authenticate(ctx, Site, "alice", "another long password", "10.0.0.3"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("box password opened the site account: %v", err)
	}
	if u, err := f.svc.Authenticate(ctx, Box, "alice", "another long password", "10.0.0.4"); err != nil || u.Realm != Box {
		t.Fatalf("box sign-in: %+v, %v", u, err)
	}

	// A session of one realm is unknown in the other.
	raw, _, err := f.svc.NewSession(ctx, Site, site.ID, false, "10.0.0.1", "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Lookup(ctx, Box, raw); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("site session valid in box realm: %v", err)
	}
	if _, u, err := f.svc.Lookup(ctx, Site, raw); err != nil || u.ID != site.ID || u.Realm != Site {
		t.Fatalf("site lookup: %+v, %v", u, err)
	}
	if _, _, err := f.svc.Lookup(ctx, Realm("other"), raw); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown realm: %v", err)
	}
}

func TestKeyedHash(t *testing.T) {
	f := newFixture(t)
	a := f.svc.KeyedHash("p", []byte("secret"))
	if len(a) != 32 || !bytes.Equal(a, f.svc.KeyedHash("p", []byte("secret"))) {
		t.Fatal("keyed hash is not a stable 32-byte value")
	}
	if bytes.Equal(a, f.svc.KeyedHash("q", []byte("secret"))) {
		t.Fatal("purpose does not separate hashes")
	}
	if bytes.Equal(f.svc.KeyedHash("ab", []byte("c")), f.svc.KeyedHash("a", []byte("bc"))) {
		t.Fatal("purpose and secret run together")
	}
	// Another box has another key.
	g := newFixture(t)
	if bytes.Equal(a, g.svc.KeyedHash("p", []byte("secret"))) {
		t.Fatal("two boxes share a token key")
	}
}

// TestDefaults is the one test that hashes with the production parameters.
func TestDefaults(t *testing.T) {
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc, err := New(db, Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if svc.idle != 30*time.Minute || svc.absolute != 12*time.Hour || cap(svc.hashSem) != runtime.NumCPU() {
		t.Fatalf("defaults: idle %v absolute %v concurrency %d", svc.idle, svc.absolute, cap(svc.hashSem))
	}
	if svc.argon != (Params{Time: 2, MemoryKiB: 19456, Threads: 1}) {
		t.Fatalf("argon defaults %+v", svc.argon)
	}
	ctx := context.Background()
	u, err := svc.CreateUser(ctx, Site, NewUser{Username: "root", Password: goodPassword, Role: RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	var stored User
	db.View(ctx, func(tx *bolt.Tx) error {
		stored, err = getUser(tx, Site, u.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"
	if len(stored.PasswordHash) < len(prefix) || stored.PasswordHash[:len(prefix)] != prefix {
		t.Fatalf("stored hash %q", stored.PasswordHash)
	}
	if _, err := svc.Authenticate(ctx, Site, "root", goodPassword, "::1"); err != nil {
		t.Fatal(err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, cfg := range []Config{
		{Argon: Params{Time: 11, MemoryKiB: 64, Threads: 1}},
		{Argon: Params{Time: 1, MemoryKiB: 512 * 1024, Threads: 1}},
		{Argon: Params{Time: 1, MemoryKiB: 64}},
		{HashConcurrency: -1},
		{IdleTimeout: -time.Second},
	} {
		if _, err := New(db, cfg, nil); err == nil {
			t.Errorf("New accepted %+v", cfg)
		}
	}
	if _, err := New(nil, Config{}, nil); err == nil {
		t.Error("New accepted a nil store")
	}
}

// TestJoinsCallerTransaction shows that a method called with a context
// carrying a transaction writes in it, so a rollback undoes it.
func TestJoinsCallerTransaction(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	err := f.db.Update(ctx, func(tx *bolt.Tx) error {
		if _, err := f.svc.CreateUser(store.WithTx(ctx, tx), Site, NewUser{Username: "ghost", Password: goodPassword, Role: RoleAdmin}); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("want the rollback error")
	}
	if ok, _ := f.svc.HasAdmin(ctx, Site); ok {
		t.Fatal("user created in a rolled-back transaction survived")
	}
}
