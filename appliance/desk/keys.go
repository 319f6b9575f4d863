package desk

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/time/rate"
)

// Session key lifetimes.
const (
	DefaultKeyLifetime = 15 * time.Minute
	MaxKeyLifetime     = 24 * time.Hour
	// DefaultKeyBudget is how many wrong keys the whole box accepts per
	// hour before key entry slows down for everyone.
	DefaultKeyBudget = 100
)

// keyRecord is a session key as stored: under its keyed hash only.
type keyRecord struct {
	Technician uint64    `json:"technician"`
	Site       uint64    `json:"site,omitempty"`
	Expires    time.Time `json:"expires"`
	Used       bool      `json:"used,omitempty"`
	UsedAt     time.Time `json:"used_at,omitempty"`
}

// RandomKey returns a uniformly random 9-digit string: session keys,
// classic SOS codes, presentation keys.
func RandomKey() string {
	var b [8]byte
	for {
		rand.Read(b[:])
		v := binary.BigEndian.Uint64(b[:]) >> 34 // 30 bits
		if v < 1_000_000_000 {
			return fmt.Sprintf("%09d", v)
		}
	}
}

// NormalizeKey keeps the digits of what a person typed ("123 456 789").
func NormalizeKey(s string) (string, bool) {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c == ' ' || c == '-':
		default:
			return "", false
		}
	}
	return b.String(), b.Len() == 9
}

// GenerateKey makes a one-time 9-digit session key for a's personal queue,
// valid for lifetime (default 15 minutes, at most 24 hours), optionally
// only on one site.
func (s *Service) GenerateKey(ctx context.Context, a Actor, lifetime time.Duration, site uint64) (string, time.Time, error) {
	if err := Authorize(a, ActUsePerm, Scope{Perm: PermSessionKeys}); err != nil {
		return "", time.Time{}, err
	}
	if lifetime == 0 {
		lifetime = DefaultKeyLifetime
	}
	if lifetime < time.Minute || lifetime > MaxKeyLifetime {
		return "", time.Time{}, &FieldError{"lifetime", "Choose a lifetime from 1 minute to 24 hours."}
	}
	exp := s.now().UTC().Add(lifetime)
	var key string
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		if site != 0 && root(tx, bSites).Get(idKey(site)) == nil {
			return &FieldError{"site", "That site does not exist."}
		}
		for {
			key = RandomKey()
			h := s.keyed(purposeKey, key)
			if root(tx, bKeys).Get(h) != nil {
				continue // an unlikely collision with a live key
			}
			v, _ := json.Marshal(keyRecord{Technician: a.UserID, Site: site, Expires: exp})
			return root(tx, bKeys).Put(h, v)
		}
	})
	return key, exp, err
}

// dummyKey is decoded for an unknown key, so that unknown, expired and used
// keys take the same path.
var dummyKey = []byte(`{"technician":1,"site":0,"expires":"2000-01-01T00:00:00Z","used":true}`)

// ErrBadKey is the one answer to an unknown, expired or used session key.
var ErrBadKey = fmt.Errorf("that session key is not valid: check the 9 digits, or ask your technician for a new key")

// ThrottledError says how long a caller must wait before trying again.
type ThrottledError struct{ Wait time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many attempts; try again in %s", e.Wait.Round(time.Second))
}

// StartWithKey starts a session in the queue of the technician who made
// key, for a customer entering it on site from source. Unknown, expired and
// used keys all get ErrBadKey, along the same code path.
func (s *Service) StartWithKey(ctx context.Context, site Site, key string, c Customer, source string) (Session, string, error) {
	if wait := s.guard.take(source); wait > 0 {
		return Session{}, "", &ThrottledError{wait}
	}
	digits, ok := NormalizeKey(key)
	if !ok {
		digits = "invalid"
	}
	h := s.keyed(purposeKey, digits)
	if err := CheckCustomer(site, &c); err != nil {
		return Session{}, "", err
	}
	now := s.now().UTC()
	ss, tok, err := s.start(ctx, Session{Status: Ready, Method: MethodKey, Site: site.ID, Customer: c, AgreementRequired: site.Agreement != ""}, nil, func(tx *bolt.Tx, ss *Session) error {
		var k keyRecord
		raw := root(tx, bKeys).Get(h)
		found := raw != nil
		if !found {
			raw = dummyKey // the same work as for a real record
		}
		if err := json.Unmarshal(raw, &k); err != nil {
			return err
		}
		if !found || k.Used || !now.Before(k.Expires) || k.Site != 0 && k.Site != site.ID {
			return ErrBadKey
		}
		k.Used, k.UsedAt = true, now
		v, _ := json.Marshal(k)
		if err := root(tx, bKeys).Put(h, v); err != nil {
			return err
		}
		ss.Queue = Queue{QueueTechnician, k.Technician}
		return nil
	})
	if err != ErrBadKey {
		s.guard.succeeded(source) // only wrong keys count
	}
	return ss, tok, err
}

// keyGuard throttles guessing of 9-digit secrets (session keys, classic
// codes) per source, with a growing delay, and across the box with a
// failure budget per hour: past the budget an alert is raised once per hour,
// a source's first attempt in the hour goes through a fresh lane (a burst of
// freshBurst, then one every freshEvery, box-wide) and every other attempt
// is spaced out box-wide (one every globalSlowdown). A real customer thus
// gets in at once during a spray unless the spray comes from more fresh
// addresses than the fresh lane holds; a guesser's total stays bounded.
// An attempt is counted when it starts (take) and refunded when it
// succeeds, so concurrent guesses cannot slip past the count.
type keyGuard struct {
	mu         sync.Mutex
	now        func() time.Time
	budget     int
	window     time.Time
	failed     int
	nextGlobal time.Time
	sources    map[string]*guardEntry
	alerts     []time.Time
	freshLane  *rate.Limiter
}

type guardEntry struct {
	fails int
	until time.Time
	seen  time.Time
}

func newKeyGuard(now func() time.Time, budget int) *keyGuard {
	return &keyGuard{now: now, budget: budget, sources: map[string]*guardEntry{},
		freshLane: rate.NewLimiter(rate.Every(freshEvery), freshBurst)}
}

// SetKeyBudget changes the box-wide failure budget per hour.
func (s *Service) SetKeyBudget(n int) {
	s.guard.mu.Lock()
	s.guard.budget = n
	s.guard.mu.Unlock()
}

// Once the budget is spent: globalSlowdown spaces attempts box-wide, except
// first attempts of a source in the fresh lane.
const (
	globalSlowdown = 5 * time.Second
	freshBurst     = 30
	freshEvery     = time.Second
)

// maxGuardSources bounds the per-source table.
const maxGuardSources = 100_000

// take reserves an attempt from source, or returns how long to wait.
func (g *keyGuard) take(source string) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if now.Sub(g.window) >= time.Hour {
		g.window, g.failed = now, 0
	}
	e := g.sources[source]
	if e != nil && now.Before(e.until) {
		return e.until.Sub(now)
	}
	if g.failed >= g.budget {
		// A source that has not missed within the hour (a customer typing
		// the key they were given) goes through the fresh lane at once,
		// while there is room in it; the others share the slow lane.
		fresh := e == nil || e.fails == 0 || now.Sub(e.seen) > time.Hour
		if !fresh || !g.freshLane.AllowN(now, 1) {
			if now.Before(g.nextGlobal) {
				return g.nextGlobal.Sub(now)
			}
			g.nextGlobal = now.Add(globalSlowdown)
		}
	}
	if e == nil {
		if len(g.sources) >= maxGuardSources {
			g.evict(now)
		}
		e = &guardEntry{}
		g.sources[source] = e
	}
	if now.Sub(e.seen) > time.Hour {
		e.fails = 0
	}
	// Count the attempt as failed until it proves otherwise.
	e.fails++
	e.seen = now
	if e.fails >= 3 {
		e.until = now.Add(time.Second << min(e.fails-3, 10))
	}
	g.failed++
	if g.failed == g.budget {
		g.alerts = append(g.alerts, now)
	}
	return 0
}

// succeeded refunds the attempt source just made.
func (g *keyGuard) succeeded(source string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e := g.sources[source]; e != nil {
		e.fails = max(e.fails-1, 0)
		e.until = time.Time{}
	}
	g.failed = max(g.failed-1, 0)
}

// evict drops sources idle for an hour, then, if the table is still full,
// those idle longest.
func (g *keyGuard) evict(now time.Time) {
	for k, e := range g.sources {
		if now.Sub(e.seen) > time.Hour {
			delete(g.sources, k)
		}
	}
	for len(g.sources) >= maxGuardSources {
		var oldest string
		var at time.Time
		for k, e := range g.sources {
			if oldest == "" || e.seen.Before(at) {
				oldest, at = k, e.seen
			}
		}
		delete(g.sources, oldest)
	}
}

// KeyAlerts returns when the box-wide key budget was exhausted, newest
// first, for the admins' attention in /login.
func (s *Service) KeyAlerts() []time.Time {
	s.guard.mu.Lock()
	defer s.guard.mu.Unlock()
	out := make([]time.Time, len(s.guard.alerts))
	for i, t := range s.guard.alerts {
		out[len(out)-1-i] = t
	}
	return out
}
