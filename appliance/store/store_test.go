package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dir
}

// TestMigrations applies each migration to a store at the schema before it
// and checks what that migration promises.
func TestMigrations(t *testing.T) {
	checks := map[int]func(t *testing.T, tx *bolt.Tx){
		1: func(t *testing.T, tx *bolt.Tx) {
			for _, b := range [][]byte{BucketMeta, BucketSecrets, BucketBlobs} {
				if tx.Bucket(b) == nil {
					t.Errorf("bucket %s missing", b)
				}
			}
			for _, k := range []string{"token-key", "csrf-key"} {
				if v := tx.Bucket(BucketSecrets).Get([]byte(k)); len(v) != 32 {
					t.Errorf("secret %s has %d bytes, want 32", k, len(v))
				}
			}
		},
		2: func(t *testing.T, tx *bolt.Tx) {
			for _, realm := range Realms {
				rb := tx.Bucket(BucketAuth).Bucket([]byte(realm))
				if rb == nil {
					t.Fatalf("realm %s missing", realm)
				}
				for _, sub := range []string{"users", "names", "sessions", "setup"} {
					if rb.Bucket([]byte(sub)) == nil {
						t.Errorf("%s/%s missing", realm, sub)
					}
				}
			}
		},
		3: func(t *testing.T, tx *bolt.Tx) {
			d := tx.Bucket(BucketDesk)
			if d == nil {
				t.Fatal("desk bucket missing")
			}
			for _, sub := range []string{"channels", "channel-names", "channel-sessions", "teams", "technicians", "issue-types", "sites", "hostnames", "audit", "meta"} {
				if d.Bucket([]byte(sub)) == nil {
					t.Errorf("desk/%s missing", sub)
				}
			}
		},
		4: func(t *testing.T, tx *bolt.Tx) {
			for _, sub := range []string{"sessions", "tech-sessions", "session-chat", "customer-tokens", "session-keys", "support-links", "sos-links", "sos-codes"} {
				if tx.Bucket(BucketDesk).Bucket([]byte(sub)) == nil {
					t.Errorf("desk/%s missing", sub)
				}
			}
		},
		5: func(t *testing.T, tx *bolt.Tx) {
			if tx.Bucket(BucketDesk).Bucket([]byte("remote-tokens")) == nil {
				t.Error("desk/remote-tokens missing")
			}
		},
		6: func(t *testing.T, tx *bolt.Tx) {
			for _, sub := range []string{"presentations", "presentation-keys"} {
				if tx.Bucket(BucketDesk).Bucket([]byte(sub)) == nil {
					t.Errorf("desk/%s missing", sub)
				}
			}
		},
		11: func(t *testing.T, tx *bolt.Tx) {
			for _, sub := range []string{"meta", "changes"} {
				if tx.Bucket(BucketNetcfg) == nil || tx.Bucket(BucketNetcfg).Bucket([]byte(sub)) == nil {
					t.Errorf("netcfg/%s missing", sub)
				}
			}
		},
		12: func(t *testing.T, tx *bolt.Tx) {
			for _, sub := range []string{"meta", "hosts", "acme-files"} {
				if tx.Bucket(BucketTLS) == nil || tx.Bucket(BucketTLS).Bucket([]byte(sub)) == nil {
					t.Errorf("tls/%s missing", sub)
				}
			}
		},
		10: func(t *testing.T, tx *bolt.Tx) {
			for _, sub := range DeskIOSBuckets {
				if tx.Bucket(BucketDesk).Bucket([]byte(sub)) == nil {
					t.Errorf("desk/%s missing", sub)
				}
			}
		},
		9: func(t *testing.T, tx *bolt.Tx) {
			if tx.Bucket(BucketDesk).Bucket([]byte("site-logos")) == nil {
				t.Error("desk/site-logos missing")
			}
		},
		8: func(t *testing.T, tx *bolt.Tx) {
			if tx.Bucket(BucketDesk).Bucket([]byte("announcements")) == nil {
				t.Error("desk/announcements missing")
			}
		},
		7: func(t *testing.T, tx *bolt.Tx) {
			b := tx.Bucket(BucketSAML)
			if b == nil {
				t.Fatal("saml bucket missing")
			}
			for _, sub := range []string{"providers", "requests", "identities", "errors"} {
				if b.Bucket([]byte(sub)) == nil {
					t.Errorf("saml/%s missing", sub)
				}
			}
		},
	}
	for i, m := range migrations {
		t.Run(m.Name, func(t *testing.T) {
			check, ok := checks[m.Version]
			if !ok {
				t.Fatalf("migration %d has no test", m.Version)
			}
			if m.Version != i+1 {
				t.Fatalf("migration %d is at position %d", m.Version, i)
			}
			dir := t.TempDir()
			b, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			db := &DB{bolt: b, path: b.Path()}
			defer db.Close()
			if err := db.migrate(migrations[:i]); err != nil {
				t.Fatal(err)
			}
			if err := db.migrate(migrations[:i+1]); err != nil {
				t.Fatal(err)
			}
			if v, _ := db.Schema(); v != m.Version {
				t.Fatalf("schema = %d, want %d", v, m.Version)
			}
			b.View(func(tx *bolt.Tx) error { check(t, tx); return nil })
			// Running it again changes nothing and does not fail.
			if err := db.migrate(migrations[:i+1]); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestKeysArePerBox(t *testing.T) {
	a, _ := openTemp(t)
	b, _ := openTemp(t)
	ka, _ := a.Secret(context.Background(), "token-key")
	kb, _ := b.Secret(context.Background(), "token-key")
	if bytes.Equal(ka, kb) {
		t.Fatal("two stores share a token key")
	}
}

func TestReopenKeepsData(t *testing.T) {
	db, dir := openTemp(t)
	ctx := context.Background()
	if err := db.PutBlob(ctx, "tls", "default", []byte("pem")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	v, err := db2.Blob(ctx, "tls", "default")
	if err != nil || string(v) != "pem" {
		t.Fatalf("blob = %q, %v", v, err)
	}
	if _, err := db2.Blob(ctx, "tls", "other"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing blob: %v", err)
	}
}

func TestUpdateJoinsContextTx(t *testing.T) {
	db, _ := openTemp(t)
	ctx := context.Background()
	err := db.Update(ctx, func(tx *bolt.Tx) error {
		inner := WithTx(ctx, tx)
		if err := db.PutBlob(inner, "k", "a", []byte("1")); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("want error")
	}
	if _, err := db.Blob(ctx, "k", "a"); !errors.Is(err, ErrNotFound) {
		t.Fatal("write inside a rolled-back outer transaction survived")
	}
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	db, _ := openTemp(t)
	ctx := context.Background()
	db.PutBlob(ctx, "tls", "default", []byte("cert"))
	out := filepath.Join(t.TempDir(), "backup.db")
	if _, err := WriteBackupFile(out, func(w io.Writer) (int64, error) { return db.Backup(ctx, w) }); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "state")
	if err := Restore(out, dir); err != nil {
		t.Fatal(err)
	}
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if v, err := r.Blob(ctx, "tls", "default"); err != nil || string(v) != "cert" {
		t.Fatalf("restored blob = %q, %v", v, err)
	}
	k1, _ := db.Secret(ctx, "token-key")
	k2, _ := r.Secret(ctx, "token-key")
	if !bytes.Equal(k1, k2) {
		t.Fatal("restore lost the box keys")
	}
	// A second restore into the same directory is refused.
	if err := Restore(out, dir); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("restore over a store: %v", err)
	}
}

func TestRestoreRefusesBadFiles(t *testing.T) {
	good, _ := openTemp(t)
	var buf bytes.Buffer
	if _, err := good.Backup(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	newer := func() []byte {
		p := filepath.Join(t.TempDir(), "n.db")
		os.WriteFile(p, buf.Bytes(), 0o600)
		b, _ := bolt.Open(p, 0o600, nil)
		b.Update(func(tx *bolt.Tx) error {
			v := make([]byte, 8)
			binary.BigEndian.PutUint64(v, 999)
			return tx.Bucket(BucketMeta).Put(keySchema, v)
		})
		b.Close()
		data, _ := os.ReadFile(p)
		return data
	}()
	noSchema := func() []byte {
		p := filepath.Join(t.TempDir(), "o.db")
		b, _ := bolt.Open(p, 0o600, nil)
		b.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("other")); return err })
		b.Close()
		data, _ := os.ReadFile(p)
		return data
	}()
	flipped := append([]byte(nil), buf.Bytes()...)
	for i := 4096 * 2; i < len(flipped); i += 7 {
		flipped[i] ^= 0xff
	}
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"text file", []byte("hello, I am not a database\n"), ErrCorrupt},
		{"empty", nil, ErrCorrupt},
		{"truncated", buf.Bytes()[:len(buf.Bytes())/2], ErrCorrupt},
		{"damaged pages", flipped, ErrCorrupt},
		{"newer schema", newer, ErrNewerSchema},
		{"other bbolt file", noSchema, ErrCorrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "in.db")
			os.WriteFile(src, c.data, 0o600)
			dir := filepath.Join(t.TempDir(), "state")
			err := Restore(src, dir)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if _, err := os.Stat(filepath.Join(dir, FileName)); !errors.Is(err, os.ErrNotExist) {
				t.Fatal("a refused restore wrote a store")
			}
		})
	}
}

func TestOpenRefusesDamagedStore(t *testing.T) {
	db, dir := openTemp(t)
	db.PutBlob(context.Background(), "x", "y", bytes.Repeat([]byte("z"), 20000))
	db.Close()
	path := filepath.Join(dir, FileName)
	data, _ := os.ReadFile(path)
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"truncated", data[:len(data)/3]},
		{"empty", nil},
		{"zeroed header", append(make([]byte, 8192), data[8192:]...)},
		{"garbage", bytes.Repeat([]byte{0xAB}, len(data))},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := t.TempDir()
			os.WriteFile(filepath.Join(d, FileName), c.data, 0o600)
			before, _ := os.ReadFile(filepath.Join(d, FileName))
			_, err := Open(d)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
			after, _ := os.ReadFile(filepath.Join(d, FileName))
			if !bytes.Equal(before, after) {
				t.Fatal("opening a damaged store changed it")
			}
		})
	}
}

// TestOpenNewStoreIsNeverEmpty: a first start builds the file under another
// name, so only a missing file means a new box; a leftover from a crash
// during a first start is discarded.
func TestOpenNewStoreIsNeverEmpty(t *testing.T) {
	d := t.TempDir()
	os.WriteFile(filepath.Join(d, FileName+".new"), []byte("half-made"), 0o600)
	db, err := Open(d)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := os.Stat(filepath.Join(d, FileName+".new")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("the leftover of an interrupted first start is still there")
	}
	if fi, err := os.Stat(filepath.Join(d, FileName)); err != nil || fi.Size() == 0 {
		t.Fatalf("new store: %v", err)
	}
	if db, err := Open(d); err != nil {
		t.Fatalf("reopening: %v", err)
	} else {
		db.Close()
	}
}
