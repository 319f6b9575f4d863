package desk

import (
	"context"
	"errors"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboardhq/switchboard/appliance/bus"
)

// CustomerArrived marks a waiting session ready: the customer opened it.
func (s *Service) CustomerArrived(ctx context.Context, id uint64) (Session, error) {
	return s.change(ctx, id, bus.SessionReady, func(tx *bolt.Tx, ss *Session) (TrailEntry, error) {
		if ss.Status != Waiting {
			return TrailEntry{}, ErrState
		}
		ss.Status, ss.ReadyAt = Ready, s.now().UTC()
		exp, err := s.queueExpiry(tx, ss.Queue)
		if err != nil {
			return TrailEntry{}, err
		}
		if e := ss.ReadyAt.Add(exp); e.Before(ss.Expires) || ss.Expires.IsZero() {
			ss.Expires = e
		}
		return TrailEntry{Event: "ready", Actor: "customer"}, nil
	})
}

// CustomerAgreed records that the customer accepted the site's agreement.
func (s *Service) CustomerAgreed(ctx context.Context, id uint64) (Session, error) {
	return s.change(ctx, id, bus.SessionAgreed, func(tx *bolt.Tx, ss *Session) (TrailEntry, error) {
		if !ss.Open() || !ss.AgreedAt.IsZero() {
			return TrailEntry{}, ErrState
		}
		ss.AgreedAt = s.now().UTC()
		return TrailEntry{Event: "agreed", Actor: "customer"}, nil
	})
}

// mayAccept reports whether a may take ss from its queue.
func mayAccept(a Actor, ss Session) bool {
	switch ss.Queue.Kind {
	case QueueTechnician:
		return ss.Queue.ID == a.UserID || Can(a, ActSupervise, Scope{}) && (a.Role == RoleAdmin || a.Role == RoleTechManager)
	case QueueChannel:
		return Can(a, ActTakeFromChannel, Scope{Channel: ss.Queue.ID}) || Can(a, ActSupervise, Scope{Channel: ss.Queue.ID})
	}
	return false
}

// Accept makes a the owner of a ready session: it becomes active.
func (s *Service) Accept(ctx context.Context, a Actor, id uint64) (Session, error) {
	return s.change(ctx, id, bus.SessionActive, func(tx *bolt.Tx, ss *Session) (TrailEntry, error) {
		if ss.Status != Ready {
			return TrailEntry{}, ErrState
		}
		if !mayAccept(a, *ss) {
			return TrailEntry{}, ErrForbidden
		}
		if ss.AgreementRequired && ss.AgreedAt.IsZero() {
			return TrailEntry{}, ErrAwaitingAgreement
		}
		ss.Status, ss.Owner, ss.AcceptedAt = Active, a.UserID, s.now().UTC()
		if err := readChat(tx, ss); err != nil {
			return TrailEntry{}, err
		}
		return TrailEntry{Event: "accepted", Actor: a.Name, ActorID: a.UserID}, nil
	})
}

// Next accepts the oldest ready session a may take, personal queue first.
// It returns ErrNotFound when nothing waits.
func (s *Service) Next(ctx context.Context, a Actor) (Session, error) {
	queues, err := s.Queues(ctx, a)
	if err != nil {
		return Session{}, err
	}
	for _, q := range queues {
		for _, ss := range q.Sessions {
			if ss.Status != Ready || !mayAccept(a, ss) {
				continue
			}
			got, err := s.Accept(ctx, a, ss.ID)
			if errors.Is(err, ErrState) {
				continue // someone else was faster, or the customer has not agreed yet
			}
			return got, err
		}
	}
	return Session{}, fmt.Errorf("no session waits for you: %w", ErrNotFound)
}

// mayWork reports whether a may act on an accepted session as its owner.
func mayWork(a Actor, ss Session) bool {
	ch := uint64(0)
	if ss.Queue.Kind == QueueChannel {
		ch = ss.Queue.ID
	}
	return Can(a, ActWorkSession, Scope{Owner: ss.Owner, Channel: ch})
}

// Close ends a session on a technician's behalf.
func (s *Service) Close(ctx context.Context, a Actor, id uint64) (Session, error) {
	return s.change(ctx, id, bus.SessionClosed, func(tx *bolt.Tx, ss *Session) (TrailEntry, error) {
		if !ss.Open() {
			return TrailEntry{}, ErrState
		}
		if !mayWork(a, *ss) && !(ss.Status != Active && mayAccept(a, *ss)) {
			return TrailEntry{}, ErrForbidden
		}
		ss.Status, ss.EndedAt = Closed, s.now().UTC()
		return TrailEntry{Event: "closed", Actor: a.Name, ActorID: a.UserID}, nil
	})
}

// CustomerLeft ends a session because the customer left.
func (s *Service) CustomerLeft(ctx context.Context, id uint64) (Session, error) {
	return s.change(ctx, id, bus.SessionClosed, func(tx *bolt.Tx, ss *Session) (TrailEntry, error) {
		if !ss.Open() {
			return TrailEntry{}, ErrState
		}
		ss.Status, ss.EndedAt = Closed, s.now().UTC()
		return TrailEntry{Event: "closed", Actor: "customer", Note: "the customer left"}, nil
	})
}

// Transfer moves a session to another technician's or channel's queue,
// where it waits (ready) for that side to accept it.
func (s *Service) Transfer(ctx context.Context, a Actor, id uint64, to Queue, note string) (Session, error) {
	perm := PermTransferTech
	if to.Kind == QueueChannel {
		perm = PermTransferChannel
	}
	if err := Authorize(a, ActUsePerm, Scope{Perm: perm}); err != nil {
		return Session{}, err
	}
	if len(note) > 1000 {
		return Session{}, &FieldError{"note", "Keep the note under 1000 characters."}
	}
	return s.change(ctx, id, bus.SessionTransferred, func(tx *bolt.Tx, ss *Session) (TrailEntry, error) {
		if ss.Status != Active && ss.Status != Ready {
			return TrailEntry{}, ErrState
		}
		if ss.Status == Active && !mayWork(a, *ss) || ss.Status == Ready && !mayAccept(a, *ss) {
			return TrailEntry{}, ErrForbidden
		}
		if to == ss.Queue && ss.Status == Ready {
			return TrailEntry{}, &FieldError{"to", "The session is already in that queue."}
		}
		switch to.Kind {
		case QueueTechnician:
			if root(tx, bTechs).Get(idKey(to.ID)) == nil {
				return TrailEntry{}, &FieldError{"to", "That technician does not exist."}
			}
		case QueueChannel:
			if root(tx, bChannels).Get(idKey(to.ID)) == nil {
				return TrailEntry{}, &FieldError{"to", "That channel does not exist."}
			}
		default:
			return TrailEntry{}, &FieldError{"to", "Choose a technician or a channel."}
		}
		exp, err := s.queueExpiry(tx, to)
		if err != nil {
			return TrailEntry{}, err
		}
		ss.Queue, ss.Status, ss.Owner, ss.Collaborators = to, Ready, 0, nil
		ss.Expires = s.now().UTC().Add(exp)
		return TrailEntry{Event: "transferred", Actor: a.Name, ActorID: a.UserID, Note: fmt.Sprintf("to %s %d: %s", to.Kind, to.ID, note)}, nil
	})
}

// Invite adds technician user as a collaborator of an active session; the
// owner stays the owner.
func (s *Service) Invite(ctx context.Context, a Actor, id, user uint64) (Session, error) {
	if err := Authorize(a, ActUsePerm, Scope{Perm: PermInvite}); err != nil {
		return Session{}, err
	}
	return s.change(ctx, id, bus.SessionInvited, func(tx *bolt.Tx, ss *Session) (TrailEntry, error) {
		if ss.Status != Active {
			return TrailEntry{}, ErrState
		}
		if !mayWork(a, *ss) {
			return TrailEntry{}, ErrForbidden
		}
		if user == ss.Owner || slices.Contains(ss.Collaborators, user) {
			return TrailEntry{}, &FieldError{"user", "That technician is already in the session."}
		}
		if root(tx, bTechs).Get(idKey(user)) == nil {
			return TrailEntry{}, &FieldError{"user", "That technician does not exist."}
		}
		ss.Collaborators = append(ss.Collaborators, user)
		return TrailEntry{Event: "invited", Actor: a.Name, ActorID: a.UserID, Note: fmt.Sprintf("technician %d", user)}, nil
	})
}

// Leave takes collaborator a out of a session.
func (s *Service) Leave(ctx context.Context, a Actor, id uint64) (Session, error) {
	return s.change(ctx, id, bus.SessionLeft, func(tx *bolt.Tx, ss *Session) (TrailEntry, error) {
		if !slices.Contains(ss.Collaborators, a.UserID) {
			return TrailEntry{}, ErrState
		}
		ss.Collaborators = without(ss.Collaborators, a.UserID)
		return TrailEntry{Event: "left", Actor: a.Name, ActorID: a.UserID}, nil
	})
}

// ExpireDue expires every waiting or ready session whose time is up and
// returns how many it expired. Run it periodically.
func (s *Service) ExpireDue(ctx context.Context) (int, error) {
	now := s.now().UTC()
	var due []uint64
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		for _, parent := range [][]byte{bChannelSessions, bTechSessions} {
			err := root(tx, parent).ForEachBucket(func(q []byte) error {
				return root(tx, parent).Bucket(q).ForEach(func(k, _ []byte) error {
					var ss Session
					if err := get(tx, bSessionsData, beUint(k), &ss); err != nil {
						return err
					}
					if (ss.Status == Waiting || ss.Status == Ready) && !now.Before(ss.Expires) {
						due = append(due, ss.ID)
					}
					return nil
				})
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range due {
		_, err := s.change(ctx, id, bus.SessionExpired, func(tx *bolt.Tx, ss *Session) (TrailEntry, error) {
			if ss.Status != Waiting && ss.Status != Ready || now.Before(ss.Expires) {
				return TrailEntry{}, ErrState
			}
			ss.Status, ss.EndedAt = Expired, now
			return TrailEntry{Event: "expired"}, nil
		})
		if err == nil {
			n++
		} else if err != ErrState {
			return n, err
		}
	}
	return n, nil
}
