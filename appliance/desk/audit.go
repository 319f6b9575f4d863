package desk

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
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
