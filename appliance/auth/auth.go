// Package auth owns the appliance's accounts: users and their Argon2id
// passwords, TOTP second factors, first-run setup tokens, sign-in throttling
// and login sessions.
//
// Accounts live in two realms that never mix: [Site] holds the people who use
// /login and /console (administrators and technicians), [Box] holds the
// administrators of /appliance. Each realm has its own buckets under
// auth/<realm>/ (the tree is drawn in the store package doc), so an account of
// one realm cannot sign in to the other by construction.
//
// Secrets handed to browsers (login session ids, setup tokens) are stored only
// as keyed hashes made with the box's "token-key" (see [Service.KeyedHash]);
// a copy of the store file therefore does not yield usable session cookies.
//
// Sign-in failures are throttled in memory with a growing delay per source
// address (IPv6 by /64), per account and source, and per account — the last
// waived for a browser the account signed in from before (a device token), so
// a spray of wrong passwords cannot lock the owner out; the second factor
// shares the throttle. Sprays show in SignInAttacks. Every write is
// acknowledged only after its transaction committed, and methods join a
// transaction carried by their context (see store.WithTx).
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/switchboardhq/switchboard/appliance/store"
	bolt "go.etcd.io/bbolt"
)

// A Realm is a separate set of accounts with its own users and sessions.
type Realm string

// The two realms.
const (
	// Site holds the users of /login and /console: administrators and technicians.
	Site Realm = "site"
	// Box holds the administrators of /appliance.
	Box Realm = "box"
)

func (r Realm) valid() bool { return r == Site || r == Box }

// Roles a user can hold. Box realm users are always RoleAdmin.
const (
	// RoleAdmin may administer everything in its realm.
	RoleAdmin = "admin"
	// RoleTechnician works support sessions in the site realm.
	RoleTechnician = "technician"
	// RoleChannelManager configures and supervises the channels it manages.
	RoleChannelManager = "channel-manager"
	// RoleTechManager creates, configures and deletes channels and
	// supervises every session.
	RoleTechManager = "technician-manager"
)

// Errors returned by the Service. Callers test for them with errors.Is.
var (
	// ErrBadCredentials reports an unknown user, a wrong password or a
	// disabled account, without saying which.
	ErrBadCredentials = errors.New("wrong username or password")
	// ErrThrottled reports a sign-in refused because of earlier failures; the
	// error is a *ThrottledError that says how long to wait.
	ErrThrottled = errors.New("too many failed sign-in attempts")
	// ErrNotFound reports a user that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists reports a username that is already taken.
	ErrExists = errors.New("username is already taken")
	// ErrInvalid reports input that breaks a rule; the error is a *FieldError
	// naming the field.
	ErrInvalid = errors.New("invalid input")
	// ErrSetupClosed reports first-run setup asked for once the realm has an
	// administrator.
	ErrSetupClosed = errors.New("setup is already complete")
	// ErrBadToken reports a setup token that is wrong or has expired.
	ErrBadToken = errors.New("setup token is wrong or has expired")
	// ErrBadCode reports a wrong, malformed or already used one-time code.
	ErrBadCode = errors.New("wrong or already used code")
	// ErrSessionExpired reports a login session that is unknown, ended or
	// timed out, or whose user is gone or disabled.
	ErrSessionExpired = errors.New("session has expired")
	// ErrDisabled reports an operation for a disabled user.
	ErrDisabled = errors.New("account is disabled")
)

// A FieldError says which input field broke which rule. It wraps ErrInvalid.
type FieldError struct {
	Field string // the input's name: "username", "password", "role", …
	Msg   string // what is wrong and what to do, fit to show to the person
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap returns ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func invalid(field, msg string) error { return &FieldError{Field: field, Msg: msg} }

// A ThrottledError refuses a sign-in attempt that came too soon after repeated
// failures. It wraps ErrThrottled.
type ThrottledError struct {
	RetryAfter time.Duration // how long until the next attempt is accepted
}

func (e *ThrottledError) Error() string {
	secs := (e.RetryAfter + time.Second - 1) / time.Second
	return fmt.Sprintf("%v: try again in %d s", ErrThrottled, secs)
}

// Unwrap returns ErrThrottled.
func (e *ThrottledError) Unwrap() error { return ErrThrottled }

// Config tunes a Service. Zero fields take the defaults noted.
type Config struct {
	IdleTimeout     time.Duration    // a login session unused this long ends (30 min)
	AbsoluteTimeout time.Duration    // a login session ends this long after sign-in (12 h)
	HashConcurrency int              // Argon2id computations at once (runtime.NumCPU())
	Argon           Params           // parameters for new password hashes (DefaultParams)
	Now             func() time.Time // the clock (time.Now)
}

// Default timeouts of login sessions.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
)

// pendingTimeout bounds a session whose password was right but whose second
// factor has not been given yet.
const pendingTimeout = 5 * time.Minute

// Service manages the accounts and login sessions of both realms. Its methods
// are safe for concurrent use.
type Service struct {
	db       *store.DB
	log      *slog.Logger
	now      func() time.Time
	idle     time.Duration
	absolute time.Duration
	argon    Params
	key      []byte        // the box's token-key
	dummy    string        // hash verified for unknown users, so they cost the same
	hashSem  chan struct{} // caps concurrent Argon2id computations
	throttle *throttle
	attacks  *attacks

	// hashHook, if set (by tests), runs inside the hashing semaphore before
	// each Argon2id computation.
	hashHook func()
}

// New returns a Service on db. It reads the box's token-key and computes one
// password hash up front; it starts no goroutines.
func New(db *store.DB, cfg Config, log *slog.Logger) (*Service, error) {
	if db == nil {
		return nil, errors.New("auth: no store")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.AbsoluteTimeout == 0 {
		cfg.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if cfg.IdleTimeout < 0 || cfg.AbsoluteTimeout < 0 {
		return nil, errors.New("auth: negative session timeout")
	}
	if cfg.HashConcurrency == 0 {
		cfg.HashConcurrency = runtime.NumCPU()
	}
	if cfg.HashConcurrency < 0 {
		return nil, fmt.Errorf("auth: hash concurrency %d", cfg.HashConcurrency)
	}
	if cfg.Argon == (Params{}) {
		cfg.Argon = DefaultParams
	}
	if err := cfg.Argon.check(); err != nil {
		return nil, fmt.Errorf("auth: argon2id parameters: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	key, err := db.Secret(context.Background(), "token-key")
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("auth: token-key has %d bytes", len(key))
	}
	s := &Service{
		db:       db,
		log:      log,
		now:      cfg.Now,
		idle:     cfg.IdleTimeout,
		absolute: cfg.AbsoluteTimeout,
		argon:    cfg.Argon,
		key:      key,
		hashSem:  make(chan struct{}, cfg.HashConcurrency),
		throttle: newThrottle(cfg.Now, throttleLimit),
		attacks:  newAttacks(cfg.Now),
	}
	s.dummy, err = encodeHash(cfg.Argon, randomBytes(32), randomBytes(saltLen))
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	return s, nil
}

// KeyedHash returns HMAC-SHA256 under the box's token-key of purpose, a zero
// byte and secret. Every secret the appliance must recognise but need not
// recover (session ids, tokens, session keys) is stored as its keyed hash;
// purpose keeps the hashes of different kinds of secret apart.
func (s *Service) KeyedHash(purpose string, secret []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write(secret)
	return m.Sum(nil)
}

// clock returns the current time without a monotonic reading, so that times
// compare equal after a round trip through the store.
func (s *Service) clock() time.Time { return s.now().UTC().Round(0) }

// Sub-bucket names under auth/<realm>/.
const (
	subUsers    = "users"
	subNames    = "names"
	subSessions = "sessions"
	subSetup    = "setup"
)

// bucket returns auth/<realm>/<sub> in tx.
func bucket(tx *bolt.Tx, realm Realm, sub string) (*bolt.Bucket, error) {
	if !realm.valid() {
		return nil, invalid("realm", fmt.Sprintf("unknown realm %q", realm))
	}
	a := tx.Bucket(store.BucketAuth)
	if a == nil {
		return nil, errors.New("auth: store has no auth bucket")
	}
	r := a.Bucket([]byte(realm))
	if r == nil {
		return nil, fmt.Errorf("auth: store has no %s realm", realm)
	}
	b := r.Bucket([]byte(sub))
	if b == nil {
		return nil, fmt.Errorf("auth: store has no %s/%s bucket", realm, sub)
	}
	return b, nil
}

// randomBytes returns n bytes from the system's secure generator, which
// never fails.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
