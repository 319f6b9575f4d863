package web

import (
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Limiter is a per-key token bucket for requests that anyone can send
// (public forms, chat): each key gets burst requests at once and then one
// every interval. The table is bounded; idle keys are forgotten.
type Limiter struct {
	mu       sync.Mutex
	interval time.Duration
	burst    float64
	keys     map[string]*bucket
	// Now is the clock; tests replace it.
	Now func() time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// maxLimiterKeys bounds a Limiter's table.
const maxLimiterKeys = 100_000

// NewLimiter returns a limiter of burst requests, then one per interval.
func NewLimiter(burst int, interval time.Duration) *Limiter {
	return &Limiter{interval: interval, burst: float64(burst), keys: map[string]*bucket{}, Now: time.Now}
}

// Allow takes a token for key, or reports how long until one is free.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	b := l.keys[key]
	if b == nil {
		if len(l.keys) >= maxLimiterKeys {
			l.forget(now)
		}
		b = &bucket{tokens: l.burst, at: now}
		l.keys[key] = b
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.interval))
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(l.interval))
}

// forget drops the buckets that are full again, then, if needed, all.
func (l *Limiter) forget(now time.Time) {
	full := time.Duration(l.burst * float64(l.interval))
	for k, b := range l.keys {
		if now.Sub(b.at) >= full {
			delete(l.keys, k)
		}
	}
	if len(l.keys) >= maxLimiterKeys {
		clear(l.keys)
	}
}

// SourceKey is the key a client's address counts under: the address, or
// its /64 for IPv6, where one host usually holds a whole /64.
func SourceKey(a netip.Addr) string {
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.Unmap().String()
}

// TooMany is the error for a request over its limit.
func TooMany(retry time.Duration) *HTTPError {
	secs := int(retry.Round(time.Second) / time.Second)
	return &HTTPError{Code: http.StatusTooManyRequests,
		Msg:  "Too many requests from your network in a short time, so this one was not taken.",
		Next: "Wait " + strconv.Itoa(max(secs, 1)) + " seconds, then try again."}
}

// Slots bounds how many long requests (event streams) run at once, per key
// (a session, a technician) and in all. The zero value is unusable: set
// PerKey and Total.
type Slots struct {
	PerKey, Total int

	mu  sync.Mutex
	n   map[uint64]int
	all int
}

// Errors of Slots.Acquire.
var (
	ErrKeyFull = errors.New("too many at once for this key")
	ErrBoxFull = errors.New("too many at once on the box")
)

// Acquire takes a slot for key, or fails with ErrKeyFull or ErrBoxFull.
// Call release once the request ends.
func (s *Slots) Acquire(key uint64) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[uint64]int{}
	}
	switch {
	case s.n[key] >= s.PerKey:
		return nil, ErrKeyFull
	case s.all >= s.Total:
		return nil, ErrBoxFull
	}
	s.n[key]++
	s.all++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.all--
			if s.n[key]--; s.n[key] <= 0 {
				delete(s.n, key)
			}
		})
	}, nil
}
