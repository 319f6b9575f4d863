package desk

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// HistoryFilter narrows the history of finished sessions; zero fields match
// everything.
type HistoryFilter struct {
	// Customer matches part of the customer's name or company, in any case.
	Customer string
	// Technician matches sessions the technician owned, collaborated on or
	// that were in its personal queue.
	Technician uint64
	// Channel matches sessions that ended in the channel's queue.
	Channel uint64
	// From and To bound when the session started: From <= created < To.
	From, To time.Time
	// Before pages back: only sessions older than this id.
	Before uint64
	// Limit is how many sessions to return (50 by default, at most 500).
	Limit int
}

// historyScan bounds how many sessions one History call reads, so a search
// that matches little cannot read the whole store; the caller pages on.
const historyScan = 20_000

// History returns the closed and expired sessions a may review that match
// f, newest first, and the id to pass as Before for the next page (0 when
// there is none).
func (s *Service) History(ctx context.Context, a Actor, f HistoryFilter) ([]Session, uint64, error) {
	if a.UserID == 0 {
		return nil, 0, ErrForbidden
	}
	if f.Limit <= 0 {
		f.Limit = 50
	}
	f.Limit = min(f.Limit, 500)
	text := strings.ToLower(strings.TrimSpace(f.Customer))
	var (
		out  []Session
		next uint64
	)
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		c := root(tx, bSessionsData).Cursor()
		k, v := c.Last()
		if f.Before != 0 {
			k, v = c.Seek(idKey(f.Before))
			if k == nil {
				k, v = c.Last()
			}
			if k != nil && beUint(k) >= f.Before {
				k, v = c.Prev()
			}
		}
		for scanned := 0; k != nil; k, v = c.Prev() {
			if len(out) == f.Limit || scanned == historyScan {
				next = beUint(k) + 1
				return nil
			}
			scanned++
			var ss Session
			if err := decode(v, &ss); err != nil {
				return err
			}
			switch {
			case ss.Open(), !mayReview(a, ss),
				f.Technician != 0 && !involved(ss, f.Technician),
				f.Channel != 0 && ss.Queue != (Queue{QueueChannel, f.Channel}),
				!f.From.IsZero() && ss.Created.Before(f.From),
				!f.To.IsZero() && !ss.Created.Before(f.To),
				text != "" && !strings.Contains(strings.ToLower(ss.Customer.Name+"\x00"+ss.Customer.Company), text):
				continue
			}
			out = append(out, ss)
		}
		return nil
	})
	return out, next, err
}

// Record returns finished session id with its chat transcript, if a may
// review it. An open session gives ErrState: it is not history yet.
func (s *Service) Record(ctx context.Context, a Actor, id uint64) (Session, []Message, error) {
	var ss Session
	err := s.db.View(ctx, func(tx *bolt.Tx) error { return get(tx, bSessionsData, id, &ss) })
	if err != nil {
		return Session{}, nil, err
	}
	if !mayReview(a, ss) {
		return Session{}, nil, ErrForbidden
	}
	if ss.Open() {
		return ss, nil, ErrState
	}
	msgs, err := s.Messages(ctx, id, 0)
	return ss, msgs, err
}

// mayReview reports whether a may look back at ss: a session it took part
// in, or one it supervises (a channel it manages; any session for
// administrators and technician managers).
func mayReview(a Actor, ss Session) bool {
	if a.UserID == 0 {
		return false
	}
	if involved(ss, a.UserID) || a.Role == RoleAdmin || a.Role == RoleTechManager {
		return true
	}
	return ss.Queue.Kind == QueueChannel && Can(a, ActSupervise, Scope{Channel: ss.Queue.ID})
}

// involved reports whether technician id owns ss, collaborates on it, has
// it in its personal queue, or did so earlier according to the trail: it
// acted on the session (accepted, transferred, invited, left, closed,
// claimed, created the link), was invited, or was the target of a transfer.
func involved(ss Session, id uint64) bool {
	if id == 0 {
		return false
	}
	if ss.Owner == id || slices.Contains(ss.Collaborators, id) || ss.Queue == (Queue{QueueTechnician, id}) {
		return true
	}
	invited := fmt.Sprintf("technician %d", id)
	moved := fmt.Sprintf("to %s %d:", QueueTechnician, id)
	for _, te := range ss.Trail {
		switch {
		case te.ActorID == id,
			te.Event == "invited" && te.Note == invited,
			te.Event == "transferred" && strings.HasPrefix(te.Note, moved):
			return true
		}
	}
	return false
}
