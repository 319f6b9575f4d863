package auth

import (
	"slices"
	"sync"
	"time"
)

// Settings of the record of sign-in attacks.
const (
	attackFailures = 10             // failures on one account before it is shown
	attackSources  = 3              // from at least this many sources
	attackForget   = 24 * time.Hour // quiet this long and it is dropped
	attackAccounts = 1000           // accounts remembered
	attackSrcKept  = 256            // distinct sources counted per account
)

// An Attack is a run of wrong passwords on one account from several sources,
// as admins see it on the dashboard. A right password does not end it: the
// account's owner signing in says nothing about who else is trying.
type Attack struct {
	Realm    Realm
	Username string
	Failures int // wrong passwords since First
	Sources  int // distinct sources (IPv6 by /64), counted up to 256
	First    time.Time
	Last     time.Time
}

// attacks keeps the recent failures per account, in memory.
type attacks struct {
	now  func() time.Time
	mu   sync.Mutex
	runs map[string]*attackRun
}

type attackRun struct {
	Attack
	sources map[string]struct{}
}

func newAttacks(now func() time.Time) *attacks {
	return &attacks{now: now, runs: make(map[string]*attackRun)}
}

// failed records a wrong password for name in realm from the source key src.
func (a *attacks) failed(realm Realm, name, src string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	k := accountKey(realm, name)
	r, ok := a.runs[k]
	if ok && now.Sub(r.Last) >= attackForget {
		ok = false
	}
	if !ok {
		if len(a.runs) >= attackAccounts {
			a.pruneLocked(now)
		}
		r = &attackRun{Attack: Attack{Realm: realm, Username: name, First: now}, sources: make(map[string]struct{})}
		a.runs[k] = r
	}
	r.Failures++
	r.Last = now
	if _, seen := r.sources[src]; !seen && len(r.sources) < attackSrcKept {
		r.sources[src] = struct{}{}
		r.Sources = len(r.sources)
	}
}

// pruneLocked drops quiet runs, and the quietest half if all are recent.
func (a *attacks) pruneLocked(now time.Time) {
	for k, r := range a.runs {
		if now.Sub(r.Last) >= attackForget {
			delete(a.runs, k)
		}
	}
	if len(a.runs) < attackAccounts {
		return
	}
	runs := make([]*attackRun, 0, len(a.runs))
	for _, r := range a.runs {
		runs = append(runs, r)
	}
	slices.SortFunc(runs, func(x, y *attackRun) int { return x.Last.Compare(y.Last) })
	for _, r := range runs[:len(runs)/2] {
		delete(a.runs, accountKey(r.Realm, r.Username))
	}
}

// SignInAttacks returns the accounts of realm that saw at least 10 wrong
// passwords from at least 3 sources and were tried within the last day, the
// most recent first. The record is in memory: a restart clears it.
func (s *Service) SignInAttacks(realm Realm) []Attack {
	a := s.attacks
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	var out []Attack
	for _, r := range a.runs {
		if r.Realm == realm && r.Failures >= attackFailures && r.Sources >= attackSources && now.Sub(r.Last) < attackForget {
			out = append(out, r.Attack)
		}
	}
	slices.SortFunc(out, func(x, y Attack) int { return y.Last.Compare(x.Last) })
	return out
}
