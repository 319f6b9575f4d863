package tlscert

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	bolt "go.etcd.io/bbolt"

	"github.com/switchboardhq/switchboard/appliance/store"
)

// acmeFiles is the ACME client's storage (accounts, certificates, private
// keys, ARI state) in the store's tls/acme-files bucket, so that it goes
// into backups with everything else. Keys are the client's own slash-
// separated paths; a "directory" is any prefix that ends at a slash.
//
// Only one process opens the store (bbolt locks the file), so the locks
// certmagic asks for are held in memory.
type acmeFiles struct {
	db  *store.DB
	now func() time.Time

	mu    sync.Mutex
	locks map[string]chan struct{} // closed when unlocked
}

var _ certmagic.Storage = (*acmeFiles)(nil)

type acmeFile struct {
	Value    []byte    `json:"value"`
	Modified time.Time `json:"modified"`
}

func newACMEFiles(db *store.DB, now func() time.Time) *acmeFiles {
	return &acmeFiles{db: db, now: now, locks: map[string]chan struct{}{}}
}

func filesBucket(tx *bolt.Tx) *bolt.Bucket {
	return tx.Bucket(store.BucketTLS).Bucket([]byte("acme-files"))
}

func (s *acmeFiles) Store(ctx context.Context, key string, value []byte) error {
	v, err := json.Marshal(acmeFile{Value: value, Modified: s.now().UTC()})
	if err != nil {
		return err
	}
	return s.db.Update(ctx, func(tx *bolt.Tx) error { return filesBucket(tx).Put([]byte(key), v) })
}

func (s *acmeFiles) get(ctx context.Context, key string) (*acmeFile, error) {
	var f *acmeFile
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		v := filesBucket(tx).Get([]byte(key))
		if v == nil {
			return fs.ErrNotExist
		}
		f = new(acmeFile)
		return json.Unmarshal(v, f)
	})
	return f, err
}

func (s *acmeFiles) Load(ctx context.Context, key string) ([]byte, error) {
	f, err := s.get(ctx, key)
	if err != nil {
		return nil, err
	}
	return f.Value, nil
}

// Delete removes key and, when key is a directory, everything under it.
func (s *acmeFiles) Delete(ctx context.Context, key string) error {
	return s.db.Update(ctx, func(tx *bolt.Tx) error {
		b := filesBucket(tx)
		found := b.Get([]byte(key)) != nil
		if found {
			if err := b.Delete([]byte(key)); err != nil {
				return err
			}
		}
		prefix := []byte(strings.TrimSuffix(key, "/") + "/")
		c := b.Cursor()
		for k, _ := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, _ = c.Seek(prefix) {
			found = true
			if err := c.Delete(); err != nil {
				return err
			}
		}
		if !found {
			return fs.ErrNotExist
		}
		return nil
	})
}

func (s *acmeFiles) Exists(ctx context.Context, key string) bool {
	_, err := s.Stat(ctx, key)
	return err == nil
}

// List returns the keys under path: every key below it when recursive,
// otherwise its direct children (files and directories).
func (s *acmeFiles) List(ctx context.Context, path string, recursive bool) ([]string, error) {
	prefix := strings.TrimSuffix(path, "/") + "/"
	if path == "" {
		prefix = ""
	}
	var out []string
	seen := map[string]bool{}
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		c := filesBucket(tx).Cursor()
		for k, _ := c.Seek([]byte(prefix)); k != nil && strings.HasPrefix(string(k), prefix); k, _ = c.Next() {
			key := string(k)
			if !recursive {
				rest := key[len(prefix):]
				if i := strings.IndexByte(rest, '/'); i >= 0 {
					key = prefix + rest[:i]
				}
			}
			if !seen[key] {
				seen[key] = true
				out = append(out, key)
			}
		}
		return nil
	})
	if err == nil && len(out) == 0 {
		return nil, fs.ErrNotExist
	}
	return out, err
}

func (s *acmeFiles) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	f, err := s.get(ctx, key)
	if err == nil {
		return certmagic.KeyInfo{Key: key, Modified: f.Modified, Size: int64(len(f.Value)), IsTerminal: true}, nil
	}
	if err != fs.ErrNotExist {
		return certmagic.KeyInfo{}, err
	}
	if _, lerr := s.List(ctx, key, false); lerr != nil {
		return certmagic.KeyInfo{}, fs.ErrNotExist
	}
	return certmagic.KeyInfo{Key: key, IsTerminal: false}, nil
}

// Lock waits until name is free or ctx ends.
func (s *acmeFiles) Lock(ctx context.Context, name string) error {
	for {
		s.mu.Lock()
		held, ok := s.locks[name]
		if !ok {
			s.locks[name] = make(chan struct{})
			s.mu.Unlock()
			return nil
		}
		s.mu.Unlock()
		select {
		case <-held:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *acmeFiles) Unlock(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	held, ok := s.locks[name]
	if !ok {
		return fmt.Errorf("tlscert: unlock %q: not locked", name)
	}
	delete(s.locks, name)
	close(held)
	return nil
}
