package auth

import (
	"context"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// maxSourceLen bounds the source address kept as a throttle key.
const maxSourceLen = 64

// accountKey is the throttle key of a username in realm; name is lower-cased.
func accountKey(realm Realm, name string) string { return "acct\x00" + string(realm) + "\x00" + name }

// secondFactorKey is the throttle key of a user's second factor. It is apart
// from the account key so that a right password does not clear the failures
// of wrong codes.
func secondFactorKey(realm Realm, id uint64) string {
	return fmt.Sprintf("2fa\x00%s\x00%d", realm, id)
}

// sourceKey is the throttle key of a client address, shared by both realms.
func sourceKey(source string) string {
	if source == "" {
		return ""
	}
	if len(source) > maxSourceLen {
		source = source[:maxSourceLen]
	}
	return "src\x00" + source
}

// Authenticate checks username and password in realm for a client at source
// (its IP address) and returns the user. Unknown users, wrong passwords and
// disabled accounts all fail with ErrBadCredentials after the same work.
// After repeated failures for the username or from the source, attempts are
// refused without looking at the password with a *ThrottledError.
//
// A user with HasTOTP must still pass VerifyTOTP before being treated as
// signed in.
func (s *Service) Authenticate(ctx context.Context, realm Realm, username, password, source string) (User, error) {
	if !realm.valid() {
		return User{}, invalid("realm", fmt.Sprintf("unknown realm %q", realm))
	}
	name, nameErr := normalizeUsername(username)
	acct := ""
	if nameErr == nil {
		// A name that cannot exist is still counted against its source.
		acct = accountKey(realm, name)
	}
	src := sourceKey(source)
	if wait := s.throttle.begin(acct, src); wait > 0 {
		s.log.Warn("sign-in throttled", "realm", realm, "source", source, "retry_after", wait)
		return User{}, &ThrottledError{RetryAfter: wait}
	}
	result := abandoned
	defer func() { s.throttle.end(acct, src, result) }()

	var u User
	found := false
	if nameErr == nil {
		err := s.db.View(ctx, func(tx *bolt.Tx) error {
			var err error
			u, err = userByName(tx, realm, name)
			return err
		})
		switch {
		case err == nil:
			found = true
		case !errors.Is(err, ErrNotFound):
			return User{}, err
		}
	}
	hash := s.dummy
	if found {
		hash = u.PasswordHash
	}
	ok, err := s.verifyPassword(ctx, hash, password)
	if err != nil {
		if !errors.Is(err, errHashFormat) {
			return User{}, err // cancelled while waiting for a hashing slot
		}
		s.log.Error("stored password hash unreadable", "realm", realm, "user", u.ID, "err", err)
	}
	if !found || !ok || u.Disabled {
		result = failed
		s.log.Info("sign-in failed", "realm", realm, "source", source,
			"known_user", found, "disabled", found && u.Disabled)
		return User{}, ErrBadCredentials
	}
	result = succeeded
	s.log.Info("signed in", "realm", realm, "user", u.ID, "source", source, "totp", u.HasTOTP())
	return u.public(), nil
}
