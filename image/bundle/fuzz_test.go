package bundle

import (
	"bytes"
	"crypto/ed25519"
	"testing"
)

// FuzzOpen feeds arbitrary bytes to Open with the test key trusted, and to
// the same reader with the signature check replaced by one that accepts
// anything, so the fuzzer also reaches the manifest and archive checks that
// sit behind the signature.
func FuzzOpen(f *testing.F) {
	// Small payloads keep the seeds short, which keeps minimizing cheap.
	paths, _ := sizedPayloads(f, map[string]int{NameUKIA: 3, NameUKIB: 2, NameRoot: 700})
	var buf bytes.Buffer
	if err := Write(&buf, "1.2.0", created, mustKey(f, "test-update"), paths); err != nil {
		f.Fatal(err)
	}
	good := buf.Bytes()
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(good[:1024])
	f.Add(append(append([]byte(nil), good...), make([]byte, 4096)...))
	f.Add(append(append([]byte(nil), good...), "junk"...))
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-1300] ^= 0xff
	f.Add(flipped)
	f.Add([]byte{})
	f.Add(make([]byte, 1024))
	trusted := []ed25519.PublicKey{mustPub(f, "test-update")}
	f.Fuzz(func(t *testing.T, data []byte) {
		if b, err := Open(bytes.NewReader(data), int64(len(data)), trusted); err == nil {
			b.VerifyPayload(nil)
		}
		accept := func(manifest, sig []byte) (string, error) { return claimedKeyID(manifest), nil }
		b, err := open(bytes.NewReader(data), int64(len(data)), accept)
		if err != nil {
			return
		}
		for _, name := range Payloads {
			s := b.files[name]
			if s.off < 0 || s.size != b.Manifest.Files[name].Size || s.off+s.size > int64(len(data)) {
				t.Fatalf("%s: section %+v outside %d bytes or not the manifest size", name, s, len(data))
			}
		}
		b.VerifyPayload(func(done, total int64) {
			if done > total {
				t.Fatalf("progress %d > %d", done, total)
			}
		})
	})
}

// FuzzParseManifest checks that ParseManifest never panics and that a
// manifest it accepts survives an encode and decode unchanged.
func FuzzParseManifest(f *testing.F) {
	valid, _ := validManifest().marshal()
	f.Add(valid)
	f.Add([]byte(`{"format":1}`))
	f.Add([]byte(`{"format":1,"product":"switchboard","version":"1.2.3","created":"2026-01-02T03:04:05Z","key_id":"c923f0a53c54f689","files":{}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"files":{"root.squashfs":{"size":-1,"sha256":""}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			return
		}
		again, err := m.marshal()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParseManifest(again)
		if err != nil {
			t.Fatalf("re-encoded manifest refused: %v\n%s", err, again)
		}
		if m2.Version != m.Version || len(m2.Files) != len(m.Files) || !m2.Created.Equal(m.Created.Truncate(1e9)) {
			t.Fatalf("round trip changed the manifest: %+v vs %+v", m, m2)
		}
	})
}

// FuzzParseKeys checks that the key parsers never panic and return keys of
// the right length.
func FuzzParseKeys(f *testing.F) {
	for _, name := range []string{"test-update.key", "test-update.pub", "wrong-update.pub"} {
		data, err := readSmall(keyDir + "/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if k, err := ParsePrivateKey(data); err == nil && len(k) != ed25519.PrivateKeySize {
			t.Fatalf("private key of %d bytes", len(k))
		}
		if k, err := ParsePublicKey(data); err == nil && len(k) != ed25519.PublicKeySize {
			t.Fatalf("public key of %d bytes", len(k))
		}
	})
}
