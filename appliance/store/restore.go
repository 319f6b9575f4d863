package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Verify opens the store file at path read-only, walks every page and checks
// that its schema is one this build knows. It is how backups are validated.
func Verify(path string) (schema int, err error) {
	db, err := openFile(path, true)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	v, err := db.Schema()
	if err != nil {
		return 0, err
	}
	if v < 1 {
		return 0, fmt.Errorf("store %s: %w: no schema version", path, ErrCorrupt)
	}
	if v > SchemaVersion() {
		return 0, fmt.Errorf("store %s: %w: schema %d, this build knows up to %d", path, ErrNewerSchema, v, SchemaVersion())
	}
	return v, nil
}

// Restore installs the backup file src as the store of the state directory
// dir. It refuses a dir that already holds a store and a file that is not a
// store of a known schema; nothing is written to dir unless the copy verified.
// The restored store is migrated to the current schema on its next Open.
func Restore(src, dir string) error {
	dst := filepath.Join(dir, FileName)
	if _, err := os.Stat(dst); err == nil {
		return fmt.Errorf("restore into %s: %w (restore needs an empty state directory)", dir, ErrNotEmpty)
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("restore: %w", err)
	}
	if _, err := Verify(src); err != nil {
		return fmt.Errorf("restore %s: %w", src, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".restore-*")
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer os.Remove(tmp.Name())
	in, err := os.Open(src)
	if err != nil {
		tmp.Close()
		return fmt.Errorf("restore: %w", err)
	}
	_, err = io.Copy(tmp, in)
	in.Close()
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("restore: copy: %w", err)
	}
	// Verify the copy too: the source could have changed under us.
	if _, err := Verify(tmp.Name()); err != nil {
		return fmt.Errorf("restore: copy: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if err := os.Link(tmp.Name(), dst); err != nil { // fails if dst appeared meanwhile
		return fmt.Errorf("restore: %w", err)
	}
	return syncDir(dir)
}

// WriteBackupFile writes a backup produced by write into path atomically:
// a temporary file beside it, fsync, verification, then rename.
func WriteBackupFile(path string, write func(io.Writer) (int64, error)) (int64, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".backup-*")
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	defer os.Remove(tmp.Name())
	n, err := write(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("backup: %w", err)
	}
	if _, err := Verify(tmp.Name()); err != nil {
		return n, fmt.Errorf("backup: the copy does not verify: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return n, fmt.Errorf("backup: %w", err)
	}
	return n, syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
