package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

const (
	purposeSession  = "login-session"
	sessionIDLen    = 16 // bytes: 128 bits
	refreshEvery    = time.Minute
	maxUserAgentLen = 256
)

var b64url = base64.RawURLEncoding.Strict()

// A Session is a signed-in browser of one user. Its id is handed to the
// browser once and stored only as a keyed hash, so it never appears here.
type Session struct {
	UserID    uint64    `json:"user_id"`
	Realm     Realm     `json:"realm"`
	Created   time.Time `json:"created"`
	LastSeen  time.Time `json:"last_seen"`
	Pending   bool      `json:"pending,omitempty"` // password right, second factor not given yet
	Source    string    `json:"source,omitempty"`  // client address at sign-in
	UserAgent string    `json:"user_agent,omitempty"`
}

// sessionKey returns the store key of the raw session id.
func (s *Service) sessionKey(rawID string) ([]byte, bool) {
	b, err := b64url.DecodeString(rawID)
	if err != nil || len(b) != sessionIDLen {
		return nil, false
	}
	return s.KeyedHash(purposeSession, b), true
}

// expired reports whether se has timed out at now.
func (s *Service) expired(se Session, now time.Time) bool {
	age := now.Sub(se.Created)
	return now.Sub(se.LastSeen) > s.idle || age > s.absolute || se.Pending && age > pendingTimeout
}

// clip shortens a client-supplied string to at most n bytes of valid UTF-8.
func clip(v string, n int) string {
	if len(v) > n {
		v = v[:n]
	}
	return strings.ToValidUTF8(v, "")
}

// putSession stores se under a fresh id and returns the raw id.
func (s *Service) putSession(tx *bolt.Tx, se Session) (string, error) {
	b, err := bucket(tx, se.Realm, subSessions)
	if err != nil {
		return "", err
	}
	raw := randomBytes(sessionIDLen)
	v, err := json.Marshal(se)
	if err != nil {
		return "", err
	}
	if err := b.Put(s.KeyedHash(purposeSession, raw), v); err != nil {
		return "", err
	}
	return b64url.EncodeToString(raw), nil
}

func getSession(b *bolt.Bucket, key []byte) (Session, bool, error) {
	v := b.Get(key)
	if v == nil {
		return Session{}, false, nil
	}
	var se Session
	if err := json.Unmarshal(v, &se); err != nil {
		return Session{}, false, fmt.Errorf("session: %w", err)
	}
	return se, true, nil
}

// NewSession signs user userID of realm in from source with userAgent and
// returns the new session and its raw id, the only copy of which goes to the
// browser. A pending session stands for a right password whose second factor
// is still due (see Promote); it lasts at most five minutes.
func (s *Service) NewSession(ctx context.Context, realm Realm, userID uint64, pending bool, source, userAgent string) (rawID string, se Session, err error) {
	now := s.clock()
	se = Session{
		UserID:    userID,
		Realm:     realm,
		Created:   now,
		LastSeen:  now,
		Pending:   pending,
		Source:    clip(source, maxSourceLen),
		UserAgent: clip(userAgent, maxUserAgentLen),
	}
	err = s.db.Update(ctx, func(tx *bolt.Tx) error {
		u, err := getUser(tx, realm, userID)
		if err != nil {
			return err
		}
		if u.Disabled {
			return ErrDisabled
		}
		rawID, err = s.putSession(tx, se)
		return err
	})
	if err != nil {
		return "", Session{}, err
	}
	return rawID, se, nil
}

// liveSession reads the session under key and its user in tx. If the session
// has timed out or its user is gone or disabled, it deletes the session when
// tx is writable and reports ok false.
func (s *Service) liveSession(tx *bolt.Tx, realm Realm, key []byte, now time.Time) (se Session, u User, ok bool, err error) {
	b, err := bucket(tx, realm, subSessions)
	if err != nil {
		return se, u, false, err
	}
	se, found, err := getSession(b, key)
	if err != nil || !found {
		return se, u, false, err
	}
	dead := s.expired(se, now)
	if !dead {
		u, err = getUser(tx, realm, se.UserID)
		switch {
		case errors.Is(err, ErrNotFound):
			dead = true
		case err != nil:
			return se, u, false, err
		case u.Disabled:
			dead = true
		}
	}
	if dead {
		if tx.Writable() {
			if err := b.Delete(key); err != nil {
				return se, u, false, err
			}
		}
		return se, u, false, nil
	}
	return se, u, true, nil
}

// Lookup returns the session with the raw id rawID in realm and its user. It
// fails with ErrSessionExpired for an unknown id, a session past its idle or
// absolute timeout (which it deletes), or a user who is gone or disabled.
// Callers must check Pending: a pending session is not yet signed in.
// LastSeen is written back at most once a minute.
func (s *Service) Lookup(ctx context.Context, realm Realm, rawID string) (Session, User, error) {
	if !realm.valid() {
		return Session{}, User{}, invalid("realm", fmt.Sprintf("unknown realm %q", realm))
	}
	key, ok := s.sessionKey(rawID)
	if !ok {
		return Session{}, User{}, ErrSessionExpired
	}
	now := s.clock()
	var se Session
	var u User
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		var err error
		se, u, ok, err = s.liveSession(tx, realm, key, now)
		return err
	})
	if err != nil {
		return Session{}, User{}, err
	}
	if ok && now.Sub(se.LastSeen) < refreshEvery {
		return se, u.public(), nil
	}
	// Either the session must go or LastSeen is due: both are writes.
	err = s.db.Update(ctx, func(tx *bolt.Tx) error {
		var err error
		se, u, ok, err = s.liveSession(tx, realm, key, now)
		if err != nil || !ok {
			return err
		}
		se.LastSeen = now
		v, err := json.Marshal(se)
		if err != nil {
			return err
		}
		b, err := bucket(tx, realm, subSessions)
		if err != nil {
			return err
		}
		return b.Put(key, v)
	})
	if err != nil {
		return Session{}, User{}, err
	}
	if !ok {
		return Session{}, User{}, ErrSessionExpired
	}
	return se, u.public(), nil
}

// Promote turns the pending session rawID into a signed-in one once the
// caller has checked the second factor (VerifyTOTP): the pending session is
// deleted and a new one, with a new id and fresh timeouts, takes its place.
// It fails with ErrSessionExpired if the pending session is no longer valid
// and with a *FieldError if it is not pending.
func (s *Service) Promote(ctx context.Context, realm Realm, rawID string) (newRawID string, err error) {
	if !realm.valid() {
		return "", invalid("realm", fmt.Sprintf("unknown realm %q", realm))
	}
	key, ok := s.sessionKey(rawID)
	if !ok {
		return "", ErrSessionExpired
	}
	now := s.clock()
	err = s.db.Update(ctx, func(tx *bolt.Tx) error {
		se, _, live, err := s.liveSession(tx, realm, key, now)
		if err != nil || !live {
			ok = false
			return err
		}
		if !se.Pending {
			return invalid("session", "the session is already signed in")
		}
		b, err := bucket(tx, realm, subSessions)
		if err != nil {
			return err
		}
		if err := b.Delete(key); err != nil {
			return err
		}
		se.Pending = false
		se.Created, se.LastSeen = now, now
		newRawID, err = s.putSession(tx, se)
		return err
	})
	if err != nil {
		return "", err
	}
	if !ok {
		return "", ErrSessionExpired
	}
	return newRawID, nil
}

// EndSession signs out the session rawID of realm. Ending an unknown
// session is not an error.
func (s *Service) EndSession(ctx context.Context, realm Realm, rawID string) error {
	if !realm.valid() {
		return invalid("realm", fmt.Sprintf("unknown realm %q", realm))
	}
	key, ok := s.sessionKey(rawID)
	if !ok {
		return nil
	}
	return s.db.Update(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, realm, subSessions)
		if err != nil {
			return err
		}
		return b.Delete(key)
	})
}

// deleteUserSessions deletes every session of user id of realm in tx.
func deleteUserSessions(tx *bolt.Tx, realm Realm, id uint64) (int, error) {
	return deleteSessions(tx, realm, func(se Session) bool { return se.UserID == id })
}

// deleteSessions deletes the sessions of realm for which match is true.
func deleteSessions(tx *bolt.Tx, realm Realm, match func(Session) bool) (int, error) {
	b, err := bucket(tx, realm, subSessions)
	if err != nil {
		return 0, err
	}
	var doomed [][]byte
	err = b.ForEach(func(k, v []byte) error {
		var se Session
		if err := json.Unmarshal(v, &se); err != nil {
			return fmt.Errorf("session: %w", err)
		}
		if match(se) {
			doomed = append(doomed, slices.Clone(k))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(doomed), nil
}

// EndUserSessions signs user userID of realm out everywhere and returns the
// number of sessions ended.
func (s *Service) EndUserSessions(ctx context.Context, realm Realm, userID uint64) (n int, err error) {
	err = s.db.Update(ctx, func(tx *bolt.Tx) error {
		n, err = deleteUserSessions(tx, realm, userID)
		return err
	})
	if err != nil {
		return 0, err
	}
	if n > 0 {
		s.log.Info("user signed out everywhere", "realm", realm, "user", userID, "sessions_ended", n)
	}
	return n, nil
}

// Sessions returns the live sessions of user userID of realm, oldest first.
func (s *Service) Sessions(ctx context.Context, realm Realm, userID uint64) ([]Session, error) {
	now := s.clock()
	var out []Session
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, realm, subSessions)
		if err != nil {
			return err
		}
		return b.ForEach(func(_, v []byte) error {
			var se Session
			if err := json.Unmarshal(v, &se); err != nil {
				return fmt.Errorf("session: %w", err)
			}
			if se.UserID == userID && !s.expired(se, now) {
				out = append(out, se)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Session) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// PruneSessions deletes the timed-out sessions of realm, which Lookup would
// otherwise delete only when their browser comes back, and returns how many
// it deleted. Call it now and then.
func (s *Service) PruneSessions(ctx context.Context, realm Realm) (n int, err error) {
	now := s.clock()
	err = s.db.Update(ctx, func(tx *bolt.Tx) error {
		n, err = deleteSessions(tx, realm, func(se Session) bool { return s.expired(se, now) })
		return err
	})
	return n, err
}
