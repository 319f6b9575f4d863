package bundle

import (
	"archive/tar"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// Write signs a bundle of version with key and writes it to w. files maps
// each payload name (uki-a.efi, uki-b.efi, root.squashfs) to the path of the
// file to put there. Every file is hashed first, then the manifest is signed,
// then the archive is written; a file that changes in between is an error.
// The same inputs, created time and key give the same bytes.
func Write(w io.Writer, version string, created time.Time, key ed25519.PrivateKey, files map[string]string) error {
	if _, err := ParseVersion(version); err != nil {
		return err
	}
	if len(key) != ed25519.PrivateKeySize {
		return fmt.Errorf("%w: private key has %d bytes", ErrKey, len(key))
	}
	if err := checkNames(files); err != nil {
		return err
	}
	created = created.UTC().Truncate(time.Second)
	m := &Manifest{
		Format:  Format,
		Product: Product,
		Version: version,
		Created: created,
		KeyID:   KeyID(key.Public().(ed25519.PublicKey)),
		Files:   map[string]FileInfo{},
	}
	for _, name := range Payloads {
		fi, err := hashFile(files[name], nil)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		m.Files[name] = fi
	}
	if err := m.Validate(); err != nil {
		return err
	}
	manifest, err := m.marshal()
	if err != nil {
		return err
	}
	sig := ed25519.Sign(key, manifest)

	tw := tar.NewWriter(w)
	put := func(name string, size int64) error {
		return tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeReg,
			Name:     name,
			Mode:     0o644,
			Size:     size,
			ModTime:  created,
			Format:   tar.FormatUSTAR,
		})
	}
	for _, e := range []struct {
		name string
		data []byte
	}{{NameManifest, manifest}, {NameSignature, sig}} {
		if err := put(e.name, int64(len(e.data))); err != nil {
			return err
		}
		if _, err := tw.Write(e.data); err != nil {
			return err
		}
	}
	for _, name := range Payloads {
		want := m.Files[name]
		if err := put(name, want.Size); err != nil {
			return err
		}
		got, err := hashFile(files[name], tw)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if got != want {
			return fmt.Errorf("%s changed while the bundle was being written", files[name])
		}
	}
	return tw.Close()
}

func checkNames(files map[string]string) error {
	var extra []string
	for name := range files {
		if !isPayload(name) {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		return fmt.Errorf("unknown bundle files %s (want %s)", strings.Join(extra, ", "), strings.Join(Payloads, ", "))
	}
	for _, name := range Payloads {
		if files[name] == "" {
			return fmt.Errorf("bundle file %s missing", name)
		}
	}
	return nil
}

func isPayload(name string) bool {
	for _, p := range Payloads {
		if p == name {
			return true
		}
	}
	return false
}

// hashFile hashes the regular file at path and, when w is not nil, copies
// exactly the bytes it hashed to w.
func hashFile(path string, w io.Writer) (FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileInfo{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return FileInfo{}, err
	}
	if !st.Mode().IsRegular() {
		return FileInfo{}, fmt.Errorf("%s is not a regular file", path)
	}
	h := sha256.New()
	dst := io.Writer(h)
	if w != nil {
		dst = io.MultiWriter(h, w)
	}
	n, err := io.CopyN(dst, f, st.Size())
	if err != nil {
		return FileInfo{}, fmt.Errorf("%s: %w (read %d of %d bytes)", path, err, n, st.Size())
	}
	return FileInfo{Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}
