package bundle

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Errors about trust and payload integrity. Structural problems wrap
// ErrInvalid.
var (
	// ErrUntrusted reports a bundle whose signature no trusted key verifies.
	ErrUntrusted = errors.New("bundle signature not trusted")
	// ErrDamaged reports a payload whose size or hash differs from the manifest.
	ErrDamaged = errors.New("bundle payload does not match its manifest")
)

// MaxPadding is how many zero bytes may follow the archive's end blocks
// (tar pads archives to whole records: 10 KiB by default).
const MaxPadding = 1 << 20

const block = 512

// A Bundle is an opened bundle whose signature and manifest are verified.
// Its payloads are not, until [Bundle.VerifyPayload] succeeds.
type Bundle struct {
	// Manifest is the signed manifest.
	Manifest *Manifest
	// KeyID names the trusted key that verified the signature.
	KeyID string

	r     io.ReaderAt
	files map[string]section
}

type section struct{ off, size int64 }

// Open reads the manifest and signature at the start of the bundle in r
// (size bytes long), verifies the signature with the trusted keys and
// validates the manifest. Only then does it read the remaining tar headers
// and check that the archive holds exactly the expected entries, in order,
// with the sizes the manifest gives, and nothing after them but zero padding.
// It reads no payload bytes.
func Open(r io.ReaderAt, size int64, trusted []ed25519.PublicKey) (*Bundle, error) {
	return open(r, size, func(manifest, sig []byte) (string, error) {
		return verifySignature(manifest, sig, trusted)
	})
}

// open is Open with the signature check as a parameter, so fuzzing can reach
// the code behind it.
func open(r io.ReaderAt, size int64, verify func(manifest, sig []byte) (keyID string, err error)) (*Bundle, error) {
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size", ErrInvalid)
	}
	t := &tarReader{r: r, size: size}
	manifest, err := t.small(0, NameManifest, MaxManifestSize)
	if err != nil {
		return nil, err
	}
	sig, err := t.small(1, NameSignature, ed25519.SignatureSize)
	if err != nil {
		return nil, err
	}
	if len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: %s has %d bytes, want %d", ErrInvalid, NameSignature, len(sig), ed25519.SignatureSize)
	}
	keyID, err := verify(manifest, sig)
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(manifest)
	if err != nil {
		return nil, err
	}
	if m.KeyID != keyID {
		return nil, fmt.Errorf("%w: manifest names key %s but key %s signed it", ErrInvalid, m.KeyID, keyID)
	}
	b := &Bundle{Manifest: m, KeyID: keyID, r: r, files: map[string]section{}}
	for i, name := range Payloads {
		h, err := t.next(2 + i)
		if err != nil {
			return nil, err
		}
		if err := t.expect(h, 2+i, name); err != nil {
			return nil, err
		}
		if want := m.Files[name].Size; h.size != want {
			return nil, fmt.Errorf("%w: %s has %d bytes in the archive, the manifest says %d", ErrInvalid, name, h.size, want)
		}
		b.files[name] = section{h.off, h.size}
		t.skip(h)
	}
	if err := t.end(); err != nil {
		return nil, err
	}
	return b, nil
}

// verifySignature finds the trusted key that signed manifest and returns its
// id. The error says which key signed it when that can be told.
func verifySignature(manifest, sig []byte, trusted []ed25519.PublicKey) (string, error) {
	if len(trusted) == 0 {
		return "", fmt.Errorf("%w: no key is trusted", ErrUntrusted)
	}
	ids := make([]string, 0, len(trusted))
	claimed := claimedKeyID(manifest)
	for _, pub := range trusted {
		if len(pub) != ed25519.PublicKeySize {
			continue
		}
		id := KeyID(pub)
		ids = append(ids, id)
		if ed25519.Verify(pub, manifest, sig) {
			return id, nil
		}
	}
	for _, id := range ids {
		if id == claimed {
			return "", fmt.Errorf("%w: the signature does not match the manifest (changed after signing, or a damaged signature)", ErrUntrusted)
		}
	}
	if claimed != "" {
		return "", fmt.Errorf("%w: signed with key %s; this build trusts %s", ErrUntrusted, claimed, strings.Join(ids, ", "))
	}
	return "", fmt.Errorf("%w: no trusted key (%s) verifies the signature", ErrUntrusted, strings.Join(ids, ", "))
}

// claimedKeyID reads key_id from an unverified manifest, for messages only.
func claimedKeyID(manifest []byte) string {
	var m struct {
		KeyID string `json:"key_id"`
	}
	if json.Unmarshal(manifest, &m) != nil || len(m.KeyID) != 16 || !isLowerHex(m.KeyID) {
		return ""
	}
	return m.KeyID
}

// Size returns the size of the named payload, or -1 for an unknown name.
func (b *Bundle) Size(name string) int64 {
	s, ok := b.files[name]
	if !ok {
		return -1
	}
	return s.size
}

// File returns a reader over the named payload and its size. The bytes are
// read from the bundle each time: a caller that needs them to match the
// manifest hashes them again (see [Bundle.VerifyPayload]). An unknown name
// gives a reader that fails and size -1.
func (b *Bundle) File(name string) (io.Reader, int64) {
	s, ok := b.files[name]
	if !ok {
		return errReader{fmt.Errorf("bundle has no file %q", name)}, -1
	}
	return io.NewSectionReader(b.r, s.off, s.size), s.size
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// VerifyPayload reads every payload and checks its size and SHA-256 against
// the manifest. progress, when not nil, is called as bytes are hashed.
func (b *Bundle) VerifyPayload(progress func(done, total int64)) error {
	var total, done int64
	for _, name := range Payloads {
		total += b.files[name].size
	}
	buf := make([]byte, 1<<20)
	for _, name := range Payloads {
		r, size := b.File(name)
		h := sha256.New()
		for n := int64(0); n < size; {
			k, err := io.ReadFull(r, buf[:min(int64(len(buf)), size-n)])
			h.Write(buf[:k])
			n += int64(k)
			done += int64(k)
			if err != nil {
				return fmt.Errorf("%w: %s: read %d of %d bytes: %v", ErrDamaged, name, n, size, err)
			}
			if progress != nil {
				progress(done, total)
			}
		}
		want, err := b.Manifest.Sum(name)
		if err != nil {
			return err
		}
		if !bytes.Equal(h.Sum(nil), want) {
			return fmt.Errorf("%w: %s has the wrong SHA-256 (the bundle is damaged or was altered)", ErrDamaged, name)
		}
	}
	return nil
}
