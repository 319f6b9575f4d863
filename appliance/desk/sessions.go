package desk

import (
	"context"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboardhq/switchboard/appliance/bus"
)

// Status of a support session.
type Status string

// The statuses, in lifecycle order.
const (
	Waiting Status = "waiting" // invitation out, customer not there yet
	Ready   Status = "ready"   // customer present, in a queue
	Active  Status = "active"  // a technician engaged
	Closed  Status = "closed"
	Expired Status = "expired" // waiting or ready for too long
)

// Method is how a session started.
type Method string

// The start methods.
const (
	MethodTechList Method = "technician-list"
	MethodKey      Method = "session-key"
	MethodSurvey   Method = "issue-survey"
	MethodSOS      Method = "sos-call"
	MethodLink     Method = "support-link"
	MethodCode     Method = "sos-code"
	// MethodPresentation names joining a presentation where a site rule
	// covers every way in (it starts no support session).
	MethodPresentation Method = "presentation"
)

// Queue kinds.
const (
	QueueTechnician = "technician"
	QueueChannel    = "channel"
)

// Queue is where a session waits: a technician's personal queue or a
// channel's queue.
type Queue struct {
	Kind string `json:"kind"`
	ID   uint64 `json:"id"`
}

// Customer is what the customer told us.
type Customer struct {
	Name        string   `json:"name,omitempty"`
	Company     string   `json:"company,omitempty"`
	CompanyCode string   `json:"company_code,omitempty"`
	Description string   `json:"description,omitempty"`
	Custom      []Answer `json:"custom,omitempty"`
	// Verified is set when the customer signed in through the site's
	// portal login (SAML) before starting; only the portal sets it.
	Verified *Verified `json:"verified,omitempty"`
}

// Verified says who the site's identity provider said the customer is.
type Verified struct {
	// By is the identity provider's name as the site shows it; IdP its
	// entity ID.
	By     string `json:"by"`
	IdP    string `json:"idp"`
	NameID string `json:"name_id"`
	Email  string `json:"email,omitempty"`
	// Locked lists the survey fields the identity provider filled
	// ("name", "company", "custom_0", ...): the customer could not change
	// them.
	Locked []string `json:"locked,omitempty"`
	// Summary is Text, kept for the pages and scripts that show it.
	Summary string `json:"summary"`
}

// Text says it in words: "Signed in as jdoe@example.com via Contoso".
func (v *Verified) Text() string {
	// Transient NameIDs are random: the e-mail says more to a person.
	who := v.NameID
	if v.Email != "" {
		who = v.Email
	}
	by := v.By
	if by == "" {
		by = v.IdP
	}
	out := "Signed in as " + who + " via " + by
	if !slices.Contains(v.Locked, "name") {
		// The check stands next to the name: say when it is not the IdP's.
		out += "; the name shown was typed by the customer"
	}
	return out
}

// Answer is one custom survey field's value.
type Answer struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// TrailEntry is one line of a session's event trail.
type TrailEntry struct {
	At    time.Time `json:"at"`
	Event string    `json:"event"`
	Actor string    `json:"actor,omitempty"`
	// ActorID is the technician who acted (0 for the customer and the
	// system), so the history knows who took part.
	ActorID uint64 `json:"actor_id,omitempty"`
	Note    string `json:"note,omitempty"`
	// For and ForID name the technician a customer's answer was about.
	For   string `json:"for,omitempty"`
	ForID uint64 `json:"for_id,omitempty"`
	// File is the file of a "file" entry.
	File *FileRecord `json:"file,omitempty"`
}

// Session is a support session.
type Session struct {
	ID            uint64    `json:"id"`
	Status        Status    `json:"status"`
	Method        Method    `json:"method"`
	Queue         Queue     `json:"queue"`
	Owner         uint64    `json:"owner,omitempty"`
	Collaborators []uint64  `json:"collaborators,omitempty"`
	Site          uint64    `json:"site,omitempty"`
	IssueType     uint64    `json:"issue_type,omitempty"`
	Customer      Customer  `json:"customer"`
	Created       time.Time `json:"created"`
	ReadyAt       time.Time `json:"ready_at,omitempty"`
	AcceptedAt    time.Time `json:"accepted_at,omitempty"`
	EndedAt       time.Time `json:"ended_at,omitempty"`
	Expires       time.Time `json:"expires"`
	// AgreementRequired is set when the site shows a customer agreement;
	// the session cannot be accepted until AgreedAt is set.
	AgreementRequired bool `json:"agreement_required,omitempty"`
	// AgreedAt is when the customer accepted the site's agreement.
	AgreedAt time.Time    `json:"agreed_at,omitempty"`
	Trail    []TrailEntry `json:"trail"`
	// ChatBytes is the size of the transcript; UnreadChat the customer's
	// text from before anyone accepted, still counted in the box-wide
	// budget of unread chat (see chat.go).
	ChatBytes  int `json:"chat_bytes,omitempty"`
	UnreadChat int `json:"unread_chat,omitempty"`
	// NoisyTrail counts the trail's repeatable entries (viewers, clipboard)
	// and TrailSkipped those left out past MaxNoisyTrail.
	NoisyTrail   int `json:"noisy_trail,omitempty"`
	TrailSkipped int `json:"trail_skipped,omitempty"`
	// customer is the keyed hash of the token of the customer's browser.
	CustomerHash []byte `json:"customer_hash,omitempty"`
	// CodeHash is the keyed hash of a classic SOS code, while unclaimed.
	CodeHash []byte `json:"code_hash,omitempty"`
	// Device is what the customer's support app reported, once it
	// connected; DeviceHash binds the session to that computer.
	Device     *Device `json:"device,omitempty"`
	DeviceHash []byte  `json:"device_hash,omitempty"`
}

// Open reports whether the session still waits or runs.
func (s Session) Open() bool { return s.Status == Waiting || s.Status == Ready || s.Status == Active }

// Publisher receives the desk's events after their transaction committed.
type Publisher interface{ Publish(bus.Event) bus.Event }

// Hasher makes keyed hashes of secrets (session keys, tokens).
type Hasher func(purpose string, secret []byte) []byte

// WithEvents makes s publish its events to p; call it before use.
func (s *Service) WithEvents(p Publisher) *Service { s.pub = p; return s }

// WithHasher makes s hash tokens and keys with h; call it before use.
func (s *Service) WithHasher(h Hasher) *Service { s.hash = h; return s }

func (s *Service) publish(kind bus.Kind, ss Session, data any, users ...uint64) {
	if s.pub == nil {
		return
	}
	e := bus.Event{Kind: kind, Session: ss.ID, Owner: ss.Owner, Data: data}
	if ss.Queue.Kind == QueueChannel {
		e.Channel = ss.Queue.ID
	} else if e.Owner == 0 {
		e.Owner = ss.Queue.ID
	}
	e.Users = append(slices.Clone(ss.Collaborators), users...)
	s.pub.Publish(e)
}

// Announce publishes kind about ss for the consoles of the technicians it
// concerns (for changes kept outside the store, such as who has control).
func (s *Service) Announce(kind bus.Kind, ss Session) { s.publish(kind, ss, sessionSummary(ss)) }

// AnnounceID is Announce for session id as it is stored now (for the
// engines, which know sessions by id only).
func (s *Service) AnnounceID(ctx context.Context, kind bus.Kind, id uint64) error {
	var ss Session
	if err := s.db.View(ctx, func(tx *bolt.Tx) error { return get(tx, bSessionsData, id, &ss) }); err != nil {
		return err
	}
	s.Announce(kind, ss)
	return nil
}

// sessionIndex returns the per-queue index bucket of q.
func sessionIndex(tx *bolt.Tx, q Queue) (*bolt.Bucket, error) {
	parent := root(tx, bChannelSessions)
	if q.Kind == QueueTechnician {
		parent = root(tx, bTechSessions)
	}
	return parent.CreateBucketIfNotExists(idKey(q.ID))
}

// saveSession writes ss and keeps the queue indexes right: an open session
// is listed under its queue, a finished one under none.
func saveSession(tx *bolt.Tx, ss Session, old *Session) error {
	if old != nil && (old.Queue != ss.Queue || !ss.Open()) {
		idx, err := sessionIndex(tx, old.Queue)
		if err != nil {
			return err
		}
		if err := idx.Delete(idKey(ss.ID)); err != nil {
			return err
		}
	}
	if !ss.Open() && ss.CodeHash != nil {
		// An unclaimed classic code dies with its session.
		if err := root(tx, bCodes).Delete(ss.CodeHash); err != nil {
			return err
		}
	}
	if ss.Open() {
		idx, err := sessionIndex(tx, ss.Queue)
		if err != nil {
			return err
		}
		if err := idx.Put(idKey(ss.ID), nil); err != nil {
			return err
		}
		// An unclaimed classic code is indexed with its session, in the
		// same transaction.
		if ss.CodeHash != nil {
			if err := root(tx, bCodes).Put(ss.CodeHash, idKey(ss.ID)); err != nil {
				return err
			}
		}
	}
	return put(tx, bSessionsData, ss.ID, ss)
}

// newSession stores a new session in queue q.
func (s *Service) newSession(tx *bolt.Tx, ss *Session) error {
	id, err := nextID(tx, bSessionsData)
	if err != nil {
		return err
	}
	ss.ID = id
	ss.Created = s.now().UTC()
	if ss.Status == Ready {
		ss.ReadyAt = ss.Created
	}
	if ss.Expires.IsZero() {
		exp, err := s.queueExpiry(tx, ss.Queue)
		if err != nil {
			return err
		}
		ss.Expires = ss.Created.Add(exp)
	}
	ss.Trail = append(ss.Trail, TrailEntry{At: ss.Created, Event: "created", Note: string(ss.Method)})
	if v := ss.Customer.Verified; v != nil {
		v.Summary = v.Text()
		ss.Trail = append(ss.Trail, TrailEntry{At: ss.Created, Event: "verified", Note: v.Text() + " (NameID " + v.NameID + ")"})
	}
	if ss.Status == Ready {
		ss.Trail = append(ss.Trail, TrailEntry{At: ss.Created, Event: "ready"})
	}
	return saveSession(tx, *ss, nil)
}

// DefaultExpiry is how long a session may wait in a personal queue.
const DefaultExpiry = time.Hour

// queueExpiry is how long a session may wait in q.
func (s *Service) queueExpiry(tx *bolt.Tx, q Queue) (time.Duration, error) {
	if q.Kind != QueueChannel {
		return DefaultExpiry, nil
	}
	var c Channel
	if err := get(tx, bChannels, q.ID, &c); err != nil {
		return 0, err
	}
	return time.Duration(c.ExpiryMinutes) * time.Minute, nil
}

// Session returns session id as the technician a may see it.
func (s *Service) Session(ctx context.Context, a Actor, id uint64) (Session, error) {
	var ss Session
	err := s.db.View(ctx, func(tx *bolt.Tx) error { return get(tx, bSessionsData, id, &ss) })
	if err != nil {
		return ss, err
	}
	if !canSee(a, ss) {
		return Session{}, ErrForbidden
	}
	return ss, nil
}

// canSee reports whether a may look at ss: its own queue or session, a
// collaboration, a channel it serves, or one it supervises.
func canSee(a Actor, ss Session) bool {
	if !ss.Open() {
		// A finished session is history: its own rule applies.
		return mayReview(a, ss)
	}
	switch {
	case ss.Owner == a.UserID, slices.Contains(ss.Collaborators, a.UserID):
		return true
	case ss.Queue.Kind == QueueTechnician && ss.Queue.ID == a.UserID:
		return true
	case ss.Queue.Kind == QueueChannel && slices.Contains(a.Serves, ss.Queue.ID):
		return true
	}
	ch := ss.Queue.ID
	if ss.Queue.Kind != QueueChannel {
		ch = 0
	}
	return Can(a, ActSupervise, Scope{Channel: ch}) && (ch != 0 || a.Role == RoleAdmin || a.Role == RoleTechManager)
}

// QueueView is one queue as a technician's console shows it.
type QueueView struct {
	Queue    Queue     `json:"queue"`
	Name     string    `json:"name"`
	Sessions []Session `json:"sessions"`
}

// Queues returns the technician's personal queue and the queues of the
// channels it serves or supervises, with their open sessions, oldest first.
func (s *Service) Queues(ctx context.Context, a Actor) ([]QueueView, error) {
	var out []QueueView
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		read := func(q Queue, name string) error {
			qv := QueueView{Queue: q, Name: name}
			parent := root(tx, bChannelSessions)
			if q.Kind == QueueTechnician {
				parent = root(tx, bTechSessions)
			}
			if idx := parent.Bucket(idKey(q.ID)); idx != nil {
				err := idx.ForEach(func(k, _ []byte) error {
					var ss Session
					if err := get(tx, bSessionsData, beUint(k), &ss); err != nil {
						return err
					}
					qv.Sessions = append(qv.Sessions, ss)
					return nil
				})
				if err != nil {
					return err
				}
			}
			out = append(out, qv)
			return nil
		}
		if err := read(Queue{QueueTechnician, a.UserID}, "My queue"); err != nil {
			return err
		}
		chans, err := all[Channel](tx, bChannels)
		if err != nil {
			return err
		}
		for _, c := range chans {
			if slices.Contains(a.Serves, c.ID) || Can(a, ActSupervise, Scope{Channel: c.ID}) {
				if err := read(Queue{QueueChannel, c.ID}, c.Name); err != nil {
					return err
				}
			}
		}
		// Sessions the technician collaborates on sit in other queues.
		return nil
	})
	return out, err
}

// change loads session id, lets fn change it inside one transaction, adds
// the trail entry, saves, and publishes kind after the commit.
func (s *Service) change(ctx context.Context, id uint64, kind bus.Kind, fn func(tx *bolt.Tx, ss *Session) (TrailEntry, error)) (Session, error) {
	var ss, old Session
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		if err := get(tx, bSessionsData, id, &ss); err != nil {
			return err
		}
		old = ss
		old.Collaborators = slices.Clone(ss.Collaborators)
		te, err := fn(tx, &ss)
		if err != nil {
			return err
		}
		te.At = s.now().UTC()
		switch {
		case !noisyEvents[te.Event]:
			ss.Trail = append(ss.Trail, te)
		case ss.NoisyTrail >= MaxNoisyTrail:
			ss.TrailSkipped++ // counted, not listed
		default:
			ss.NoisyTrail++
			ss.Trail = append(ss.Trail, te)
		}
		return saveSession(tx, ss, &old)
	})
	if err != nil {
		return ss, err
	}
	s.publish(kind, ss, sessionSummary(ss))
	if old.Status == Ready && (ss.Status != Ready || ss.Queue != old.Queue) {
		// It left its place in the queue: those behind it moved up.
		s.announcePositions(ctx, old.Queue, ss.ID)
	}
	return ss, nil
}

// announcePositions tells the customers waiting in q (but the one of
// session moved) that their place in the queue or their wait estimate may
// have changed: their pages fetch the new ones at once.
func (s *Service) announcePositions(ctx context.Context, q Queue, moved uint64) {
	if s.pub == nil {
		return
	}
	var ids []uint64
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		parent := root(tx, bChannelSessions)
		if q.Kind == QueueTechnician {
			parent = root(tx, bTechSessions)
		}
		idx := parent.Bucket(idKey(q.ID))
		if idx == nil {
			return nil
		}
		return idx.ForEach(func(k, _ []byte) error {
			var o Session
			if id := beUint(k); id != moved && get(tx, bSessionsData, id, &o) == nil && o.Status == Ready {
				ids = append(ids, id)
			}
			return nil
		})
	})
	if err != nil {
		return // the pages still refresh on their next event or reload
	}
	for _, id := range ids {
		// Only the customer's page listens: no owner, channel or data.
		s.pub.Publish(bus.Event{Kind: bus.SessionPosition, Session: id})
	}
}

// ErrState is returned for a change the session's status does not allow.
var ErrState = fmt.Errorf("session is not in a state that allows this")

// ErrAwaitingAgreement is returned when accepting a session whose customer
// has not accepted the site's agreement yet.
var ErrAwaitingAgreement = fmt.Errorf("%w: the customer has not accepted the agreement yet", ErrState)

// AwaitingAgreement reports whether ss cannot be accepted yet because its
// customer has not accepted the site's agreement.
func (ss Session) AwaitingAgreement() bool {
	return ss.AgreementRequired && ss.AgreedAt.IsZero() && ss.Open()
}

// UnclaimedCode reports whether ss is a classic SOS code no technician has
// entered yet.
func (ss Session) UnclaimedCode() bool {
	return ss.Open() && ss.Method == MethodCode && ss.Queue == Queue{Kind: QueueTechnician}
}

// Label is the one name of ss's state, the same on the customer's page and
// in the console.
func (ss Session) Label() string {
	switch {
	case ss.Status == Waiting:
		return "Not opened yet"
	case ss.UnclaimedCode():
		return "Code not entered yet"
	case ss.Status == Ready && ss.AwaitingAgreement():
		return "In the queue, not agreed yet"
	case ss.Status == Ready:
		return "In the queue"
	case ss.Status == Active:
		return "In progress"
	case ss.Status == Closed:
		return "Ended"
	case ss.Status == Expired:
		return "Expired"
	}
	return string(ss.Status)
}

// Summary is what events carry about a session (no secrets).
type Summary struct {
	ID       uint64   `json:"id"`
	Status   Status   `json:"status"`
	Label    string   `json:"label"`
	Method   Method   `json:"method"`
	Queue    Queue    `json:"queue"`
	Owner    uint64   `json:"owner,omitempty"`
	Customer Customer `json:"customer"`
}

func sessionSummary(ss Session) Summary {
	return Summary{ID: ss.ID, Status: ss.Status, Label: ss.Label(), Method: ss.Method, Queue: ss.Queue, Owner: ss.Owner, Customer: ss.Customer}
}
