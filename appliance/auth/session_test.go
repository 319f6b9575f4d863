package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// storedSession reads the session rawID straight from the store.
func storedSession(t *testing.T, f *fixture, realm Realm, rawID string) (Session, bool) {
	t.Helper()
	key, ok := f.svc.sessionKey(rawID)
	if !ok {
		t.Fatalf("bad raw id %q", rawID)
	}
	var se Session
	found := false
	f.db.View(context.Background(), func(tx *bolt.Tx) error {
		b, _ := bucket(tx, realm, subSessions)
		if v := b.Get(key); v != nil {
			found = true
			return json.Unmarshal(v, &se)
		}
		return nil
	})
	return se, found
}

func TestSessionLookupAndRefresh(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.mustCreate(t, Site, "alice", RoleAdmin)
	start := f.clock.Now()
	raw, se, err := f.svc.NewSession(ctx, Site, u.ID, false, "192.0.2.1", "Firefox "+strings.Repeat("x", 500))
	if err != nil {
		t.Fatal(err)
	}
	if se.UserID != u.ID || se.Realm != Site || !se.Created.Equal(start) || se.Pending || len(se.UserAgent) != maxUserAgentLen {
		t.Fatalf("session %+v", se)
	}
	// The raw id is 128 bits of base64url and is not what is stored.
	if len(raw) != 22 || strings.ContainsAny(raw, "+/=") {
		t.Fatalf("raw id %q", raw)
	}
	f.db.View(ctx, func(tx *bolt.Tx) error {
		b, _ := bucket(tx, Site, subSessions)
		return b.ForEach(func(k, v []byte) error {
			if bytes.Contains(k, []byte(raw)) || bytes.Contains(v, []byte(raw)) {
				t.Error("raw session id stored")
			}
			return nil
		})
	})

	f.clock.Advance(59 * time.Second)
	got, gu, err := f.svc.Lookup(ctx, Site, raw)
	if err != nil || gu.ID != u.ID || gu.PasswordHash != "" {
		t.Fatalf("lookup: %+v, %v", gu, err)
	}
	if !got.LastSeen.Equal(start) {
		t.Fatalf("LastSeen moved within a minute: %v", got.LastSeen)
	}
	if st, _ := storedSession(t, f, Site, raw); !st.LastSeen.Equal(start) {
		t.Fatal("lookup within a minute wrote")
	}
	f.clock.Advance(time.Second)
	got, _, err = f.svc.Lookup(ctx, Site, raw)
	if err != nil || !got.LastSeen.Equal(f.clock.Now()) {
		t.Fatalf("LastSeen not refreshed: %+v, %v", got, err)
	}
	if st, _ := storedSession(t, f, Site, raw); !st.LastSeen.Equal(f.clock.Now()) {
		t.Fatal("refreshed LastSeen not stored")
	}

	for _, bad := range []string{"", "x", raw + "A", strings.Repeat("A", 22), "!!!!!!!!!!!!!!!!!!!!!!"} {
		if _, _, err := f.svc.Lookup(ctx, Site, bad); !errors.Is(err, ErrSessionExpired) {
			t.Errorf("lookup %q: %v", bad, err)
		}
	}
	if _, _, err := f.svc.NewSession(ctx, Site, 99, false, "", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session for unknown user: %v", err)
	}
}

func TestSessionIdleTimeout(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.IdleTimeout = 10 * time.Minute })
	ctx := context.Background()
	u := f.mustCreate(t, Site, "alice", RoleAdmin)
	raw, _, err := f.svc.NewSession(ctx, Site, u.ID, false, "", "")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(10 * time.Minute)
	if _, _, err := f.svc.Lookup(ctx, Site, raw); err != nil {
		t.Fatalf("at the idle limit: %v", err)
	}
	f.clock.Advance(10*time.Minute + time.Second)
	if _, _, err := f.svc.Lookup(ctx, Site, raw); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("idle session: %v", err)
	}
	if _, found := storedSession(t, f, Site, raw); found {
		t.Fatal("expired session not deleted")
	}
}

func TestSessionAbsoluteTimeout(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.AbsoluteTimeout = time.Hour })
	ctx := context.Background()
	u := f.mustCreate(t, Site, "alice", RoleAdmin)
	raw, _, err := f.svc.NewSession(ctx, Site, u.ID, false, "", "")
	if err != nil {
		t.Fatal(err)
	}
	// Busy all the time, yet it ends after an hour.
	for range 6 {
		f.clock.Advance(10 * time.Minute)
		if _, _, err := f.svc.Lookup(ctx, Site, raw); err != nil {
			t.Fatalf("at %v: %v", f.clock.Now(), err)
		}
	}
	f.clock.Advance(time.Second)
	if _, _, err := f.svc.Lookup(ctx, Site, raw); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("past the absolute timeout: %v", err)
	}
	if _, found := storedSession(t, f, Site, raw); found {
		t.Fatal("expired session not deleted")
	}
}

func TestPromote(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.mustCreate(t, Site, "alice", RoleAdmin)
	pending, _, err := f.svc.NewSession(ctx, Site, u.ID, true, "192.0.2.1", "ua")
	if err != nil {
		t.Fatal(err)
	}
	if se, _, err := f.svc.Lookup(ctx, Site, pending); err != nil || !se.Pending {
		t.Fatalf("pending lookup: %+v, %v", se, err)
	}
	f.clock.Advance(2 * time.Minute)
	full, err := f.svc.Promote(ctx, Site, pending)
	if err != nil {
		t.Fatal(err)
	}
	if full == pending {
		t.Fatal("Promote kept the session id")
	}
	if _, _, err := f.svc.Lookup(ctx, Site, pending); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("old id after Promote: %v", err)
	}
	se, _, err := f.svc.Lookup(ctx, Site, full)
	if err != nil || se.Pending || !se.Created.Equal(f.clock.Now()) || se.Source != "192.0.2.1" || se.UserAgent != "ua" {
		t.Fatalf("promoted: %+v, %v", se, err)
	}
	if _, err := f.svc.Promote(ctx, Site, pending); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("Promote of the old id: %v", err)
	}
	if _, err := f.svc.Promote(ctx, Site, full); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Promote of a full session: %v", err)
	}
	if n, _ := f.svc.Sessions(ctx, Site, u.ID); len(n) != 1 {
		t.Fatalf("%d sessions after Promote", len(n))
	}
}

func TestPendingSessionTimeout(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.mustCreate(t, Site, "alice", RoleAdmin)
	pending, _, err := f.svc.NewSession(ctx, Site, u.ID, true, "", "")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(5*time.Minute + time.Second)
	if _, err := f.svc.Promote(ctx, Site, pending); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("stale pending session promoted: %v", err)
	}
	if _, found := storedSession(t, f, Site, pending); found {
		t.Fatal("stale pending session not deleted")
	}
}

func TestEndSessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.mustCreate(t, Site, "alice", RoleAdmin)
	b := f.mustCreate(t, Site, "bob", RoleTechnician)
	var aIDs []string
	for range 3 {
		raw, _, err := f.svc.NewSession(ctx, Site, a.ID, false, "", "")
		if err != nil {
			t.Fatal(err)
		}
		aIDs = append(aIDs, raw)
		f.clock.Advance(time.Second)
	}
	bID, _, err := f.svc.NewSession(ctx, Site, b.ID, false, "", "")
	if err != nil {
		t.Fatal(err)
	}
	list, err := f.svc.Sessions(ctx, Site, a.ID)
	if err != nil || len(list) != 3 || !list[0].Created.Before(list[2].Created) {
		t.Fatalf("sessions %+v, %v", list, err)
	}

	if err := f.svc.EndSession(ctx, Site, aIDs[0]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Lookup(ctx, Site, aIDs[0]); !errors.Is(err, ErrSessionExpired) {
		t.Fatalf("ended session: %v", err)
	}
	if err := f.svc.EndSession(ctx, Site, aIDs[0]); err != nil {
		t.Fatalf("ending twice: %v", err)
	}
	if err := f.svc.EndSession(ctx, Site, "garbage"); err != nil {
		t.Fatalf("ending garbage: %v", err)
	}

	n, err := f.svc.EndUserSessions(ctx, Site, a.ID)
	if err != nil || n != 2 {
		t.Fatalf("EndUserSessions = %d, %v", n, err)
	}
	for _, raw := range aIDs {
		if _, _, err := f.svc.Lookup(ctx, Site, raw); !errors.Is(err, ErrSessionExpired) {
			t.Fatalf("session survived EndUserSessions: %v", err)
		}
	}
	if _, _, err := f.svc.Lookup(ctx, Site, bID); err != nil {
		t.Fatalf("another user's session ended: %v", err)
	}
	if list, _ := f.svc.Sessions(ctx, Site, b.ID); len(list) != 1 {
		t.Fatalf("bob's sessions %+v", list)
	}
}

func TestPruneSessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.mustCreate(t, Site, "alice", RoleAdmin)
	for range 3 {
		if _, _, err := f.svc.NewSession(ctx, Site, u.ID, false, "", ""); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Advance(29 * time.Minute)
	live, _, err := f.svc.NewSession(ctx, Site, u.ID, false, "", "")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Minute)
	if list, _ := f.svc.Sessions(ctx, Site, u.ID); len(list) != 1 {
		t.Fatalf("Sessions lists timed-out sessions: %d", len(list))
	}
	n, err := f.svc.PruneSessions(ctx, Site)
	if err != nil || n != 3 {
		t.Fatalf("PruneSessions = %d, %v", n, err)
	}
	if _, _, err := f.svc.Lookup(ctx, Site, live); err != nil {
		t.Fatal(err)
	}
}
