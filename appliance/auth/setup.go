package auth

import (
	"context"
	"crypto/subtle"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SetupTokenTTL is how long a first-run setup token stays valid.
const SetupTokenTTL = time.Hour

const (
	purposeSetup = "setup-token"
	tokenLen     = 16 // bytes: 128 bits
)

var keySetupToken = []byte("token")

// b32 encodes setup tokens: URL-safe, and easy to read out and type.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// setupRecord is the stored form of a setup token.
type setupRecord struct {
	Hash    []byte    `json:"hash"` // KeyedHash(purposeSetup, token bytes)
	Expires time.Time `json:"expires"`
}

// decodeToken returns the bytes of a setup token; case does not matter.
func decodeToken(token string) ([]byte, bool) {
	b, err := b32.DecodeString(strings.ToUpper(token))
	if err != nil || len(b) != tokenLen {
		return nil, false
	}
	return b, true
}

// NewSetupToken makes a fresh one-time token that lets its holder create the
// first administrator of realm, replacing any older token. Only the token's
// keyed hash is stored. It fails with ErrSetupClosed once the realm has an
// enabled administrator.
func (s *Service) NewSetupToken(ctx context.Context, realm Realm) (token string, expires time.Time, err error) {
	raw := randomBytes(tokenLen)
	expires = s.clock().Add(SetupTokenTTL)
	err = s.db.Update(ctx, func(tx *bolt.Tx) error {
		b, err := bucket(tx, realm, subSetup)
		if err != nil {
			return err
		}
		found, err := hasAdmin(tx, realm)
		if err != nil {
			return err
		}
		if found {
			return ErrSetupClosed
		}
		v, err := json.Marshal(setupRecord{Hash: s.KeyedHash(purposeSetup, raw), Expires: expires})
		if err != nil {
			return err
		}
		return b.Put(keySetupToken, v)
	})
	if err != nil {
		return "", time.Time{}, err
	}
	s.log.Info("setup token issued", "realm", realm, "expires", expires)
	return strings.ToLower(b32.EncodeToString(raw)), expires, nil
}

// checkSetup reports whether token opens first-run setup of realm in tx.
func (s *Service) checkSetup(tx *bolt.Tx, realm Realm, token string) error {
	b, err := bucket(tx, realm, subSetup)
	if err != nil {
		return err
	}
	found, err := hasAdmin(tx, realm)
	if err != nil {
		return err
	}
	if found {
		return ErrSetupClosed
	}
	v := b.Get(keySetupToken)
	if v == nil {
		return ErrBadToken
	}
	var rec setupRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return fmt.Errorf("setup token: %w", err)
	}
	raw, ok := decodeToken(token)
	if !ok {
		return ErrBadToken
	}
	if subtle.ConstantTimeCompare(s.KeyedHash(purposeSetup, raw), rec.Hash) != 1 {
		return ErrBadToken
	}
	if !s.clock().Before(rec.Expires) {
		return ErrBadToken
	}
	return nil
}

// SetupOpen returns nil if token lets its holder create the first
// administrator of realm now: ErrSetupClosed once the realm has an enabled
// administrator, ErrBadToken for a wrong or expired token.
func (s *Service) SetupOpen(ctx context.Context, realm Realm, token string) error {
	return s.db.View(ctx, func(tx *bolt.Tx) error {
		return s.checkSetup(tx, realm, token)
	})
}

// CompleteSetup creates the first administrator of realm from nu and spends
// token, in one transaction that checks again that the realm has no
// administrator and that the token is valid; of concurrent calls exactly one
// succeeds. nu.Role may be empty; anything but RoleAdmin is refused.
func (s *Service) CompleteSetup(ctx context.Context, realm Realm, token string, nu NewUser) (User, error) {
	// Cheap checks first, so a caller without a token cannot make the
	// appliance hash passwords.
	if err := s.SetupOpen(ctx, realm, token); err != nil {
		return User{}, err
	}
	if nu.Role == "" {
		nu.Role = RoleAdmin
	}
	if nu.Role != RoleAdmin {
		return User{}, invalid("role", "the first account must be an administrator")
	}
	nu, err := checkNewUser(realm, nu)
	if err != nil {
		return User{}, err
	}
	hash, err := s.hashPassword(ctx, nu.Password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = s.db.Update(ctx, func(tx *bolt.Tx) error {
		if err := s.checkSetup(tx, realm, token); err != nil {
			return err
		}
		if u, err = s.insertUser(tx, realm, nu, hash); err != nil {
			return err
		}
		b, err := bucket(tx, realm, subSetup)
		if err != nil {
			return err
		}
		return b.Delete(keySetupToken)
	})
	if err != nil {
		return User{}, err
	}
	s.log.Info("setup complete", "realm", realm, "user", u.ID)
	return u.public(), nil
}
