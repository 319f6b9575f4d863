package netcfg

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/appliance/store"
	bolt "go.etcd.io/bbolt"
)

// Net is the network stack a Manager drives: the kernel through netlink
// on the box (Kernel), read-only in dev mode.
type Net interface {
	Observe() (State, error)
	Apply(Config) error
}

// Trial lengths: netplan try's two minutes by default, half a minute to
// ten minutes when chosen.
const (
	DefaultTrial = 120 * time.Second
	MinTrial     = 30 * time.Second
	MaxTrial     = 600 * time.Second
)

// Errors of the trial.
var (
	ErrReadOnly   = errors.New("networking is read-only here")
	ErrPending    = errors.New("another network change is waiting for its confirmation")
	ErrNoTrial    = errors.New("no network change is waiting for a confirmation")
	ErrBadToken   = errors.New("this confirmation link is not the one of the change in progress")
	ErrOldAddress = errors.New("the confirmation must come over the new configuration")
	ErrNotApplied = errors.New("the change is not applied yet, so it cannot be confirmed")
)

// Trial is a change applied and waiting for its confirmation: the snapshot
// to go back to and the deadline, stored before anything is applied.
type Trial struct {
	Started  time.Time `json:"started"`
	Deadline time.Time `json:"deadline"`
	By       string    `json:"by"`   // the administrator's name
	From     string    `json:"from"` // their address
	// Before is the network as it was; Desired the configuration confirmed
	// before (nil when none was ever confirmed) and After the one tried.
	Before  State   `json:"before"`
	Desired *Config `json:"desired,omitempty"`
	After   Config  `json:"after"`
	// Confirm lists the box's addresses a confirmation may arrive at: the
	// addresses the change adds. Empty: any address of the box.
	Confirm   []netip.Addr `json:"confirm,omitempty"`
	TokenHash []byte       `json:"token_hash"`
	// Applied is false while a staged trial waits for ApplyStaged; its
	// deadline then counts from the moment it is applied.
	Applied bool          `json:"applied"`
	Length  time.Duration `json:"length"`
}

// Change is one entry of the network change log.
type Change struct {
	Seq     uint64    `json:"seq"`
	At      time.Time `json:"at"`
	By      string    `json:"by"`
	From    string    `json:"from,omitempty"`
	Outcome string    `json:"outcome"` // one of Confirmed, Reverted, Failed
	Reason  string    `json:"reason,omitempty"`
	Before  Config    `json:"before"`
	After   Config    `json:"after"`
	// Differences are what still differs from the snapshot after a
	// revert: empty when the revert restored everything.
	Differences []string `json:"differences,omitempty"`
}

// Change outcomes.
const (
	Confirmed = "confirmed"
	Reverted  = "reverted"
	Failed    = "failed"
)

// Clock is the time a Manager keeps: the real one on the box, a test's
// own in tests.
type Clock interface {
	Now() time.Time
	// AfterFunc runs f after d, unless the returned stop is called first.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// Manager runs network changes as trials: snapshot, apply, wait for the
// confirmation over the new configuration, else restore the snapshot.
type Manager struct {
	db       *store.DB
	net      Net
	hash     func(purpose string, secret []byte) []byte
	clock    Clock
	log      *slog.Logger
	readOnly bool

	mu   sync.Mutex // serialises changes
	stop func() bool
}

// Options configure a Manager.
type Options struct {
	// Hash is the box's keyed hash (auth.Service.KeyedHash) for the
	// confirmation token.
	Hash func(purpose string, secret []byte) []byte
	// Clock defaults to the real one.
	Clock Clock
	Log   *slog.Logger
	// ReadOnly shows the network without changing it (dev mode).
	ReadOnly bool
}

// NewManager returns a Manager of net whose state lives in db.
func NewManager(db *store.DB, net Net, o Options) *Manager {
	m := &Manager{db: db, net: net, hash: o.Hash, clock: o.Clock, log: o.Log, readOnly: o.ReadOnly}
	if m.clock == nil {
		m.clock = realClock{}
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	return m
}

// ReadOnly reports whether the Manager only shows the network.
func (m *Manager) ReadOnly() bool { return m.readOnly }

// Observe reads the network as it is.
func (m *Manager) Observe() (State, error) { return m.net.Observe() }

// Resume is called once at start. A trial still pending means the daemon
// stopped during it: its snapshot is restored. Otherwise the confirmed
// configuration, if any, is applied again (the kernel forgets it on
// reboot); without one, the default (DHCP on every port) starts.
func (m *Manager) Resume(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, err := m.trial(ctx)
	if err != nil {
		return err
	}
	if t != nil {
		if m.readOnly {
			return nil
		}
		_, err := m.revertLocked(ctx, *t, Reverted, "applianced restarted before the change was confirmed")
		return err
	}
	d, err := m.Desired(ctx)
	if err != nil || m.readOnly {
		return err
	}
	if settle, ok := m.net.(interface{ Settle(time.Duration) }); ok {
		defer settle.Settle(startLeases)
	}
	if d == nil {
		if def, ok := m.net.(interface{ Default() error }); ok {
			return def.Default()
		}
		return nil
	}
	if err := m.net.Apply(*d); err != nil {
		// A port that is gone or renamed must not leave the box without
		// its first-boot default.
		if def, ok := m.net.(interface{ Default() error }); ok {
			err = errors.Join(err, def.Default())
		}
		return fmt.Errorf("applying the confirmed network configuration: %w", err)
	}
	return nil
}

// startLeases is how long Resume waits for the DHCP leases at start.
const startLeases = 15 * time.Second

// Desired returns the configuration last confirmed, or nil.
func (m *Manager) Desired(ctx context.Context) (*Config, error) {
	return getJSON[Config](ctx, m.db, keyDesired)
}

// Trial returns the change in progress, or nil.
func (m *Manager) Trial(ctx context.Context) (*Trial, error) { return m.trial(ctx) }

func (m *Manager) trial(ctx context.Context) (*Trial, error) {
	return getJSON[Trial](ctx, m.db, keyTrial)
}

// getJSON reads a value of netcfg/meta, or nil when there is none.
func getJSON[T any](ctx context.Context, db *store.DB, key []byte) (*T, error) {
	var v *T
	err := db.View(ctx, func(tx *bolt.Tx) error {
		b := meta(tx).Get(key)
		if b == nil {
			return nil
		}
		v = new(T)
		return json.Unmarshal(b, v)
	})
	return v, err
}

// Start validates c and tries it: the snapshot and the deadline are
// committed first, then c is applied and the deadline armed. It returns
// the trial and the one-time token its confirmation needs. A change that
// cannot be applied is rolled back at once and reported as an error.
//
// With stage set, c is not applied yet: ApplyStaged applies it. A page
// that takes away the address its browser uses answers first and applies
// after; a staged trial nobody applies expires like any other.
func (m *Manager) Start(ctx context.Context, admin Admin, by string, c Config, length time.Duration, stage bool) (Trial, string, error) {
	if m.readOnly {
		return Trial{}, "", ErrReadOnly
	}
	if length < MinTrial || length > MaxTrial {
		return Trial{}, "", FieldErrors{{Field: "trial", Msg: fmt.Sprintf("Choose between %d and %d seconds to confirm.", int(MinTrial.Seconds()), int(MaxTrial.Seconds()))}}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, err := m.trial(ctx); err != nil {
		return Trial{}, "", err
	} else if t != nil {
		return Trial{}, "", ErrPending
	}
	before, err := m.net.Observe()
	if err != nil {
		return Trial{}, "", err
	}
	if err := Validate(c, before, admin); err != nil {
		return Trial{}, "", err
	}
	desired, err := m.Desired(ctx)
	if err != nil {
		return Trial{}, "", err
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	token := base64.RawURLEncoding.EncodeToString(raw)
	now := m.clock.Now()
	t := Trial{Started: now, Deadline: now.Add(length), By: by, From: admin.Remote.String(),
		Before: before, Desired: desired, After: c, Confirm: added(before, c), TokenHash: m.hash(tokenPurpose, raw),
		Length: length, Applied: !stage}
	if err := m.db.Update(ctx, func(tx *bolt.Tx) error { return putJSON(meta(tx), keyTrial, t) }); err != nil {
		return Trial{}, "", err
	}
	if !stage {
		if err := m.applyLocked(ctx, t); err != nil {
			return Trial{}, "", err
		}
	}
	m.arm(t)
	return t, token, nil
}

// applyLocked applies t.After; on failure it restores the snapshot.
func (m *Manager) applyLocked(ctx context.Context, t Trial) error {
	if err := m.net.Apply(t.After); err != nil {
		m.log.Warn("network change failed; restoring", "err", err)
		if _, rerr := m.revertLocked(ctx, t, Failed, "it could not be applied: "+err.Error()); rerr != nil {
			return errors.Join(err, rerr)
		}
		return &ApplyError{Err: err}
	}
	return nil
}

// ApplyStaged applies the staged trial; its deadline counts from now.
// A trial already applied is left alone.
func (m *Manager) ApplyStaged(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, err := m.trial(ctx)
	if err != nil {
		return err
	}
	if t == nil {
		return ErrNoTrial
	}
	if t.Applied {
		return nil
	}
	t.Applied, t.Deadline = true, m.clock.Now().Add(t.Length)
	if err := m.db.Update(ctx, func(tx *bolt.Tx) error { return putJSON(meta(tx), keyTrial, *t) }); err != nil {
		return err
	}
	if err := m.applyLocked(ctx, *t); err != nil {
		return err
	}
	m.arm(*t)
	return nil
}

// ApplyError is a change the kernel refused; the snapshot was restored.
type ApplyError struct{ Err error }

func (e *ApplyError) Error() string {
	return "the network change could not be applied: " + e.Err.Error()
}
func (e *ApplyError) Unwrap() error { return e.Err }

const tokenPurpose = "netcfg-confirm"

// added lists the static addresses c has that the box does not have yet.
func added(before State, c Config) []netip.Addr {
	var out []netip.Addr
	have := before.Addresses()
	for _, it := range c.Interfaces {
		if it.Down || isMember(c, it.Name) {
			continue
		}
		for _, p := range it.Addresses {
			if !slices.Contains(have, p.Addr()) {
				out = append(out, p.Addr())
			}
		}
	}
	return out
}

func (m *Manager) arm(t Trial) {
	if m.stop != nil {
		m.stop()
	}
	d := max(t.Deadline.Sub(m.clock.Now()), 0)
	m.stop = m.clock.AfterFunc(d, func() {
		if _, err := m.Expire(context.Background()); err != nil {
			m.log.Error("reverting the network change", "err", err)
		}
	})
}

// Expire reverts the trial if its deadline has passed; the deadline timer
// calls it. It returns the change logged, or nil when nothing was due.
func (m *Manager) Expire(ctx context.Context) (*Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, err := m.trial(ctx)
	if err != nil || t == nil {
		return nil, err
	}
	if now := m.clock.Now(); now.Before(t.Deadline) {
		m.arm(*t) // the clock moved back: wait again
		return nil, nil
	}
	ch, err := m.revertLocked(ctx, *t, Reverted, "it was not confirmed in time")
	return &ch, err
}

// Confirm keeps the change in progress. token is the one Start returned
// and local the box's address the confirmation arrived at, which must be
// one the change added (when it added any): that proves the new
// configuration carries the administrator.
func (m *Manager) Confirm(ctx context.Context, token string, local netip.Addr) (Change, error) {
	return m.confirm(ctx, token, local, false)
}

// ConfirmAtConsole keeps the change in progress for the person at the
// box's own screen or serial port (the console menu), who checks the new
// configuration from the network and answers there: no address to prove.
func (m *Manager) ConfirmAtConsole(ctx context.Context, token string) (Change, error) {
	return m.confirm(ctx, token, netip.Addr{}, true)
}

func (m *Manager) confirm(ctx context.Context, token string, local netip.Addr, console bool) (Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, err := m.pending(ctx, token)
	if err != nil {
		return Change{}, err
	}
	if !t.Applied {
		return Change{}, ErrNotApplied
	}
	if !m.clock.Now().Before(t.Deadline) {
		ch, err := m.revertLocked(ctx, *t, Reverted, "it was not confirmed in time")
		if err != nil {
			return Change{}, err
		}
		return ch, ErrNoTrial
	}
	if !console && len(t.Confirm) > 0 && !slices.Contains(t.Confirm, local.Unmap()) {
		return Change{}, &OldAddressError{Want: t.Confirm}
	}
	ch := Change{At: m.clock.Now(), By: t.By, From: t.From, Outcome: Confirmed, Before: before(*t), After: t.After}
	err = m.db.Update(ctx, func(tx *bolt.Tx) error {
		if err := meta(tx).Delete(keyTrial); err != nil {
			return err
		}
		if err := putJSON(meta(tx), keyDesired, t.After); err != nil {
			return err
		}
		return logChange(tx, &ch)
	})
	if err != nil {
		return Change{}, err
	}
	if m.stop != nil {
		m.stop()
		m.stop = nil
	}
	return ch, nil
}

// pending returns the trial in progress if token is its own. Called with
// m.mu held.
func (m *Manager) pending(ctx context.Context, token string) (*Trial, error) {
	t, err := m.trial(ctx)
	switch {
	case err != nil:
		return nil, err
	case t == nil:
		return nil, ErrNoTrial
	case !m.tokenMatches(*t, token):
		return nil, ErrBadToken
	}
	return t, nil
}

func (m *Manager) tokenMatches(t Trial, token string) bool {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && len(raw) == 32 && hmac.Equal(m.hash(tokenPurpose, raw), t.TokenHash)
}

// CheckToken reports whether token confirms the change in progress (the
// confirmation page shows the change only to the link's holder).
func (m *Manager) CheckToken(ctx context.Context, token string) (*Trial, bool) {
	t, err := m.trial(ctx)
	if err != nil || t == nil || !m.tokenMatches(*t, token) {
		return nil, false
	}
	return t, true
}

// UndoWithToken reverts the change in progress if token is its own, so
// that one administrator's late "no" cannot undo another's change.
func (m *Manager) UndoWithToken(ctx context.Context, token, by string) (Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, err := m.pending(ctx, token)
	if err != nil {
		return Change{}, err
	}
	return m.revertLocked(ctx, *t, Reverted, by+" cancelled it")
}

// OldAddressError is a confirmation that came over the old configuration.
type OldAddressError struct{ Want []netip.Addr }

func (e *OldAddressError) Error() string {
	return fmt.Sprintf("the confirmation must arrive at %v, the new address", e.Want)
}
func (e *OldAddressError) Unwrap() error { return ErrOldAddress }

// Cancel reverts the change in progress at once.
func (m *Manager) Cancel(ctx context.Context, by string) (Change, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, err := m.trial(ctx)
	if err != nil {
		return Change{}, err
	}
	if t == nil {
		return Change{}, ErrNoTrial
	}
	return m.revertLocked(ctx, *t, Reverted, by+" cancelled it")
}

func before(t Trial) Config {
	if t.Desired != nil {
		return *t.Desired
	}
	return t.Before.Config()
}

// revertLocked restores t's snapshot, compares what the kernel then has
// with it and logs the outcome. The trial is cleared even when the
// restore fails, so the box does not retry it forever; the differences
// say what is left.
func (m *Manager) revertLocked(ctx context.Context, t Trial, outcome, reason string) (Change, error) {
	if m.stop != nil {
		m.stop()
		m.stop = nil
	}
	ch := Change{At: m.clock.Now(), By: t.By, From: t.From, Outcome: outcome, Reason: reason, Before: before(t), After: t.After}
	var applyErr error
	if t.Applied {
		applyErr = m.net.Apply(t.Before.Config())
	} else {
		ch.Reason += " (it was never applied)"
	}
	got, obsErr := m.net.Observe()
	switch {
	case obsErr != nil:
		ch.Differences = []string{"the network could not be read back: " + obsErr.Error()}
	default:
		ch.Differences = Diff(t.Before, got)
	}
	if applyErr != nil {
		ch.Differences = append([]string{"restoring failed: " + applyErr.Error()}, ch.Differences...)
	}
	err := m.db.Update(ctx, func(tx *bolt.Tx) error {
		if err := meta(tx).Delete(keyTrial); err != nil {
			return err
		}
		return logChange(tx, &ch)
	})
	if err != nil {
		return Change{}, err
	}
	m.log.Info("network change reverted", "outcome", outcome, "reason", reason, "differences", len(ch.Differences))
	return ch, nil
}

// maxChanges bounds the change log; the oldest go first.
const maxChanges = 500

// Changes returns the change log, newest first, at most n entries.
func (m *Manager) Changes(ctx context.Context, n int) ([]Change, error) {
	var out []Change
	err := m.db.View(ctx, func(tx *bolt.Tx) error {
		c := changes(tx).Cursor()
		for k, v := c.Last(); k != nil && len(out) < n; k, v = c.Prev() {
			var ch Change
			if err := json.Unmarshal(v, &ch); err != nil {
				return err
			}
			out = append(out, ch)
		}
		return nil
	})
	return out, err
}

var (
	keyDesired  = []byte("desired")
	keyTrial    = []byte("trial")
	keySettings = []byte("settings")
)

func meta(tx *bolt.Tx) *bolt.Bucket { return tx.Bucket(store.BucketNetcfg).Bucket([]byte("meta")) }
func changes(tx *bolt.Tx) *bolt.Bucket {
	return tx.Bucket(store.BucketNetcfg).Bucket([]byte("changes"))
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, data)
}

func logChange(tx *bolt.Tx, ch *Change) error {
	b := changes(tx)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	ch.Seq = seq
	if err := putJSON(b, binary.BigEndian.AppendUint64(nil, seq), ch); err != nil {
		return err
	}
	if n := b.Stats().KeyN; n > maxChanges {
		c := b.Cursor()
		k, _ := c.First()
		return b.Delete(k)
	}
	return nil
}

// Settings are the network page's own settings.
type Settings struct {
	// TrialSeconds is how long a change waits for its confirmation.
	TrialSeconds int `json:"trial_seconds"`
}

// Settings returns the stored settings, with defaults.
func (m *Manager) Settings(ctx context.Context) (Settings, error) {
	s := Settings{TrialSeconds: int(DefaultTrial.Seconds())}
	err := m.db.View(ctx, func(tx *bolt.Tx) error {
		if v := meta(tx).Get(keySettings); v != nil {
			return json.Unmarshal(v, &s)
		}
		return nil
	})
	return s, err
}

// SaveSettings stores s.
func (m *Manager) SaveSettings(ctx context.Context, s Settings) error {
	if s.TrialSeconds < int(MinTrial.Seconds()) || s.TrialSeconds > int(MaxTrial.Seconds()) {
		return FieldErrors{{Field: "trial_seconds", Msg: fmt.Sprintf("Choose between %d and %d seconds.", int(MinTrial.Seconds()), int(MaxTrial.Seconds()))}}
	}
	return m.db.Update(ctx, func(tx *bolt.Tx) error { return putJSON(meta(tx), keySettings, s) })
}
