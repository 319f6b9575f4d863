// Package bundle reads and writes Switchboard update bundles: one signed file
// that carries a new root image and its boot images to a box.
//
// A bundle is an uncompressed POSIX ustar archive whose entries come in this
// exact order:
//
//	manifest.json   the manifest (at most 64 KiB), below
//	manifest.sig    64-byte Ed25519 signature over the exact manifest bytes
//	uki-a.efi       unified kernel image for slot A
//	uki-b.efi       unified kernel image for slot B
//	root.squashfs   the read-only root file system, written raw to a slot
//
// The manifest names the version and the size and SHA-256 of each payload:
//
//	{"format":1,"product":"switchboard","version":"1.2.0",
//	 "created":"2026-01-02T03:04:05Z","key_id":"c923f0a53c54f689",
//	 "files":{"root.squashfs":{"size":N,"sha256":"…"},"uki-a.efi":{…},"uki-b.efi":{…}}}
//
// key_id is the hex of the first 8 bytes of SHA-256 over the raw 32-byte
// public key. [Open] reads only the manifest and the signature, checks the
// signature against the trusted keys and validates the manifest before it
// looks at anything else; [Bundle.VerifyPayload] then hashes every payload.
// Nothing in a bundle is trusted before its signature verified.
//
// This package is a leaf: the image build (cmd/mkbundle) writes bundles and
// appliance/update reads them.
package bundle

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Format is the manifest format this package reads and writes.
const Format = 1

// Product is the product name every manifest carries.
const Product = "switchboard"

// Entry names, in the order they appear in a bundle.
const (
	NameManifest  = "manifest.json"
	NameSignature = "manifest.sig"
	NameUKIA      = "uki-a.efi"
	NameUKIB      = "uki-b.efi"
	NameRoot      = "root.squashfs"
)

// Payloads are the payload entries in bundle order.
var Payloads = []string{NameUKIA, NameUKIB, NameRoot}

// Limits on what a bundle may hold.
const (
	MaxManifestSize = 64 << 10
	// MaxUKISize bounds each boot image.
	MaxUKISize = 512 << 20
	// MaxRootSize is the largest size a ustar header can carry (8 GiB - 1).
	MaxRootSize = 1<<33 - 1
)

// ErrInvalid is wrapped by every error about a malformed bundle or manifest.
var ErrInvalid = errors.New("invalid bundle")

// A Manifest describes a bundle.
type Manifest struct {
	Format  int                 `json:"format"`
	Product string              `json:"product"`
	Version string              `json:"version"`
	Created time.Time           `json:"created"`
	KeyID   string              `json:"key_id"`
	Files   map[string]FileInfo `json:"files"`
}

// FileInfo is the size and hex SHA-256 of one payload.
type FileInfo struct {
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// ParseManifest decodes and validates a manifest. It accepts exactly one JSON
// object with no unknown fields and no trailing data.
func ParseManifest(data []byte) (*Manifest, error) {
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("%w: manifest is %d bytes, at most %d allowed", ErrInvalid, len(data), MaxManifestSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: manifest: data after the JSON object", ErrInvalid)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// Validate checks every field of m.
func (m *Manifest) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: manifest: "+format, append([]any{ErrInvalid}, args...)...)
	}
	if m.Format != Format {
		return bad("format %d, this build reads format %d", m.Format, Format)
	}
	if m.Product != Product {
		return bad("product %q, want %q", m.Product, Product)
	}
	if _, err := ParseVersion(m.Version); err != nil {
		return bad("%v", err)
	}
	if m.Created.IsZero() {
		return bad("created time missing")
	}
	if len(m.KeyID) != 16 || !isLowerHex(m.KeyID) {
		return bad("key_id %q is not 16 lower-case hex digits", m.KeyID)
	}
	if len(m.Files) != len(Payloads) {
		return bad("lists %d files, want exactly %s", len(m.Files), strings.Join(Payloads, ", "))
	}
	for _, name := range Payloads {
		f, ok := m.Files[name]
		if !ok {
			return bad("file %s missing", name)
		}
		max := int64(MaxUKISize)
		if name == NameRoot {
			max = MaxRootSize
		}
		if f.Size <= 0 || f.Size > max {
			return bad("%s has size %d, want 1 to %d", name, f.Size, max)
		}
		if len(f.SHA256) != 64 || !isLowerHex(f.SHA256) {
			return bad("%s: sha256 is not 64 lower-case hex digits", name)
		}
	}
	return nil
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Sum returns the decoded SHA-256 of the named payload.
func (m *Manifest) Sum(name string) ([]byte, error) {
	f, ok := m.Files[name]
	if !ok {
		return nil, fmt.Errorf("%w: no file %s", ErrInvalid, name)
	}
	sum, err := hex.DecodeString(f.SHA256)
	if err != nil || len(sum) != 32 {
		return nil, fmt.Errorf("%w: %s: bad sha256", ErrInvalid, name)
	}
	return sum, nil
}

// A Version is a MAJOR.MINOR.PATCH release number.
type Version [3]uint32

// ParseVersion parses "MAJOR.MINOR.PATCH": decimal numbers of at most nine
// digits without leading zeros.
func ParseVersion(s string) (Version, error) {
	var v Version
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, fmt.Errorf("version %q is not MAJOR.MINOR.PATCH", s)
	}
	for i, p := range parts {
		if p == "" || len(p) > 9 || (len(p) > 1 && p[0] == '0') || strings.TrimLeft(p, "0123456789") != "" {
			return v, fmt.Errorf("version %q is not MAJOR.MINOR.PATCH", s)
		}
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return v, fmt.Errorf("version %q is not MAJOR.MINOR.PATCH", s)
		}
		v[i] = uint32(n)
	}
	return v, nil
}

// Compare returns -1, 0 or +1 as v is older than, equal to or newer than w.
func (v Version) Compare(w Version) int {
	for i := range v {
		switch {
		case v[i] < w[i]:
			return -1
		case v[i] > w[i]:
			return 1
		}
	}
	return 0
}

// String formats v as MAJOR.MINOR.PATCH.
func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

// marshal encodes m the way Write signs it: compact JSON, keys in a fixed
// order, the creation time in whole seconds UTC.
func (m *Manifest) marshal() ([]byte, error) {
	c := *m
	c.Created = c.Created.UTC().Truncate(time.Second)
	return json.Marshal(&c)
}
