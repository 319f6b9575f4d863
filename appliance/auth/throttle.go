package auth

import (
	"container/list"
	"strings"
	"sync"
	"time"
)

// Throttle settings used by the Service.
const (
	throttleFree   = 3                // failures on a key before attempts are delayed
	throttleBase   = time.Second      // delay after the first delayed failure
	throttleMax    = 15 * time.Minute // longest delay
	throttleForget = 24 * time.Hour   // failures older than this are forgotten
	throttleLimit  = 100_000          // keys remembered; the least recently touched go first
)

// An outcome ends an attempt reserved with throttle.begin.
type outcome int

const (
	abandoned outcome = iota // neither right nor wrong (cancelled, store error)
	failed                   // wrong credentials or code
	succeeded                // right credentials or code
)

// throttle delays sign-in attempts after repeated failures, in memory. An
// attempt names a few keys (see signin.go): account keys, cleared by a
// success, and a source key (the client's address, prefix "src"), only halved
// by a success so one good sign-in from a shared address does not wipe out a
// spray of bad ones.
//
// After free consecutive failures on a key, each further attempt must wait
// base after the last failure, doubling per further failure up to max.
// Attempts still in progress count as failures when deciding whether another
// may start, so a burst of parallel guesses cannot all slip in before the
// first is judged.
type throttle struct {
	now    func() time.Time
	free   int
	base   time.Duration
	max    time.Duration
	forget time.Duration
	limit  int

	mu      sync.Mutex
	entries map[string]*list.Element // of *throttleEntry
	lru     *list.List               // front: most recently touched
}

type throttleEntry struct {
	key      string
	failures int       // consecutive failures
	inflight int       // attempts begun and not yet ended
	last     time.Time // the latest failure
}

func newThrottle(now func() time.Time, limit int) *throttle {
	return &throttle{
		now:     now,
		free:    throttleFree,
		base:    throttleBase,
		max:     throttleMax,
		forget:  throttleForget,
		limit:   limit,
		entries: make(map[string]*list.Element),
		lru:     list.New(),
	}
}

// delay is how long after the last of n failures the next attempt must wait.
func (t *throttle) delay(n int) time.Duration {
	if n < t.free {
		return 0
	}
	d := t.base
	for i := t.free; i < n; i++ {
		d *= 2
		if d >= t.max {
			return t.max
		}
	}
	return min(d, t.max)
}

// halvedOnSuccess reports whether a success only halves k's failures.
func halvedOnSuccess(k string) bool { return strings.HasPrefix(k, srcPrefix) }

// begin reserves an attempt on keys; an empty key is not counted. It returns
// 0 once reserved, or how long to wait, reserving nothing. Every reservation
// must be ended with end on the same keys.
func (t *throttle) begin(keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	var wait time.Duration
	for _, k := range keys {
		if k != "" {
			wait = max(wait, t.waitLocked(k, now))
		}
	}
	if wait > 0 {
		return wait
	}
	for _, k := range keys {
		if k != "" {
			t.entryLocked(k, now).inflight++
		}
	}
	return 0
}

// end records the outcome of an attempt reserved by begin.
func (t *throttle) end(o outcome, keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, k := range keys {
		if k == "" {
			continue
		}
		var e *throttleEntry
		if el, ok := t.entries[k]; ok {
			e = el.Value.(*throttleEntry)
		} else if o == failed {
			e = t.entryLocked(k, now) // evicted meanwhile: start again
			e.inflight++
		} else {
			continue
		}
		if e.inflight > 0 {
			e.inflight--
		}
		switch o {
		case failed:
			e.failures++
			e.last = now
			t.lru.MoveToFront(t.entries[k])
		case succeeded:
			if halvedOnSuccess(k) {
				e.failures /= 2
			} else {
				e.failures = 0
			}
		}
		if e.failures == 0 && e.inflight == 0 {
			t.removeLocked(k)
		}
	}
}

// waitLocked is how long an attempt on k must wait now.
func (t *throttle) waitLocked(k string, now time.Time) time.Duration {
	el, ok := t.entries[k]
	if !ok {
		return 0
	}
	e := el.Value.(*throttleEntry)
	if e.inflight == 0 && now.Sub(e.last) >= t.forget {
		t.removeLocked(k)
		return 0
	}
	var wait time.Duration
	if e.failures >= t.free {
		wait = e.last.Add(t.delay(e.failures)).Sub(now)
	}
	if e.inflight > 0 && e.failures+e.inflight >= t.free {
		wait = max(wait, t.base)
	}
	return max(wait, 0)
}

// entryLocked returns k's entry, making room for it if it is new.
func (t *throttle) entryLocked(k string, now time.Time) *throttleEntry {
	if el, ok := t.entries[k]; ok {
		t.lru.MoveToFront(el)
		return el.Value.(*throttleEntry)
	}
	for t.lru.Len() >= t.limit && t.lru.Len() > 0 {
		// The back is the least recently touched entry: forgotten or not,
		// it is the one to let go.
		t.removeLocked(t.lru.Back().Value.(*throttleEntry).key)
	}
	e := &throttleEntry{key: k}
	t.entries[k] = t.lru.PushFront(e)
	return e
}

func (t *throttle) removeLocked(k string) {
	if el, ok := t.entries[k]; ok {
		t.lru.Remove(el)
		delete(t.entries, k)
	}
}

// size is the number of keys remembered.
func (t *throttle) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}
