package update

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/image/bundle"
)

// A fake box: every path of Paths under one temporary directory, partitions
// as plain files.

const (
	keyDir   = "../../image/testdata/keys"
	partSize = 256 << 10
	rootSize = 100<<10 + 3 // not a multiple of the head size
)

type box struct {
	t       *testing.T
	dir     string
	paths   Paths
	in      *Installer
	reboots int
}

func loadKey(t testing.TB, name string) ed25519.PrivateKey {
	t.Helper()
	k, err := bundle.LoadPrivateKeyFile(filepath.Join(keyDir, name+".key"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func loadPub(t testing.TB, name string) ed25519.PublicKey {
	t.Helper()
	k, err := bundle.LoadPublicKeyFile(filepath.Join(keyDir, name+".pub"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newBox makes a box running version from slot, with a good boot entry for
// it and an older good entry for the other slot.
func newBox(t *testing.T, version, slot string) *box {
	t.Helper()
	dir := t.TempDir()
	b := &box{t: t, dir: dir, paths: Paths{
		ESP:        filepath.Join(dir, "efi"),
		PartLabels: filepath.Join(dir, "by-partlabel"),
		Cmdline:    filepath.Join(dir, "cmdline"),
		OSRelease:  filepath.Join(dir, "os-release"),
		State:      filepath.Join(dir, "state"),
	}}
	b.mkdir("efi/EFI/Linux")
	b.mkdir("by-partlabel")
	b.write("efi/EFI/Linux/"+entryPrefix+version+"-"+slot+".efi", []byte("running kernel image"))
	b.write("efi/EFI/Linux/"+entryPrefix+"1.0.0-"+otherSlot(slot)+".efi", []byte("older kernel image"))
	b.write("efi/loader/loader.conf", []byte("timeout 0\n"))
	b.write("by-partlabel/root-a", bytes.Repeat([]byte("A"), partSize))
	b.write("by-partlabel/root-b", bytes.Repeat([]byte("B"), partSize))
	b.write("cmdline", []byte("BOOT_IMAGE=/x ro switchboard.slot="+slot+" quiet\n"))
	b.write("os-release", []byte("NAME=\"Switchboard\"\nIMAGE_ID=switchboard\nIMAGE_VERSION=\""+version+"\"\n"))
	b.in = New(b.paths, []ed25519.PublicKey{loadPub(t, "test-update")}, func(context.Context) error {
		b.reboots++
		return nil
	})
	return b
}

func (b *box) path(rel string) string { return filepath.Join(b.dir, rel) }

func (b *box) mkdir(rel string) {
	if err := os.MkdirAll(b.path(rel), 0o755); err != nil {
		b.t.Fatal(err)
	}
}

func (b *box) write(rel string, data []byte) {
	b.t.Helper()
	os.MkdirAll(filepath.Dir(b.path(rel)), 0o755)
	if err := os.WriteFile(b.path(rel), data, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *box) read(rel string) []byte {
	b.t.Helper()
	data, err := os.ReadFile(b.path(rel))
	if err != nil {
		b.t.Fatal(err)
	}
	return data
}

// disk hashes both partitions and every file on the ESP, by name.
func (b *box) disk() string {
	b.t.Helper()
	var lines []string
	for _, root := range []string{"by-partlabel", "efi"} {
		filepath.WalkDir(b.path(root), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				b.t.Fatal(err)
			}
			rel, _ := filepath.Rel(b.dir, p)
			if d.IsDir() {
				lines = append(lines, rel+"/")
				return nil
			}
			data, _ := os.ReadFile(p)
			sum := sha256.Sum256(data)
			lines = append(lines, rel+" "+hex.EncodeToString(sum[:]))
			return nil
		})
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func (b *box) espFiles() []string {
	des, _ := os.ReadDir(b.path("efi/EFI/Linux"))
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// payload is the content of a test bundle.
type payload map[string][]byte

func newPayload(seed uint64) payload {
	rng := rand.New(rand.NewPCG(seed, 99))
	p := payload{}
	for name, size := range map[string]int{bundle.NameUKIA: 3000, bundle.NameUKIB: 5000, bundle.NameRoot: rootSize} {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		p[name] = b
	}
	return p
}

// makeBundle writes a bundle of version signed with key and returns its bytes.
func makeBundle(t testing.TB, version string, key ed25519.PrivateKey, p payload) []byte {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{}
	for name, data := range p {
		files[name] = filepath.Join(dir, name)
		if err := os.WriteFile(files[name], data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := bundle.Write(&buf, version, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), key, files); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func saveBundle(t testing.TB, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "update.bundle")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

type tarEntry struct {
	hdr  tar.Header
	data []byte
}

func splitTar(t testing.TB, data []byte) []tarEntry {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(data))
	var out []tarEntry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		out = append(out, tarEntry{*h, b})
	}
}

func joinTar(t testing.TB, es []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		h := e.hdr
		h.Size = int64(len(e.data))
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		tw.Write(e.data)
	}
	tw.Close()
	return buf.Bytes()
}

// flip returns data with one byte changed inside the given content.
func flip(t testing.TB, data, inside []byte) []byte {
	t.Helper()
	i := bytes.Index(data, inside[1000:1064])
	if i < 0 {
		t.Fatal("content not found in the bundle")
	}
	out := append([]byte(nil), data...)
	out[i+7] ^= 0x20
	return out
}

func (b *box) String() string { return fmt.Sprintf("box %s", b.dir) }
