package desk

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboardhq/switchboard/appliance/bus"
)

// Rights is what a technician may do with the customer's computer in one
// session. The customer is asked on top of it: a right only lets the
// technician ask.
type Rights struct {
	View    bool `json:"view"`    // see the screen (owner or collaborator of an active session)
	Control bool `json:"control"` // send input and clipboard text while holding control (PermControl)
	Files   bool `json:"files"`   // send and receive files (PermFileTransfer)
}

// RightsIn is what a may do with the customer's computer in ss. The relay
// enforces it on every frame, the console shows a view-only viewer without
// Control, and hand-over refuses technicians without it.
func RightsIn(a Actor, ss Session) Rights {
	if ss.Status != Active || !InSession(a.UserID, ss) {
		return Rights{}
	}
	return Rights{View: true, Control: a.Perms[PermControl], Files: a.Perms[PermFileTransfer]}
}

// ErrNoControlRight refuses control to a technician whose permissions are
// view only.
var ErrNoControlRight = fmt.Errorf("that technician's permissions are view only: %w", ErrForbidden)

// permsOf returns the permissions stored for technician id (its role's
// defaults when none are stored). tx is a read transaction.
func permsOf(tx *bolt.Tx, id uint64) (map[Perm]bool, string, error) {
	var t Technician
	if err := get(tx, bTechs, id, &t); err != nil {
		return nil, "", err
	}
	if t.Perms == nil {
		return RoleDefaults(t.Role), t.PrivateName, nil
	}
	return t.Perms, t.PrivateName, nil
}

// DefaultController is who controls ss when nobody handed control on: its
// owner, if the owner's permissions allow control, and otherwise nobody.
func (s *Service) DefaultController(ctx context.Context, ss Session) uint64 {
	if ss.Owner == 0 {
		return 0
	}
	var ok bool
	s.db.View(ctx, func(tx *bolt.Tx) error {
		perms, _, err := permsOf(tx, ss.Owner)
		ok = err == nil && perms[PermControl]
		return nil
	})
	if !ok {
		return 0
	}
	return ss.Owner
}

// HandControl records that a, the owner of active session id, hands control
// of the customer's screen to technician to (0: nobody, view only for all).
// to must work in the session and have the remote-control permission. The
// caller then tells the relay, which alone holds who controls.
func (s *Service) HandControl(ctx context.Context, a Actor, id, to uint64) (Session, error) {
	return s.change(ctx, id, bus.SessionControl, func(tx *bolt.Tx, ss *Session) (TrailEntry, error) {
		if ss.Status != Active {
			return TrailEntry{}, ErrState
		}
		if ss.Owner != a.UserID {
			return TrailEntry{}, fmt.Errorf("only the session's owner hands control on: %w", ErrForbidden)
		}
		note, forName := "to nobody (view only)", ""
		if to != 0 {
			if !InSession(to, *ss) {
				return TrailEntry{}, &FieldError{"viewer", "That technician is not in this session. Invite them first."}
			}
			perms, name, err := permsOf(tx, to)
			if err != nil {
				return TrailEntry{}, &FieldError{"viewer", "That technician does not exist."}
			}
			if !perms[PermControl] {
				return TrailEntry{}, ErrNoControlRight
			}
			note, forName = fmt.Sprintf("to %s (technician %d)", name, to), name
		}
		return TrailEntry{Event: "control-handed", Actor: a.Name, ActorID: a.UserID, Note: note, For: forName, ForID: to}, nil
	})
}
