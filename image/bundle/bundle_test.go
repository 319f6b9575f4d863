package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const keyDir = "../testdata/keys"

func mustKey(t testing.TB, name string) ed25519.PrivateKey {
	t.Helper()
	k, err := LoadPrivateKeyFile(filepath.Join(keyDir, name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustPub(t testing.TB, name string) ed25519.PublicKey {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(keyDir, name+".pub"))
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParsePublicKey(data)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var created = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// payloads writes three small payload files and returns name → path and
// name → contents.
func payloads(t testing.TB) (map[string]string, map[string][]byte) {
	return sizedPayloads(t, map[string]int{NameUKIA: 1000, NameUKIB: 1536, NameRoot: 5000})
}

func sizedPayloads(t testing.TB, sizes map[string]int) (map[string]string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	paths, data := map[string]string{}, map[string][]byte{}
	for _, name := range Payloads {
		b := make([]byte, sizes[name])
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths[name], data[name] = p, b
	}
	return paths, data
}

func goodBundle(t testing.TB, key ed25519.PrivateKey) ([]byte, map[string][]byte) {
	t.Helper()
	paths, data := payloads(t)
	var buf bytes.Buffer
	if err := Write(&buf, "1.2.0", created, key, paths); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), data
}

func TestRoundTrip(t *testing.T) {
	key := mustKey(t, "test-update")
	raw, data := goodBundle(t, key)
	b, err := Open(bytes.NewReader(raw), int64(len(raw)), []ed25519.PublicKey{mustPub(t, "wrong-update"), mustPub(t, "test-update")})
	if err != nil {
		t.Fatal(err)
	}
	if b.KeyID != "c923f0a53c54f689" || b.Manifest.KeyID != b.KeyID {
		t.Errorf("key id = %s / %s", b.KeyID, b.Manifest.KeyID)
	}
	if b.Manifest.Version != "1.2.0" || !b.Manifest.Created.Equal(created) {
		t.Errorf("manifest = %+v", b.Manifest)
	}
	var last, total int64
	if err := b.VerifyPayload(func(d, tot int64) { last, total = d, tot }); err != nil {
		t.Fatal(err)
	}
	if want := int64(1000 + 1536 + 5000); last != want || total != want {
		t.Errorf("progress ended at %d/%d, want %d", last, total, want)
	}
	for name, want := range data {
		r, size := b.File(name)
		got, err := io.ReadAll(r)
		if err != nil || size != int64(len(want)) || !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes, size %d, err %v", name, len(got), size, err)
		}
	}
	if _, size := b.File("other"); size != -1 {
		t.Error("unknown file has a size")
	}

	// The same inputs give the same bytes.
	again, _ := goodBundle(t, key)
	if !bytes.Equal(raw, again) {
		t.Error("Write is not reproducible")
	}
	// archive/tar reads it as plain ustar, entries in order.
	tr := tar.NewReader(bytes.NewReader(raw))
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Format != tar.FormatUSTAR || h.Typeflag != tar.TypeReg {
			t.Errorf("%s: format %v type %c", h.Name, h.Format, h.Typeflag)
		}
		names = append(names, h.Name)
	}
	if got := strings.Join(names, " "); got != "manifest.json manifest.sig uki-a.efi uki-b.efi root.squashfs" {
		t.Errorf("entries = %s", got)
	}
	m, _ := entries(t, raw)
	if !bytes.HasPrefix(m[0].data, []byte(`{"format":1,"product":"switchboard","version":"1.2.0","created":"2026-01-02T03:04:05Z","key_id":"c923f0a53c54f689","files":{"root.squashfs":{"size":5000,"sha256":"`)) {
		t.Errorf("manifest = %s", m[0].data)
	}
}

func TestWriteRefuses(t *testing.T) {
	key := mustKey(t, "test-update")
	paths, _ := payloads(t)
	for _, c := range []struct {
		name, version string
		files         func(map[string]string)
		want          string
	}{
		{"bad version", "1.2", nil, "MAJOR.MINOR.PATCH"},
		{"git version", "291bc17-dirty", nil, "MAJOR.MINOR.PATCH"},
		{"missing file", "1.0.0", func(m map[string]string) { delete(m, NameUKIB) }, "uki-b.efi missing"},
		{"extra file", "1.0.0", func(m map[string]string) { m["evil.sh"] = m[NameRoot] }, "unknown bundle files evil.sh"},
		{"directory", "1.0.0", func(m map[string]string) { m[NameRoot] = filepath.Dir(m[NameRoot]) }, "not a regular file"},
		{"empty file", "1.0.0", func(m map[string]string) {
			p := filepath.Join(t.TempDir(), "empty")
			os.WriteFile(p, nil, 0o644)
			m[NameUKIA] = p
		}, "size 0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range paths {
				files[k] = v
			}
			if c.files != nil {
				c.files(files)
			}
			err := Write(io.Discard, c.version, created, key, files)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

type tent struct {
	hdr  tar.Header
	data []byte
}

// entries splits a bundle into its tar entries.
func entries(t testing.TB, raw []byte) ([]tent, []byte) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(raw))
	var out []tent
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		out = append(out, tent{*h, data})
	}
	return out, nil
}

// assemble writes entries as a tar archive. A header's Size is set from its
// data unless sizeOf overrides it.
func assemble(t testing.TB, es []tent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		h := e.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestOpenRefuses(t *testing.T) {
	key := mustKey(t, "test-update")
	good, _ := goodBundle(t, key)
	wrong, _ := goodBundle(t, mustKey(t, "wrong-update"))
	trusted := []ed25519.PublicKey{mustPub(t, "test-update")}
	es, _ := entries(t, good)
	rebuild := func(f func([]tent) []tent) []byte {
		c := append([]tent(nil), es...)
		return assemble(t, f(c))
	}
	named := func(e tent, name string) tent { e.hdr.Name = name; return e }
	resigned := func(edit func(*Manifest)) []byte {
		m, err := ParseManifest(es[0].data)
		if err != nil {
			t.Fatal(err)
		}
		edit(m)
		data, _ := m.marshal()
		return rebuild(func(c []tent) []tent {
			c[0].data, c[1].data = data, ed25519.Sign(key, data)
			return c
		})
	}
	cases := []struct {
		name    string
		data    []byte
		trusted []ed25519.PublicKey
		kind    error
		want    string
	}{
		{"wrong key", wrong, nil, ErrUntrusted, "signed with key " + KeyID(mustPub(t, "wrong-update"))},
		{"no trusted key", good, []ed25519.PublicKey{}, ErrUntrusted, "no key is trusted"},
		{"garbage signature", rebuild(func(c []tent) []tent { c[1].data = bytes.Repeat([]byte{7}, 64); return c }), nil, ErrUntrusted, "does not match the manifest"},
		{"short signature", rebuild(func(c []tent) []tent { c[1].data = c[1].data[:63]; return c }), nil, ErrInvalid, "63 bytes"},
		{"manifest edited after signing", rebuild(func(c []tent) []tent {
			c[0].data = bytes.Replace(c[0].data, []byte(`"1.2.0"`), []byte(`"9.2.0"`), 1)
			return c
		}), nil, ErrUntrusted, "does not match the manifest"},
		{"unsigned", rebuild(func(c []tent) []tent { return append(c[:1], c[2:]...) }), nil, ErrInvalid, "is the bundle signed?"},
		{"no manifest", rebuild(func(c []tent) []tent { return c[2:] }), nil, ErrInvalid, "want manifest.json"},
		{"wrong order", rebuild(func(c []tent) []tent { c[2], c[3] = c[3], c[2]; return c }), nil, ErrInvalid, "entry 3 is uki-b.efi, want uki-a.efi: entries out of order"},
		{"duplicate entry", rebuild(func(c []tent) []tent { return append(c[:3], c[2:]...) }), nil, ErrInvalid, "duplicate entry uki-a.efi"},
		{"missing entry", rebuild(func(c []tent) []tent { return c[:4] }), nil, ErrInvalid, "archive ends after 4 entries, want 5"},
		{"extra entry at the end", rebuild(func(c []tent) []tent {
			return append(c, tent{tar.Header{Typeflag: tar.TypeReg, Name: "evil.sh", Mode: 0o755}, []byte("#!/bin/sh\n")})
		}), nil, ErrInvalid, `extra entry "evil.sh" after root.squashfs`},
		{"extra entry between", rebuild(func(c []tent) []tent {
			return append(c[:3], append([]tent{{tar.Header{Typeflag: tar.TypeReg, Name: "x"}, []byte("x")}}, c[3:]...)...)
		}), nil, ErrInvalid, `unexpected entry "x", want uki-b.efi`},
		{"dot-dot name", rebuild(func(c []tent) []tent { c[2] = named(c[2], "../uki-a.efi"); return c }), nil, ErrInvalid, "paths are not allowed"},
		{"absolute name", rebuild(func(c []tent) []tent { c[4] = named(c[4], "/root.squashfs"); return c }), nil, ErrInvalid, "paths are not allowed"},
		{"name in a directory", rebuild(func(c []tent) []tent { c[3] = named(c[3], "a/uki-b.efi"); return c }), nil, ErrInvalid, "paths are not allowed"},
		{"dot-dot after the end", rebuild(func(c []tent) []tent {
			return append(c, tent{tar.Header{Typeflag: tar.TypeReg, Name: "../../etc/passwd"}, []byte("x")})
		}), nil, ErrInvalid, "paths are not allowed"},
		{"symlink", rebuild(func(c []tent) []tent {
			c[2] = tent{tar.Header{Typeflag: tar.TypeSymlink, Name: NameUKIA, Linkname: "/etc/shadow"}, nil}
			return c
		}), nil, ErrInvalid, `"uki-a.efi" is not a regular file (type '2')`},
		{"hard link", rebuild(func(c []tent) []tent {
			c[3] = tent{tar.Header{Typeflag: tar.TypeLink, Name: NameUKIB, Linkname: NameUKIA}, nil}
			return c
		}), nil, ErrInvalid, "not a regular file"},
		{"directory", rebuild(func(c []tent) []tent {
			c[4] = tent{tar.Header{Typeflag: tar.TypeDir, Name: NameRoot}, nil}
			return c
		}), nil, ErrInvalid, "not a regular file"},
		{"pax header", rebuild(func(c []tent) []tent {
			c[2].hdr.Format = tar.FormatPAX
			c[2].hdr.PAXRecords = map[string]string{"comment": "hi"}
			return c
		}), nil, ErrInvalid, "not a regular file (type 'x')"},
		{"payload shorter than the manifest says", rebuild(func(c []tent) []tent { c[3].data = c[3].data[:1000]; return c }), nil, ErrInvalid, "uki-b.efi has 1000 bytes in the archive, the manifest says 1536"},
		{"signed manifest lists a wrong size", resigned(func(m *Manifest) { f := m.Files[NameRoot]; f.Size++; m.Files[NameRoot] = f }), nil, ErrInvalid, "the manifest says 5001"},
		{"signed manifest names another key", resigned(func(m *Manifest) { m.KeyID = "0123456789abcdef" }), nil, ErrInvalid, "manifest names key 0123456789abcdef"},
		{"signed manifest of another product", resigned(func(m *Manifest) { m.Product = "other" }), nil, ErrInvalid, `product "other"`},
		{"trailing garbage", append(append([]byte(nil), good...), "hello"...), nil, ErrInvalid, "data after the end of the archive"},
		{"garbage in the end blocks", func() []byte {
			b := append([]byte(nil), good...)
			b[len(b)-700] = 1
			return b
		}(), nil, ErrInvalid, "data after"},
		{"too much padding", append(append([]byte(nil), good...), make([]byte, MaxPadding+1)...), nil, ErrInvalid, "bytes after the end of the archive"},
		{"truncated in a payload", good[:len(good)/2], nil, ErrInvalid, "truncated"},
		{"truncated by one byte", good[:len(good)-1], nil, ErrInvalid, "truncated"},
		{"truncated end blocks", good[:len(good)-1024], nil, ErrInvalid, "end-of-archive blocks are missing"},
		{"truncated in the manifest", good[:600], nil, ErrInvalid, "truncated"},
		{"empty", nil, nil, ErrInvalid, "truncated"},
		{"not a tar", bytes.Repeat([]byte("not a bundle "), 200), nil, ErrInvalid, "not a tar archive"},
		{"gnu tar", func() []byte {
			b := rebuild(func(c []tent) []tent { c[0].hdr.Format = tar.FormatGNU; return c })
			return b
		}(), nil, ErrInvalid, "not a POSIX ustar header"},
		{"huge manifest", rebuild(func(c []tent) []tent { c[0].data = make([]byte, MaxManifestSize+1); return c }), nil, ErrInvalid, "at most 65536"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := trusted
			if c.trusted != nil {
				tr = c.trusted
			}
			_, err := Open(bytes.NewReader(c.data), int64(len(c.data)), tr)
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant %v containing %q", err, c.kind, c.want)
			}
		})
	}
}

func TestOpenToleratesPadding(t *testing.T) {
	good, _ := goodBundle(t, mustKey(t, "test-update"))
	// GNU tar pads to 10 KiB records.
	padded := append(append([]byte(nil), good...), make([]byte, 10240-len(good)%10240)...)
	b, err := Open(bytes.NewReader(padded), int64(len(padded)), []ed25519.PublicKey{mustPub(t, "test-update")})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.VerifyPayload(nil); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyPayloadFindsDamage(t *testing.T) {
	good, data := goodBundle(t, mustKey(t, "test-update"))
	for _, name := range Payloads {
		t.Run(name, func(t *testing.T) {
			b := append([]byte(nil), good...)
			i := bytes.Index(b, data[name][100:164]) + 10
			b[i] ^= 0x01
			bu, err := Open(bytes.NewReader(b), int64(len(b)), []ed25519.PublicKey{mustPub(t, "test-update")})
			if err != nil {
				t.Fatal(err)
			}
			err = bu.VerifyPayload(nil)
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), name+" has the wrong SHA-256") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func validManifest() *Manifest {
	sum := sha256.Sum256([]byte("x"))
	h := hex.EncodeToString(sum[:])
	return &Manifest{
		Format: 1, Product: "switchboard", Version: "1.2.3", Created: created, KeyID: "c923f0a53c54f689",
		Files: map[string]FileInfo{NameRoot: {5000, h}, NameUKIA: {10, h}, NameUKIB: {10, h}},
	}
}

func TestParseManifest(t *testing.T) {
	base, _ := validManifest().marshal()
	if _, err := ParseManifest(base); err != nil {
		t.Fatalf("valid manifest: %v", err)
	}
	edit := func(f func(*Manifest)) []byte {
		m := validManifest()
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	setFile := func(name string, fi FileInfo) func(*Manifest) {
		return func(m *Manifest) { m.Files[name] = fi }
	}
	good := validManifest().Files[NameRoot].SHA256
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"format 2", edit(func(m *Manifest) { m.Format = 2 }), "format 2"},
		{"product", edit(func(m *Manifest) { m.Product = "other" }), "product"},
		{"short version", edit(func(m *Manifest) { m.Version = "1.2" }), "MAJOR.MINOR.PATCH"},
		{"leading zero", edit(func(m *Manifest) { m.Version = "1.02.3" }), "MAJOR.MINOR.PATCH"},
		{"pre-release", edit(func(m *Manifest) { m.Version = "1.2.3-rc1" }), "MAJOR.MINOR.PATCH"},
		{"huge version", edit(func(m *Manifest) { m.Version = "1.2.9999999999" }), "MAJOR.MINOR.PATCH"},
		{"signs", edit(func(m *Manifest) { m.Version = "+1.2.3" }), "MAJOR.MINOR.PATCH"},
		{"no created", edit(func(m *Manifest) { m.Created = time.Time{} }), "created"},
		{"key id", edit(func(m *Manifest) { m.KeyID = "C923F0A53C54F689" }), "key_id"},
		{"missing file", edit(func(m *Manifest) { delete(m.Files, NameUKIA) }), "lists 2 files"},
		{"wrong file", edit(func(m *Manifest) { delete(m.Files, NameUKIA); m.Files["../uki-a.efi"] = FileInfo{1, good} }), "uki-a.efi missing"},
		{"extra file", edit(setFile("x", FileInfo{1, good})), "lists 4 files"},
		{"zero size", edit(setFile(NameUKIA, FileInfo{0, good})), "size 0"},
		{"negative size", edit(setFile(NameRoot, FileInfo{-5, good})), "size -5"},
		{"huge uki", edit(setFile(NameUKIB, FileInfo{MaxUKISize + 1, good})), "uki-b.efi has size"},
		{"huge root", edit(setFile(NameRoot, FileInfo{MaxRootSize + 1, good})), "root.squashfs has size"},
		{"short hash", edit(setFile(NameRoot, FileInfo{1, good[:63]})), "64 lower-case hex"},
		{"upper-case hash", edit(setFile(NameRoot, FileInfo{1, strings.ToUpper(good)})), "64 lower-case hex"},
		{"unknown field", bytes.Replace(base, []byte(`"format":1`), []byte(`"format":1,"run":"sh"`), 1), "unknown field"},
		{"trailing data", append(append([]byte(nil), base...), "{}"...), "data after the JSON object"},
		{"not json", []byte("hello"), "manifest"},
		{"array", []byte("[]"), "manifest"},
		{"too large", make([]byte, MaxManifestSize+1), "at most"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseManifest(c.data)
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestVersionCompare(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.2.0", "1.2.0", 0}, {"1.2.0", "1.10.0", -1}, {"2.0.0", "1.99.99", 1}, {"0.0.1", "0.0.0", 1},
	} {
		a, err1 := ParseVersion(c.a)
		b, err2 := ParseVersion(c.b)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if got := a.Compare(b); got != c.want {
			t.Errorf("%s vs %s = %d, want %d", c.a, c.b, got, c.want)
		}
		if a.String() != c.a {
			t.Errorf("String = %s", a)
		}
	}
}

func TestKeys(t *testing.T) {
	priv := mustKey(t, "test-update")
	pub := mustPub(t, "test-update")
	if !pub.Equal(priv.Public()) {
		t.Fatal("test key pair does not match")
	}
	if got, err := LoadPublicKeyFile(filepath.Join(keyDir, "test-update.key")); err != nil || !got.Equal(pub) {
		t.Fatalf("public half of the private key file: %v", err)
	}
	pubPEM, _ := os.ReadFile(filepath.Join(keyDir, "test-update.pub"))
	privPEM, _ := os.ReadFile(filepath.Join(keyDir, "test-update.key"))
	ec := func() []byte {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}()
	for _, c := range []struct {
		name string
		data []byte
		pub  bool
		want string
	}{
		{"public as private", pubPEM, false, `PEM block is "PUBLIC KEY"`},
		{"private as public", privPEM, true, `PEM block is "PRIVATE KEY"`},
		{"not PEM", []byte("hello"), false, "no PEM block"},
		{"trailing data", append(append([]byte(nil), privPEM...), "junk"...), false, "data after the PEM block"},
		{"two keys", append(append([]byte(nil), privPEM...), privPEM...), false, "data after the PEM block"},
		{"EC key", ec, false, "ecdsa"},
		{"damaged DER", bytes.Replace(privPEM, []byte("MC4C"), []byte("MC5C"), 1), false, "not an Ed25519 key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.pub {
				_, err = ParsePublicKey(c.data)
			} else {
				_, err = ParsePrivateKey(c.data)
			}
			if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}
