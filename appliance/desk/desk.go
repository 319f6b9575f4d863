// Package desk is the service desk: channels, teams, technician profiles,
// issue types and public sites, the roles and granular permissions that
// decide who may do what ([Authorize]), and the audit log of every change.
// Support sessions and their queues join it.
//
// Its buckets live under store.BucketDesk (see the store package doc for
// the tree). Every change is checked by Authorize against the Actor making
// it, and is written in the same transaction as its audit entry.
package desk

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/time/rate"

	"github.com/switchboardhq/switchboard/appliance/store"
)

// Errors returned by the desk. Callers test them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrInvalid  = errors.New("invalid")
	ErrInUse    = errors.New("in use")
)

// FieldError is a bad value in one field, with a message for people.
type FieldError struct{ Field, Msg string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap makes a FieldError match ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// FieldErrors collects every bad field of one form.
type FieldErrors []*FieldError

func (fe FieldErrors) Error() string {
	if len(fe) == 0 {
		return "no errors"
	}
	return fmt.Sprintf("%s (and %d more)", fe[0].Error(), len(fe)-1)
}

// Unwrap makes FieldErrors match ErrInvalid.
func (fe FieldErrors) Unwrap() error { return ErrInvalid }

// Fields returns the field errors err carries (one or several), or nil
// when err is not about fields; front ends show them next to the fields.
func Fields(err error) []*FieldError {
	var many FieldErrors
	var one *FieldError
	switch {
	case errors.As(err, &many):
		return many
	case errors.As(err, &one):
		return []*FieldError{one}
	}
	return nil
}

func (fe *FieldErrors) add(field, msg string) { *fe = append(*fe, &FieldError{field, msg}) }

func (fe FieldErrors) err() error {
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// Sub-bucket names under store.BucketDesk.
var (
	bChannels     = []byte("channels")
	bChannelNames = []byte("channel-names")
	bTeams        = []byte("teams")
	bTechs        = []byte("technicians")
	bIssues       = []byte("issue-types")
	bSites        = []byte("sites")
	bHostnames    = []byte("hostnames")
	bAudit        = []byte("audit")
	bMeta         = []byte("meta")
	// bChannelSessions holds, per channel, a bucket of the ids of the
	// sessions in its queue; deleting a channel that has any is refused.
	bChannelSessions = []byte("channel-sessions")
	// Support sessions and what they are reached by.
	bSessionsData  = []byte("sessions")
	bTechSessions  = []byte("tech-sessions")
	bChat          = []byte("session-chat")
	bCustomerToken = []byte("customer-tokens")
	bKeys          = []byte("session-keys")
	bLinks         = []byte("support-links")
	bSOS           = []byte("sos-links")
	bCodes         = []byte("sos-codes")
	bRemote        = []byte("remote-tokens")
	bPresent       = []byte("presentations")
	bPresentKeys   = []byte("presentation-keys")
	bAnnouncements = []byte("announcements")
	bSiteLogos     = []byte("site-logos")
)

// Service is the desk. Its methods are safe for concurrent use.
type Service struct {
	// publicGen counts the changes to what the public site shows.
	publicGen atomic.Uint64
	db        *store.DB
	now       func() time.Time
	log       *slog.Logger
	pub       Publisher
	hash      Hasher
	guard     *keyGuard
	// codeGuard limits wrong classic SOS codes per technician.
	codeGuard *keyGuard
	// failed bounds the failed sign-ins listed in the audit log.
	failed *failedLimiter
	// unreadBox is the box-wide bound of unread chat (MaxUnreadChatBox;
	// tests lower it).
	unreadBox int
	announced announceClock
}

// New returns the desk over db; now is the clock (time.Now when nil).
func New(db *store.DB, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, now: now, log: log, guard: newKeyGuard(now, DefaultKeyBudget), codeGuard: newKeyGuard(now, DefaultKeyBudget),
		failed: &failedLimiter{lim: rate.NewLimiter(rate.Every(failedEvery), failedBurst)}, unreadBox: MaxUnreadChatBox,
		announced: announceClock{last: now()}}
}

func root(tx *bolt.Tx, sub []byte) *bolt.Bucket {
	d := tx.Bucket(store.BucketDesk)
	if d == nil {
		return nil
	}
	return d.Bucket(sub)
}

func idKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// get decodes the record id of bucket sub into v.
func get(tx *bolt.Tx, sub []byte, id uint64, v any) error {
	raw := root(tx, sub).Get(idKey(id))
	if raw == nil {
		return fmt.Errorf("%s %d: %w", sub, id, ErrNotFound)
	}
	return json.Unmarshal(raw, v)
}

// decode decodes one stored record.
func decode(raw []byte, v any) error { return json.Unmarshal(raw, v) }

// put encodes v as the record id of bucket sub.
func put(tx *bolt.Tx, sub []byte, id uint64, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return root(tx, sub).Put(idKey(id), raw)
}

// all decodes every record of bucket sub, in id order.
func all[T any](tx *bolt.Tx, sub []byte) ([]T, error) {
	var out []T
	err := root(tx, sub).ForEach(func(_, raw []byte) error {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// nextID returns the next id of bucket sub.
func nextID(tx *bolt.Tx, sub []byte) (uint64, error) { return root(tx, sub).NextSequence() }

// updatePublic runs fn in a write transaction that changes what the
// public site shows (sites, technicians, issue types, important messages,
// iOS profiles) and, once it committed, moves PublicGeneration on.
func (s *Service) updatePublic(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	err := s.db.Update(ctx, fn)
	if err == nil {
		s.publicGen.Add(1)
	}
	return err
}

// PublicGeneration changes after every committed change to what the
// public site shows; a cache of it is current while this stays the same.
func (s *Service) PublicGeneration() uint64 { return s.publicGen.Load() }
