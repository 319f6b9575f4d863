package desk

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/time/rate"
)

// Entry is one line of the audit log: who changed what, when, and the
// object before and after (JSON; empty for a creation or a deletion).
type Entry struct {
	ID       uint64    `json:"id"`
	At       time.Time `json:"at"`
	ActorID  uint64    `json:"actor_id"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"` // "create", "update", "delete"
	Kind     string    `json:"kind"`   // "channel", "team", ...
	ObjectID uint64    `json:"object_id"`
	Object   string    `json:"object"` // the object's name when it changed
	Before   string    `json:"before,omitempty"`
	After    string    `json:"after,omitempty"`
	// Source is the client address of an account entry (a sign-in).
	Source string `json:"source,omitempty"`
	// Note says more in words: the second factor of a sign-in, how many
	// failed sign-ins were too many to list one by one.
	Note string `json:"note,omitempty"`
}

// KindAccount is the kind of the audit entries about accounts: sign-ins,
// failed sign-ins, sign-outs, and accounts disabled, enabled or deleted.
const KindAccount = "account"

// AccountRecord is an account event to put in the audit log.
type AccountRecord struct {
	Action string // "sign-in", "sign-in-failed", "sign-out", "disable", ...
	// By did it; zero for a sign-in or failure (done as the account).
	By     Actor
	UserID uint64 // the account; 0 for a failed sign-in with an unknown name
	Name   string // its username
	Source string
	Note   string
}

// Failed sign-ins are itemized at a bounded rate, so a spray from many
// addresses cannot fill the disk through the audit log: beyond it they are
// counted, and the count goes in the next one listed.
const (
	failedBurst = 60
	failedEvery = time.Second
)

// failedLimiter bounds the failed sign-ins listed in the audit log.
type failedLimiter struct {
	mu      sync.Mutex
	lim     *rate.Limiter
	skipped int
}

// admit reports whether a failed sign-in at now is listed, and how many
// were left out before it.
func (l *failedLimiter) admit(now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.lim.AllowN(now, 1) {
		l.skipped++
		return false, 0
	}
	n := l.skipped
	l.skipped = 0
	return true, n
}

// RecordAccount appends an account event to the audit log; it returns once
// the entry committed. Failed sign-ins beyond a box-wide rate (a burst of
// 60, then one a second) are counted instead of listed, and the next one
// listed says how many were left out.
func (s *Service) RecordAccount(ctx context.Context, r AccountRecord) error {
	if r.Action == "sign-in-failed" {
		ok, skipped := s.failed.admit(s.now())
		if !ok {
			return nil
		}
		if skipped > 0 {
			r.Note = strings.TrimSpace(r.Note + fmt.Sprintf(" %d more failed sign-ins before this one were not listed.", skipped))
		}
	}
	by := r.By
	if by.UserID == 0 {
		by = Actor{UserID: r.UserID, Name: r.Name}
	}
	name := r.Name
	if r.UserID == 0 {
		name = "(no such account)"
	}
	return s.db.Update(ctx, func(tx *bolt.Tx) error {
		e := Entry{At: s.now().UTC(), ActorID: by.UserID, Actor: by.Name, Action: r.Action, Kind: KindAccount,
			ObjectID: r.UserID, Object: name, Source: r.Source, Note: r.Note}
		if e.Actor == "" {
			e.Actor = name
		}
		var err error
		if e.ID, err = nextID(tx, bAudit); err != nil {
			return err
		}
		return put(tx, bAudit, e.ID, e)
	})
}

// KindSSO is the audit kind of single sign-on settings.
const KindSSO = "sso"

// RecordSetting records a change of settings another package keeps (single
// sign-on) as kind; it returns once the entry committed. Only
// administrators or people who may manage sites change them; the caller
// checked which.
func (s *Service) RecordSetting(ctx context.Context, a Actor, kind string, id uint64, name string, before, after any) error {
	return s.db.Update(ctx, func(tx *bolt.Tx) error { return s.audit(tx, a, "update", kind, id, name, before, after) })
}

// audit appends an entry in tx, the transaction of the change itself.
func (s *Service) audit(tx *bolt.Tx, a Actor, action, kind string, id uint64, name string, before, after any) error {
	e := Entry{At: s.now().UTC(), ActorID: a.UserID, Actor: a.Name, Action: action, Kind: kind, ObjectID: id, Object: name}
	if before != nil {
		b, _ := json.Marshal(before)
		e.Before = string(b)
	}
	if after != nil {
		b, _ := json.Marshal(after)
		e.After = string(b)
	}
	var err error
	if e.ID, err = nextID(tx, bAudit); err != nil {
		return err
	}
	return put(tx, bAudit, e.ID, e)
}

// AuditFilter narrows the audit log; zero fields match everything.
type AuditFilter struct {
	Kind, Actor, Text string
	From, To          time.Time
	Limit             int
}

// Audit returns the newest entries first that match f.
func (s *Service) Audit(ctx context.Context, a Actor, f AuditFilter) ([]Entry, error) {
	if err := Authorize(a, ActViewAudit, Scope{}); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 200
	}
	text := strings.ToLower(f.Text)
	var out []Entry
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		c := root(tx, bAudit).Cursor()
		for k, raw := c.Last(); k != nil && len(out) < f.Limit; k, raw = c.Prev() {
			var e Entry
			if err := json.Unmarshal(raw, &e); err != nil {
				return err
			}
			switch {
			case f.Kind != "" && e.Kind != f.Kind,
				f.Actor != "" && !strings.EqualFold(e.Actor, f.Actor),
				!f.From.IsZero() && e.At.Before(f.From),
				!f.To.IsZero() && !e.At.Before(f.To),
				text != "" && !strings.Contains(strings.ToLower(e.Object+" "+e.Before+" "+e.After), text):
				continue
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}
