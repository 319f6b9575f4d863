package auth

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"

	bolt "go.etcd.io/bbolt"
)

// maxSourceLen bounds the source address kept as a throttle key.
const maxSourceLen = 64

// srcPrefix starts every source key: a success only halves their failures.
const srcPrefix = "src\x00"

// accountKey is the account-wide throttle key of a username in realm; name
// is lower-cased. It holds back attempts from browsers the account has not
// signed in from (see Authenticate).
func accountKey(realm Realm, name string) string { return "acct\x00" + string(realm) + "\x00" + name }

// pairKey is the throttle key of a username tried from one source.
func pairKey(realm Realm, name, src string) string {
	return "pair\x00" + string(realm) + "\x00" + name + "\x00" + src
}

// deviceKey is the throttle key of a username tried from one known browser.
func deviceKey(realm Realm, name string, nonce []byte) string {
	return "dev\x00" + string(realm) + "\x00" + name + "\x00" + string(nonce)
}

// secondFactorKey is the throttle key of a user's second factor. It is apart
// from the account key so that a right password does not clear the failures
// of wrong codes.
func secondFactorKey(realm Realm, id uint64) string {
	return fmt.Sprintf("2fa\x00%s\x00%d", realm, id)
}

// sourceKey is the throttle key of a client address, shared by both realms.
// An IPv6 client is keyed by its /64, the smallest block a site is given, so
// one host cannot spray from the many addresses of its own network.
func sourceKey(source string) string {
	if source == "" {
		return ""
	}
	if a, err := netip.ParseAddr(source); err == nil {
		a = a.Unmap().WithZone("")
		if a.Is6() {
			p, _ := a.Prefix(64)
			source = p.String()
		} else {
			source = a.String()
		}
	}
	if len(source) > maxSourceLen {
		source = source[:maxSourceLen]
	}
	return srcPrefix + source
}

// Device tokens mark a browser an account has fully signed in from. The
// token is a random nonce and a keyed hash of it with the realm and the
// username, so it cannot be made up for another account and needs no store.
const (
	deviceNonceLen = 16
	deviceMACLen   = 16
)

func (s *Service) deviceMAC(realm Realm, name string, nonce []byte) []byte {
	msg := append([]byte(string(realm)+"\x00"+name+"\x00"), nonce...)
	return s.KeyedHash("sign-in device", msg)[:deviceMACLen]
}

// DeviceToken returns a new device token for username in realm, to be kept
// by the browser (a long-lived cookie) after a complete sign-in, second
// factor included. Authenticate with it skips the account-wide throttle, so
// an attacker spraying wrong passwords at the account from elsewhere cannot
// lock its owner out.
func (s *Service) DeviceToken(realm Realm, username string) string {
	name, err := normalizeUsername(username)
	if err != nil {
		return ""
	}
	nonce := randomBytes(deviceNonceLen)
	return base64.RawURLEncoding.EncodeToString(append(nonce, s.deviceMAC(realm, name, nonce)...))
}

// deviceNonce returns the nonce of token if it is a device token of name.
func (s *Service) deviceNonce(realm Realm, name, token string) ([]byte, bool) {
	if token == "" || len(token) > 64 {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != deviceNonceLen+deviceMACLen {
		return nil, false
	}
	nonce := raw[:deviceNonceLen]
	return nonce, hmac.Equal(raw[deviceNonceLen:], s.deviceMAC(realm, name, nonce))
}

// throttleKeys are the keys an attempt on name from src counts against. From
// a browser holding a device token of the account, only that browser's own
// key: the token proves the browser signed in to this account before, so
// neither a spray at the account from elsewhere nor one from the same
// network (an office behind one address) holds it back, and a stolen token
// is worth only its own few guesses. From any other browser: the pair of
// account and source, the account as a whole, and the source.
func (s *Service) throttleKeys(realm Realm, name, src, device string) []string {
	if name == "" {
		return []string{src}
	}
	if nonce, ok := s.deviceNonce(realm, name, device); ok {
		return []string{deviceKey(realm, name, nonce)}
	}
	return []string{pairKey(realm, name, src), accountKey(realm, name), src}
}

// Authenticate checks username and password in realm for a client at source
// (its IP address) and returns the user; it is AuthenticateDevice from a
// browser without a device token.
func (s *Service) Authenticate(ctx context.Context, realm Realm, username, password, source string) (User, error) {
	return s.AuthenticateDevice(ctx, realm, username, password, source, "")
}

// AuthenticateDevice checks username and password in realm for a client at
// source (its IP address) from a browser holding device (a DeviceToken, or
// "") and returns the user. Unknown users, wrong passwords and disabled
// accounts all fail with ErrBadCredentials after the same work. After
// repeated failures, attempts are refused without looking at the password
// with a *ThrottledError: failures count against the source, against the
// account from that source, and against the account as a whole — except
// from a browser with the account's device token, which only its own
// failures hold back (see throttleKeys). Failures from many sources are kept for SignInAttacks.
//
// A user with HasTOTP must still pass VerifyTOTP before being treated as
// signed in.
func (s *Service) AuthenticateDevice(ctx context.Context, realm Realm, username, password, source, device string) (User, error) {
	if !realm.valid() {
		return User{}, invalid("realm", fmt.Sprintf("unknown realm %q", realm))
	}
	name, nameErr := normalizeUsername(username)
	if nameErr != nil {
		name = "" // a name that cannot exist is still counted against its source
	}
	src := sourceKey(source)
	keys := s.throttleKeys(realm, name, src, device)
	if wait := s.throttle.begin(keys...); wait > 0 {
		s.log.Warn("sign-in throttled", "realm", realm, "source", source, "retry_after", wait)
		return User{}, &ThrottledError{RetryAfter: wait}
	}
	result := abandoned
	defer func() { s.throttle.end(result, keys...) }()

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
		if nameErr == nil {
			s.attacks.failed(realm, name, src)
		}
		s.log.Info("sign-in failed", "realm", realm, "source", source,
			"known_user", found, "disabled", found && u.Disabled)
		return User{}, ErrBadCredentials
	}
	result = succeeded
	s.log.Info("signed in", "realm", realm, "user", u.ID, "source", source, "totp", u.HasTOTP())
	return u.public(), nil
}
