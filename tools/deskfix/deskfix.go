// Package deskfix is the shared test fixture of the front ends: a real
// bbolt store in a temporary directory, the accounts service, the desk
// with its event bus, and a router with the /login account area, wired as
// the appliance wires them, on a clock the test moves. Tests of console,
// admin and portal build on it instead of each repeating the setup.
package deskfix

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/account"
	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/bus"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/store"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// Start is where a fixture's clock starts.
var Start = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

// Clock is a clock the test moves; it stands still otherwise.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Box is the wired fixture.
type Box struct {
	DB     *store.DB
	Auth   *auth.Service
	Desk   *desk.Service
	Bus    *bus.Bus
	Router *web.Router
	// Site is the /login account area; Routes registers it (call it after
	// the front end's own routes, as the appliance does).
	Site  *account.Area
	Clock *Clock
	Log   *slog.Logger
}

// Config tunes New; the zero value is the usual fixture.
type Config struct {
	// Home is where a signed-in person lands (default /login/dashboard).
	Home string
	// RealClock runs the desk and the accounts on time.Now instead of
	// Clock (for tests that wait on timers in the real world).
	RealClock bool
}

// New builds the fixture; everything is closed when the test ends.
func New(t testing.TB, cfg Config) *Box {
	t.Helper()
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b := &Box{DB: db, Clock: &Clock{t: Start}, Log: slog.New(slog.DiscardHandler), Bus: bus.New(nil)}
	now := b.Clock.Now
	if cfg.RealClock {
		now = time.Now
	}
	// Cheap password hashes: the tests create many accounts.
	b.Auth, err = auth.New(db, auth.Config{Argon: auth.Params{Time: 1, MemoryKiB: 64, Threads: 1}, Now: now}, b.Log)
	if err != nil {
		t.Fatal(err)
	}
	b.Desk = desk.New(db, now, b.Log).WithEvents(b.Bus).WithHasher(b.Auth.KeyedHash)
	b.Router = web.NewRouter(web.Config{CSRFKey: []byte("fixture csrf key")}, b.Log)
	home := cfg.Home
	if home == "" {
		home = "/login/dashboard"
	}
	b.Site = account.New(account.Config{Realm: auth.Site, Prefix: "/login", Surface: "Site administration",
		Home: home, Issuer: "Switchboard", Roles: desk.Roles, RoleName: desk.RoleName}, b.Auth, b.Router, b.Log)
	return b
}

// Admin creates a site administrator called name and returns the account
// and its desk actor.
func (b *Box) Admin(t testing.TB, name string) (auth.User, desk.Actor) {
	t.Helper()
	u, err := b.Auth.CreateUser(context.Background(), auth.Site, auth.NewUser{Username: name, DisplayName: name, Password: Password, Role: auth.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	return u, desk.Actor{UserID: u.ID, Name: name, Role: desk.RoleAdmin, Perms: desk.RoleDefaults(desk.RoleAdmin)}
}

// Password is the password of the accounts fixtures create.
const Password = "a long enough password"

// Profile is a small Apple configuration profile (an XML property list)
// whose identifier ends in id.
func Profile(id string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>PayloadType</key><string>Configuration</string>
<key>PayloadIdentifier</key><string>com.example.` + id + `</string>
<key>PayloadUUID</key><string>0A1B2C3D-` + id + `</string>
<key>PayloadDisplayName</key><string>` + id + `</string>
</dict></plist>`)
}
