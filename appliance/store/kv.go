package store

import (
	"context"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Secret returns a copy of the per-box key name from the secrets bucket.
func (db *DB) Secret(ctx context.Context, name string) ([]byte, error) {
	var out []byte
	err := db.View(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(BucketSecrets).Get([]byte(name))
		if v == nil {
			return fmt.Errorf("secret %q: %w", name, ErrNotFound)
		}
		out = append([]byte(nil), v...)
		return nil
	})
	return out, err
}

// Blob returns a copy of the value stored under blobs/kind/name.
func (db *DB) Blob(ctx context.Context, kind, name string) ([]byte, error) {
	var out []byte
	err := db.View(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(BucketBlobs).Bucket([]byte(kind))
		if b == nil {
			return fmt.Errorf("blob %s/%s: %w", kind, name, ErrNotFound)
		}
		v := b.Get([]byte(name))
		if v == nil {
			return fmt.Errorf("blob %s/%s: %w", kind, name, ErrNotFound)
		}
		out = append([]byte(nil), v...)
		return nil
	})
	return out, err
}

// PutBlob stores value under blobs/kind/name; it returns once committed.
func (db *DB) PutBlob(ctx context.Context, kind, name string, value []byte) error {
	return db.Update(ctx, func(tx *bolt.Tx) error {
		b, err := tx.Bucket(BucketBlobs).CreateBucketIfNotExists([]byte(kind))
		if err != nil {
			return err
		}
		return b.Put([]byte(name), value)
	})
}
