package update

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/switchboardhq/switchboard/image/bundle"
)

// trustedKeys is set when applianced is linked for an image:
//
//	-ldflags "-X github.com/switchboardhq/switchboard/appliance/update.trustedKeys=<key>[,<key>...]"
//
// where each key is the standard base64 of a raw 32-byte Ed25519 public key
// (`go run ./cmd/mkbundle -print-trust FILE.pub` prints it). Empty means the
// build trusts no bundle.
var trustedKeys string

// TestKeyID is the id of image/testdata/keys/test-update.pub. Its private
// half is public, so a box that trusts it accepts updates from anyone;
// Status says so.
const TestKeyID = "c923f0a53c54f689"

// TrustedKeys returns the keys compiled into this build.
func TrustedKeys() ([]ed25519.PublicKey, error) { return ParseTrustedKeys(trustedKeys) }

// ParseTrustedKeys parses a comma-separated list of base64 raw Ed25519
// public keys. The empty string gives no keys.
func ParseTrustedKeys(s string) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	for i, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(f)
		if err != nil || len(raw) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("trusted update key %d is not the base64 of a 32-byte Ed25519 key (this build is broken)", i+1)
		}
		keys = append(keys, ed25519.PublicKey(raw))
	}
	return keys, nil
}

// KeyIDs names keys as bundles do.
func KeyIDs(keys []ed25519.PublicKey) []string {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = bundle.KeyID(k)
	}
	return ids
}
