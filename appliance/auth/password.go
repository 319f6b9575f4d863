package auth

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are the Argon2id cost parameters of a password hash.
type Params struct {
	Time      uint32 // passes over memory (t)
	MemoryKiB uint32 // memory in KiB (m)
	Threads   uint8  // lanes (p)
}

// DefaultParams are the parameters of new password hashes unless Config says
// otherwise: about 40 ms and 19 MiB per hash on the appliance.
var DefaultParams = Params{Time: 2, MemoryKiB: 19456, Threads: 1}

// Bounds on parameters, whether configured or read from a stored hash, so a
// damaged or hostile hash string cannot make verification take unbounded
// memory or time.
const (
	maxTime      = 10
	maxMemoryKiB = 256 * 1024
	maxThreads   = 8
	saltLen      = 16
	keyLen       = 32
	minSaltLen   = 8
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 64
	maxEncoded   = 256
)

// Password policy, in bytes.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 256
)

func (p Params) check() error {
	switch {
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("t=%d out of range 1..%d", p.Time, maxTime)
	case p.Threads < 1 || p.Threads > maxThreads:
		return fmt.Errorf("p=%d out of range 1..%d", p.Threads, maxThreads)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("m=%d out of range %d..%d", p.MemoryKiB, 8*uint32(p.Threads), maxMemoryKiB)
	}
	return nil
}

var b64 = base64.RawStdEncoding.Strict()

// encodeHash derives the Argon2id key of password and salt and encodes it
// with its parameters in the PHC string format.
func encodeHash(p Params, password, salt []byte) (string, error) {
	if err := p.check(); err != nil {
		return "", err
	}
	key := argon2.IDKey(password, salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	return formatHash(phc{p, salt, key}), nil
}

// phc is a parsed Argon2id hash string.
type phc struct {
	Params
	salt, key []byte
}

func formatHash(h phc) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.MemoryKiB, h.Time, h.Threads, b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

var errHashFormat = errors.New("not an argon2id hash")

// parseHash parses an Argon2id PHC string. It accepts only the canonical
// form formatHash writes, with every parameter bounded, and never panics.
func parseHash(s string) (phc, error) {
	var h phc
	if len(s) > maxEncoded {
		return h, fmt.Errorf("%w: %d bytes", errHashFormat, len(s))
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return h, errHashFormat
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, fmt.Errorf("%w: version %q", errHashFormat, parts[2])
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return h, fmt.Errorf("%w: parameters %q", errHashFormat, parts[3])
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		num, ok := strings.CutPrefix(kv[i], name)
		if !ok {
			return h, fmt.Errorf("%w: parameters %q", errHashFormat, parts[3])
		}
		v, err := strconv.ParseUint(num, 10, 32)
		if err != nil || strconv.FormatUint(v, 10) != num {
			return h, fmt.Errorf("%w: parameter %q", errHashFormat, kv[i])
		}
		vals[i] = v
	}
	if vals[2] > maxThreads {
		return h, fmt.Errorf("%w: p=%d out of range", errHashFormat, vals[2])
	}
	h.Params = Params{MemoryKiB: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2])}
	if err := h.check(); err != nil {
		return h, fmt.Errorf("%w: %v", errHashFormat, err)
	}
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < minSaltLen || len(h.salt) > maxSaltLen {
		return h, fmt.Errorf("%w: salt", errHashFormat)
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < minKeyLen || len(h.key) > maxKeyLen {
		return h, fmt.Errorf("%w: key", errHashFormat)
	}
	return h, nil
}

// verifyHash reports whether password matches the PHC string encoded.
func verifyHash(encoded string, password []byte) (bool, error) {
	h, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey(password, h.salt, h.Time, h.MemoryKiB, h.Threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// acquireHash takes a hashing slot, waiting no longer than ctx allows.
func (s *Service) acquireHash(ctx context.Context) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case s.hashSem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if s.hashHook != nil {
		s.hashHook()
	}
	return func() { <-s.hashSem }, nil
}

// hashPassword returns the PHC string of password under the configured
// parameters and a fresh salt.
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	release, err := s.acquireHash(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return encodeHash(s.argon, []byte(password), randomBytes(saltLen))
}

// verifyPassword reports whether password matches encoded. An unreadable
// hash is an error; the dummy hash is verified in its place so the call
// costs the same.
func (s *Service) verifyPassword(ctx context.Context, encoded, password string) (bool, error) {
	release, err := s.acquireHash(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	pw := []byte(password)
	if len(pw) > MaxPasswordLen {
		// No stored password is this long; do the same work on a bounded
		// input and fail.
		verifyHash(s.dummy, pw[:MaxPasswordLen])
		return false, nil
	}
	ok, err := verifyHash(encoded, pw)
	if err != nil {
		verifyHash(s.dummy, pw)
		return false, err
	}
	return ok, nil
}

// checkPassword applies the password policy.
func checkPassword(pw string) error {
	switch {
	case len(pw) < MinPasswordLen:
		return invalid("password", fmt.Sprintf("use at least %d characters", MinPasswordLen))
	case len(pw) > MaxPasswordLen:
		return invalid("password", fmt.Sprintf("use at most %d bytes", MaxPasswordLen))
	case !utf8.ValidString(pw):
		return invalid("password", "the password is not valid text (UTF-8); type it again")
	}
	return nil
}
