package store

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// sampleStore returns the bytes of a small store with some data.
func sampleStore(t testing.TB) []byte {
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		db.PutBlob(context.Background(), "k", string(rune('a'+i%26))+string(rune('a'+i/26)), bytes.Repeat([]byte{byte(i)}, 300*i))
	}
	db.Close()
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// openBytes writes data as a store and opens it; it must fail cleanly or
// succeed, never crash.
func openBytes(t testing.TB, data []byte) error {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := Open(dir)
	if err == nil {
		db.Close()
	}
	return err
}

// TestDamagedFilesNeverCrash truncates a store at every 512-byte boundary and
// flips bytes at random places; each open fails with ErrCorrupt or succeeds.
func TestDamagedFilesNeverCrash(t *testing.T) {
	good := sampleStore(t)
	// bbolt grows files ahead of use, so a cut past the last page in use
	// loses nothing; any cut before it must be refused.
	refused := 0
	for n := 4096; n < len(good); n += 2048 {
		err := openBytes(t, good[:n])
		if err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d of %d bytes: %v", n, len(good), err)
		}
		if err != nil {
			refused++
		} else if n < len(good)/4 {
			t.Fatalf("truncated to %d of %d bytes: opened", n, len(good))
		}
	}
	if refused == 0 {
		t.Fatal("no truncation was refused")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		bad := bytes.Clone(good)
		for range 1 + r.IntN(8) {
			bad[r.IntN(len(bad))] ^= byte(1 + r.IntN(255))
		}
		if err := openBytes(t, bad); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("variant %d: %v", i, err)
		}
	}
}

func FuzzOpen(f *testing.F) {
	good := sampleStore(f)
	f.Add(good[:8192])
	f.Add([]byte("not a store"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := openBytes(t, data); err != nil && !errors.Is(err, ErrCorrupt) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}
