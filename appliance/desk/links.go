package desk

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboardhq/switchboard/appliance/bus"
)

// linkRecord is a support link as stored, under its keyed hash.
type linkRecord struct {
	Session uint64 `json:"session"`
	// Customer is the keyed hash of the first browser that redeemed it.
	Customer []byte `json:"customer,omitempty"`
}

// CreateLink makes a support link for q (a's personal queue or a channel it
// serves): a waiting session the customer makes ready by opening the link.
// It returns the session and the link token.
func (s *Service) CreateLink(ctx context.Context, a Actor, q Queue) (Session, string, error) {
	if err := Authorize(a, ActUsePerm, Scope{Perm: PermSupportLinks}); err != nil {
		return Session{}, "", err
	}
	switch {
	case q.Kind == QueueTechnician && q.ID == a.UserID:
	case q.Kind == QueueChannel && slices.Contains(a.Serves, q.ID):
	default:
		return Session{}, "", ErrForbidden
	}
	tok := newToken()
	var ss Session
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		ss = Session{Status: Waiting, Method: MethodLink, Queue: q}
		if err := s.newSession(tx, &ss); err != nil {
			return err
		}
		ss.Trail[len(ss.Trail)-1].Actor, ss.Trail[len(ss.Trail)-1].ActorID = a.Name, a.UserID
		if err := saveSession(tx, ss, nil); err != nil {
			return err
		}
		v, _ := json.Marshal(linkRecord{Session: ss.ID})
		return root(tx, bLinks).Put(s.keyed(purposeLink, tok), v)
	})
	if err != nil {
		return Session{}, "", err
	}
	s.publish(bus.SessionWaiting, ss, sessionSummary(ss))
	return ss, tok, nil
}

// ErrLinkTaken is the answer to a support link opened by a second device.
var ErrLinkTaken = fmt.Errorf("this support link is already in use on another device")

// PeekLink reports on support link tok without redeeming it: its session,
// and whether a browser is bound to it already and whether that is the
// browser holding customer token browser.
func (s *Service) PeekLink(ctx context.Context, tok, browser string) (ss Session, bound, mine bool, err error) {
	h := s.keyed(purposeLink, tok)
	err = s.db.View(ctx, func(tx *bolt.Tx) error {
		raw := root(tx, bLinks).Get(h)
		if raw == nil {
			return fmt.Errorf("support link: %w", ErrNotFound)
		}
		var l linkRecord
		if err := json.Unmarshal(raw, &l); err != nil {
			return err
		}
		bound = l.Customer != nil
		mine = bound && browser != "" && slices.Equal(s.keyed(purposeCustomer, browser), l.Customer)
		return get(tx, bSessionsData, l.Session, &ss)
	})
	return ss, bound, mine, err
}

// RedeemLink opens support link tok on site for the browser holding
// customer token browser (empty on its first visit). The first browser is
// bound to the link; it gets the customer token it must keep, and the
// session takes the site's rules: its agreement must be accepted before a
// technician can accept the session. A closed or expired session is
// returned as it is, for the page to say it has ended.
func (s *Service) RedeemLink(ctx context.Context, site Site, tok, browser string) (Session, string, error) {
	h := s.keyed(purposeLink, tok)
	var (
		ss     Session
		issued string
	)
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		raw := root(tx, bLinks).Get(h)
		if raw == nil {
			return fmt.Errorf("support link: %w", ErrNotFound)
		}
		var l linkRecord
		if err := json.Unmarshal(raw, &l); err != nil {
			return err
		}
		if err := get(tx, bSessionsData, l.Session, &ss); err != nil {
			return err
		}
		if l.Customer != nil {
			if browser == "" || !slices.Equal(s.keyed(purposeCustomer, browser), l.Customer) {
				return ErrLinkTaken
			}
			issued = browser
			return nil
		}
		if !ss.Open() {
			return nil
		}
		var err error
		if issued, err = s.bindCustomer(tx, &ss); err != nil {
			return err
		}
		l.Customer = ss.CustomerHash
		ss.Site, ss.AgreementRequired = site.ID, site.Agreement != ""
		v, _ := json.Marshal(l)
		if err := root(tx, bLinks).Put(h, v); err != nil {
			return err
		}
		return put(tx, bSessionsData, ss.ID, ss)
	})
	if err != nil {
		return Session{}, "", err
	}
	if ss.Status == Waiting {
		ss, err = s.CustomerArrived(ctx, ss.ID)
	}
	return ss, issued, err
}

// SOSLink is a reusable per-channel request link.
type SOSLink struct {
	ID      uint64    `json:"id"`
	Channel uint64    `json:"channel"`
	Label   string    `json:"label"`
	Paused  bool      `json:"paused,omitempty"`
	Created time.Time `json:"created"`
	// Token is only filled when the link is created; the store keeps its
	// keyed hash.
	Token string `json:"-"`
	Hash  []byte `json:"hash"`
}

// CreateSOS makes a reusable SOS Call link for channel ch.
func (s *Service) CreateSOS(ctx context.Context, a Actor, ch uint64, label string) (SOSLink, error) {
	if err := Authorize(a, ActUsePerm, Scope{Perm: PermSOSLinks}); err != nil {
		return SOSLink{}, err
	}
	if !slices.Contains(a.Serves, ch) && !Can(a, ActEditChannel, Scope{Channel: ch}) {
		return SOSLink{}, ErrForbidden
	}
	var fe FieldErrors
	checkName(&fe, "label", label)
	if err := fe.err(); err != nil {
		return SOSLink{}, err
	}
	l := SOSLink{Channel: ch, Label: label, Created: s.now().UTC(), Token: newToken()}
	l.Hash = s.keyed(purposeSOS, l.Token)
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		if root(tx, bChannels).Get(idKey(ch)) == nil {
			return &FieldError{"channel", "That channel does not exist."}
		}
		var err error
		if l.ID, err = nextID(tx, bSOS); err != nil {
			return err
		}
		return put(tx, bSOS, l.ID, l)
	})
	return l, err
}

// SOSLinks returns the SOS Call links of the channels a serves or manages.
func (s *Service) SOSLinks(ctx context.Context, a Actor) ([]SOSLink, error) {
	var out []SOSLink
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		links, err := all[SOSLink](tx, bSOS)
		for _, l := range links {
			if slices.Contains(a.Serves, l.Channel) || Can(a, ActEditChannel, Scope{Channel: l.Channel}) {
				out = append(out, l)
			}
		}
		return err
	})
	return out, err
}

// SetSOSPaused pauses or resumes SOS link id; DeleteSOS deletes it.
func (s *Service) SetSOSPaused(ctx context.Context, a Actor, id uint64, paused bool) error {
	return s.changeSOS(ctx, a, id, func(tx *bolt.Tx, l *SOSLink) error {
		l.Paused = paused
		return put(tx, bSOS, l.ID, l)
	})
}

// DeleteSOS deletes SOS link id; its URL stops working.
func (s *Service) DeleteSOS(ctx context.Context, a Actor, id uint64) error {
	return s.changeSOS(ctx, a, id, func(tx *bolt.Tx, l *SOSLink) error {
		return root(tx, bSOS).Delete(idKey(l.ID))
	})
}

func (s *Service) changeSOS(ctx context.Context, a Actor, id uint64, fn func(*bolt.Tx, *SOSLink) error) error {
	if err := Authorize(a, ActUsePerm, Scope{Perm: PermSOSLinks}); err != nil {
		return err
	}
	return s.db.Update(ctx, func(tx *bolt.Tx) error {
		var l SOSLink
		if err := get(tx, bSOS, id, &l); err != nil {
			return err
		}
		if !slices.Contains(a.Serves, l.Channel) && !Can(a, ActEditChannel, Scope{Channel: l.Channel}) {
			return ErrForbidden
		}
		return fn(tx, &l)
	})
}

// SOSByToken returns the SOS Call link with token tok.
func (s *Service) SOSByToken(ctx context.Context, tok string) (SOSLink, error) {
	h := s.keyed(purposeSOS, tok)
	var found SOSLink
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		links, err := all[SOSLink](tx, bSOS)
		if err != nil {
			return err
		}
		for _, l := range links {
			if slices.Equal(l.Hash, h) {
				found = l
				return nil
			}
		}
		return fmt.Errorf("SOS link: %w", ErrNotFound)
	})
	return found, err
}

// ErrSOSPaused is the answer to a paused SOS Call link.
var ErrSOSPaused = fmt.Errorf("this help link is paused for now; try again later or contact your help desk another way")

// StartSOS starts a session in the channel of SOS link tok.
func (s *Service) StartSOS(ctx context.Context, site Site, tok string, c Customer) (Session, string, error) {
	if err := CheckCustomer(Site{AskName: true}, &c); err != nil {
		return Session{}, "", err
	}
	h := s.keyed(purposeSOS, tok)
	return s.start(ctx, Session{Status: Ready, Method: MethodSOS, Site: site.ID, Customer: c, AgreementRequired: site.Agreement != ""}, nil, func(tx *bolt.Tx, ss *Session) error {
		links, err := all[SOSLink](tx, bSOS)
		if err != nil {
			return err
		}
		for _, l := range links {
			if slices.Equal(l.Hash, h) {
				if l.Paused {
					return ErrSOSPaused
				}
				ss.Queue = Queue{QueueChannel, l.Channel}
				return nil
			}
		}
		return fmt.Errorf("SOS link: %w", ErrNotFound)
	})
}

// StartCode starts a classic SOS session: the customer is shown a 9-digit
// code to read to a technician, who claims it with ClaimCode. Until then
// the session sits in no one's queue.
func (s *Service) StartCode(ctx context.Context, site Site, c Customer) (Session, string, string, error) {
	if err := CheckCustomer(Site{}, &c); err != nil {
		return Session{}, "", "", err
	}
	var code string
	ss, tok, err := s.start(ctx, Session{Status: Ready, Method: MethodCode, Site: site.ID, Customer: c, Queue: Queue{QueueTechnician, 0}, AgreementRequired: site.Agreement != ""}, nil,
		func(tx *bolt.Tx, ss *Session) error {
			for {
				code = RandomKey()
				h := s.keyed(purposeCode, code)
				if root(tx, bCodes).Get(h) == nil {
					ss.CodeHash = h
					return nil
				}
			}
		})
	if err != nil {
		return Session{}, "", "", err
	}
	return ss, tok, code, nil
}

// ClaimCode pulls the session of a classic SOS code into a's personal queue.
// Wrong codes are limited per technician and across the box like session
// keys, so codes cannot be guessed from the console either.
func (s *Service) ClaimCode(ctx context.Context, a Actor, code string) (Session, error) {
	if err := Authorize(a, ActUsePerm, Scope{Perm: PermStartSessions}); err != nil {
		return Session{}, err
	}
	digits, ok := NormalizeKey(code)
	if !ok {
		return Session{}, &FieldError{"code", "Enter the 9 digits the customer reads to you."}
	}
	who := fmt.Sprintf("technician %d", a.UserID)
	if wait := s.codeGuard.take(who); wait > 0 {
		return Session{}, &ThrottledError{wait}
	}
	h := s.keyed(purposeCode, digits)
	var id uint64
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		v := root(tx, bCodes).Get(h)
		if v == nil {
			return &FieldError{"code", "No waiting customer has this code. Check the digits with the customer."}
		}
		id = beUint(v)
		return nil
	})
	if err != nil {
		if s.log != nil {
			s.log.Info("wrong classic SOS code", "technician", a.UserID)
		}
		return Session{}, err
	}
	s.codeGuard.succeeded(who)
	return s.change(ctx, id, bus.SessionReady, func(tx *bolt.Tx, ss *Session) (TrailEntry, error) {
		if ss.Status != Ready || ss.Queue != (Queue{QueueTechnician, 0}) {
			return TrailEntry{}, ErrState
		}
		if err := root(tx, bCodes).Delete(h); err != nil {
			return TrailEntry{}, err
		}
		ss.Queue, ss.CodeHash = Queue{QueueTechnician, a.UserID}, nil
		return TrailEntry{Event: "claimed", Actor: a.Name, ActorID: a.UserID}, nil
	})
}
