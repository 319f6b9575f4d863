package desk

import (
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A Presentation is a technician showing their screen to attendees, who
// join with its 9-digit key on the public site or open its link. The desk
// keeps who presents and until when, and the key and link only as keyed
// hashes; the media go through the WebRTC gateway's room for its ID.
type Presentation struct {
	ID         uint64    `json:"id"`
	Technician uint64    `json:"technician"`
	Name       string    `json:"name"` // the presenter's public name
	Started    time.Time `json:"started"`
	Expires    time.Time `json:"expires"`
	KeyHash    []byte    `json:"key_hash"`
	LinkHash   []byte    `json:"link_hash"`
}

// MaxPresentation ends presentations nobody stopped.
const MaxPresentation = 12 * time.Hour

const (
	purposePresentKey  = "desk-presentation-key"
	purposePresentLink = "desk-presentation-link"
)

// ErrNoPresentation is the answer for a presentation that is not running:
// ended, expired, never started, or another technician's.
var ErrNoPresentation = fmt.Errorf("presentation: %w", ErrNotFound)

// StartPresentation starts a presentation by a (who may start sessions),
// ending a's earlier one and every expired one. It returns the
// presentation, its key and link token (shown once), and the ids of the
// presentations it ended, whose rooms the caller closes.
func (s *Service) StartPresentation(ctx context.Context, a Actor) (p Presentation, key, link string, ended []uint64, err error) {
	if err := Authorize(a, ActUsePerm, Scope{Perm: PermStartSessions}); err != nil {
		return Presentation{}, "", "", nil, err
	}
	now := s.now().UTC()
	err = s.db.Update(ctx, func(tx *bolt.Tx) error {
		ended = ended[:0]
		shows, err := all[Presentation](tx, bPresent)
		if err != nil {
			return err
		}
		for _, o := range shows {
			if o.Technician == a.UserID || !now.Before(o.Expires) {
				if err := dropPresentation(tx, o); err != nil {
					return err
				}
				ended = append(ended, o.ID)
			}
		}
		for {
			key = RandomKey()
			if root(tx, bPresentKeys).Get(s.keyed(purposePresentKey, key)) == nil {
				break // a live key is never given twice
			}
		}
		link = newToken()
		p = Presentation{Technician: a.UserID, Name: a.Public(), Started: now, Expires: now.Add(MaxPresentation),
			KeyHash: s.keyed(purposePresentKey, key), LinkHash: s.keyed(purposePresentLink, link)}
		if p.ID, err = nextID(tx, bPresent); err != nil {
			return err
		}
		for _, h := range [][]byte{p.KeyHash, p.LinkHash} {
			if err := root(tx, bPresentKeys).Put(h, idKey(p.ID)); err != nil {
				return err
			}
		}
		return put(tx, bPresent, p.ID, p)
	})
	if err != nil {
		return Presentation{}, "", "", nil, err
	}
	return p, key, link, ended, nil
}

func dropPresentation(tx *bolt.Tx, p Presentation) error {
	for _, h := range [][]byte{p.KeyHash, p.LinkHash} {
		if err := root(tx, bPresentKeys).Delete(h); err != nil {
			return err
		}
	}
	return root(tx, bPresent).Delete(idKey(p.ID))
}

// PresentationFor returns the running presentation that code opens: a
// 9-digit key as typed ("123 456 789") or a link token.
func (s *Service) PresentationFor(ctx context.Context, code string) (Presentation, error) {
	h := s.keyed(purposePresentLink, code)
	if digits, ok := NormalizeKey(code); ok {
		h = s.keyed(purposePresentKey, digits)
	}
	var p Presentation
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		v := root(tx, bPresentKeys).Get(h)
		if len(v) != 8 {
			return ErrNoPresentation
		}
		return get(tx, bPresent, beUint(v), &p)
	})
	if errors.Is(err, ErrNotFound) || err == nil && !s.now().Before(p.Expires) {
		return Presentation{}, ErrNoPresentation
	}
	return p, err
}

// PresentationOf returns presentation id if it is running and a's.
func (s *Service) PresentationOf(ctx context.Context, a Actor, id uint64) (Presentation, error) {
	var p Presentation
	err := s.db.View(ctx, func(tx *bolt.Tx) error { return get(tx, bPresent, id, &p) })
	if errors.Is(err, ErrNotFound) || err == nil && (p.Technician != a.UserID || !s.now().Before(p.Expires)) {
		return Presentation{}, ErrNoPresentation
	}
	return p, err
}

// EndPresentation ends a's presentation id: its key and link stop working.
func (s *Service) EndPresentation(ctx context.Context, a Actor, id uint64) error {
	return s.db.Update(ctx, func(tx *bolt.Tx) error {
		var p Presentation
		if err := get(tx, bPresent, id, &p); err != nil || p.Technician != a.UserID {
			return ErrNoPresentation
		}
		return dropPresentation(tx, p)
	})
}
