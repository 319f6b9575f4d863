package auth

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	bolt "go.etcd.io/bbolt"
)

// TOTP settings every authenticator app understands: 6 digits every 30 s,
// HMAC-SHA1, and one step of clock skew either way.
const (
	totpPeriod     = 30
	totpDigits     = otp.DigitsSix
	totpSecretSize = 20 // bytes
	totpQRSize     = 200
	// DefaultIssuer names the appliance in authenticator apps when the caller
	// gives no issuer.
	DefaultIssuer = "Switchboard"
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: totpDigits, Algorithm: otp.AlgorithmSHA1}

// An Enrolment is a proposed TOTP secret, shown to the user as text, as an
// otpauth:// URL and as a QR code of that URL.
type Enrolment struct {
	Secret string // base32
	URL    string // otpauth://totp/…
	QRPNG  []byte // 200×200 PNG of URL
}

// BeginTOTP proposes a new TOTP secret for user id of realm, named issuer
// in authenticator apps. Nothing is stored until ConfirmTOTP.
func (s *Service) BeginTOTP(ctx context.Context, realm Realm, id uint64, issuer string) (Enrolment, error) {
	u, err := s.User(ctx, realm, id)
	if err != nil {
		return Enrolment{}, err
	}
	if issuer == "" {
		issuer = DefaultIssuer
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: u.Username,
		Period:      totpPeriod,
		SecretSize:  totpSecretSize,
		Digits:      totpDigits,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return Enrolment{}, fmt.Errorf("totp: %w", err)
	}
	img, err := key.Image(totpQRSize, totpQRSize)
	if err != nil {
		return Enrolment{}, fmt.Errorf("totp: qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return Enrolment{}, fmt.Errorf("totp: qr code: %w", err)
	}
	return Enrolment{Secret: key.Secret(), URL: key.URL(), QRPNG: buf.Bytes()}, nil
}

// normalizeSecret checks a base32 TOTP secret and returns it upper-cased
// without spaces or padding.
func normalizeSecret(secret string) (string, error) {
	secret = strings.TrimRight(strings.ToUpper(strings.ReplaceAll(secret, " ", "")), "=")
	b, err := b32.DecodeString(secret)
	if err != nil || len(b) < 16 || len(b) > 64 {
		return "", invalid("secret", "the secret is not a TOTP secret; start the set-up again")
	}
	return secret, nil
}

// matchStep reports the time step within one step of now whose code is code,
// considering only steps after the step after; of several, the latest.
func matchStep(secret, code string, now time.Time, after uint64) (uint64, bool) {
	code = strings.ReplaceAll(code, " ", "")
	if len(code) != totpDigits.Length() || strings.Trim(code, "0123456789") != "" {
		return 0, false
	}
	unix := now.Unix()
	if unix < totpPeriod {
		return 0, false
	}
	cur := uint64(unix) / totpPeriod
	var match uint64
	for _, step := range []uint64{cur + 1, cur, cur - 1} {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(int64(step*totpPeriod), 0), totpOpts)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && step > after && match == 0 {
			match = step
		}
	}
	return match, match != 0
}

// ConfirmTOTP turns on TOTP for user id of realm with secret (from
// BeginTOTP), once code shows the user's authenticator has it. It replaces
// any earlier secret; the code given is spent. It fails with ErrBadCode for a
// wrong code.
func (s *Service) ConfirmTOTP(ctx context.Context, realm Realm, id uint64, secret, code string) error {
	secret, err := normalizeSecret(secret)
	if err != nil {
		return err
	}
	step, ok := matchStep(secret, code, s.clock(), 0)
	if !ok {
		return ErrBadCode
	}
	err = s.updateUser(ctx, realm, id, func(_ *bolt.Tx, u *User) error {
		if u.Disabled {
			return ErrDisabled
		}
		u.TOTPSecret = secret
		u.TOTPLastStep = step
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("totp enabled", "realm", realm, "user", id)
	return nil
}

// VerifyTOTP checks code, the second factor of user id of realm, for a
// client at source. A code is accepted once: its time step must be later than
// the last one accepted, and is recorded in the same transaction. Wrong codes
// fail with ErrBadCode and are throttled like wrong passwords (*ThrottledError).
func (s *Service) VerifyTOTP(ctx context.Context, realm Realm, id uint64, code, source string) error {
	if !realm.valid() {
		return invalid("realm", fmt.Sprintf("unknown realm %q", realm))
	}
	acct, src := secondFactorKey(realm, id), sourceKey(source)
	if wait := s.throttle.begin(acct, src); wait > 0 {
		s.log.Warn("second factor throttled", "realm", realm, "user", id, "source", source, "retry_after", wait)
		return &ThrottledError{RetryAfter: wait}
	}
	result := abandoned
	defer func() { s.throttle.end(result, acct, src) }()

	var u User
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		var err error
		u, err = getUser(tx, realm, id)
		return err
	})
	switch {
	case err != nil:
		return err
	case u.Disabled:
		return ErrDisabled
	case !u.HasTOTP():
		return invalid("code", "two-step sign-in is not set up for this account")
	}
	step, ok := matchStep(u.TOTPSecret, code, s.clock(), u.TOTPLastStep)
	if !ok {
		result = failed
		s.log.Info("second factor failed", "realm", realm, "user", id, "source", source)
		return ErrBadCode
	}
	err = s.updateUser(ctx, realm, id, func(_ *bolt.Tx, cur *User) error {
		switch {
		case cur.Disabled:
			return ErrDisabled
		case cur.TOTPSecret != u.TOTPSecret || step <= cur.TOTPLastStep:
			// Spent by a concurrent call, or the secret changed meanwhile.
			result = failed
			return ErrBadCode
		}
		cur.TOTPLastStep = step
		return nil
	})
	if err != nil {
		return err
	}
	result = succeeded
	return nil
}

// DisableTOTP turns off TOTP for user id of realm.
func (s *Service) DisableTOTP(ctx context.Context, realm Realm, id uint64) error {
	err := s.updateUser(ctx, realm, id, func(_ *bolt.Tx, u *User) error {
		u.TOTPSecret = ""
		u.TOTPLastStep = 0
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("totp disabled", "realm", realm, "user", id)
	return nil
}
