// Package store keeps every piece of the appliance's state in one bbolt file
// and owns its schema: the bucket tree below, the ordered migrations that
// build it, and hot backup and restore.
//
// Domain packages (auth, desk) read and write their own buckets through the
// transactions handed out by [DB.View] and [DB.Update]; front ends never see
// this package. Keys are big-endian ids or lower-cased names; values are JSON.
//
// Bucket tree (schema version 11):
//
//	meta/
//	  schema                 uint64 BE: the schema version of this file
//	  created                RFC 3339 time the store was first created
//	secrets/
//	  <name>                 per-box random keys generated on first start
//	                         ("token-key": keyed hashes of session ids,
//	                         tokens and session keys; "csrf-key")
//	blobs/
//	  <kind>/<name>          opaque values owned by one subsystem
//	                         (tls/default: the box's PEM certificate and key)
//	auth/
//	  <realm>/               "site" (/login, /console) or "box" (/appliance)
//	    users/<id BE>        JSON auth.User (the bucket's sequence gives ids)
//	    names/<username>     id BE of the user with that lower-cased name
//	    sessions/<hash>      JSON auth.Session, keyed by the keyed hash of its id
//	    setup/token          JSON one-time first-admin token (hash, expiry)
//	desk/                    the service desk (package desk)
//	  channels/<id BE>       JSON desk.Channel
//	  channel-names/<name>   id BE of the channel with that lower-cased name
//	  channel-sessions/<id BE>/<session id BE>
//	                         the sessions queued in each channel
//	  teams/<id BE>          JSON desk.Team
//	  technicians/<user BE>  JSON desk.Technician (same id as the site user)
//	  issue-types/<id BE>    JSON desk.IssueType
//	  sites/<id BE>          JSON desk.Site
//	  hostnames/<host>       id BE of the site serving that host name
//	  audit/<seq BE>         JSON desk.Entry, one per change, oldest first
//	  meta/                  desk-wide settings
//	  sessions/<id BE>       JSON desk.Session (status, queue, customer, trail)
//	  tech-sessions/<user BE>/<session id BE>
//	                         the open sessions in each personal queue (user 0:
//	                         classic SOS sessions not claimed yet)
//	  session-chat/<session id BE>/<seq BE>
//	                         JSON desk.Message
//	  customer-tokens/<hash> session id BE of a customer browser's token
//	  session-keys/<hash>    JSON key record of a 9-digit session key
//	  support-links/<hash>   JSON support link record (session, bound browser)
//	  sos-links/<id BE>      JSON desk.SOSLink (the token only as a keyed hash)
//	  sos-codes/<hash>       session id BE of an unclaimed classic SOS code
//	  remote-tokens/<hash>   JSON one-time token of the support client or a
//	                         native technician tool (session, role, expiry)
//	  presentations/<id BE>  JSON desk.Presentation (a technician's screen
//	                         shown to attendees; keys only as keyed hashes)
//	  presentation-keys/<hash>
//	                         id BE of the presentation a key or link opens
//	  announcements/<id BE>  JSON desk.Announcement: a public site's
//	                         important message (severity, start, end)
//	  site-logos/<id BE>     a public site's logo, re-encoded as PNG
//	  ios-profiles/<id BE>   JSON desk.Profile: an Apple configuration
//	                         profile's description (site, public or private,
//	                         what the file says, its signer)
//	  ios-profile-files/<id BE>
//	                         the profile file as uploaded (validated)
//	  ios-keys/<hash>        JSON one-time iOS access key (site, expiry),
//	                         keyed by its keyed hash
//	  ios-grants/<hash>      JSON a browser's leave to see a site's private
//	                         profiles after it entered a key (site, expiry)
//	saml/                    SAML sign-in (package samlsp)
//	  providers/<key>        JSON samlsp.Provider: one service provider per
//	                         public site ("site-<id>") and one for
//	                         technicians ("staff"), with the pinned IdP
//	  requests/<hash>        JSON pending AuthnRequest (provider, browser,
//	                         where to go back, expiry), keyed by the keyed
//	                         hash of its ID; deleted when answered
//	  identities/<hash>      JSON samlsp.Identity of a customer browser
//	                         signed in through a site's portal login
//	  errors/<seq BE>        JSON samlsp.Failure: the last refused answers
//	                         (reason only, never the assertion)
//	netcfg/                  the box's network (package netcfg)
//	  meta/desired           JSON netcfg.Config last confirmed
//	  meta/trial             JSON netcfg.Trial: a change waiting for its
//	                         confirmation (snapshot, deadline, token hash)
//	  meta/settings          JSON netcfg.Settings (trial length)
//	  changes/<seq BE>       JSON netcfg.Change: each change confirmed,
//	                         reverted or failed, with before and after
//	tls/                     certificates per host name (package tlscert)
//	  meta/acme              JSON tlscert.ACMESettings (directory, contact,
//	                         challenges, extra trusted roots)
//	  hosts/<host>           JSON tlscert.Host: how the name gets its
//	                         certificate (self-signed, imported, CSR, ACME),
//	                         the imported pair, the pending CSR and its key,
//	                         the last ACME outcome
//	  acme-files/<key>       JSON {value, modified}: the ACME client's
//	                         storage (accounts, certificates, keys), keyed
//	                         by its own paths
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileName is the name of the store file inside the state directory.
const FileName = "applianced.db"

// Top-level bucket names. The package doc draws the tree beneath them.
var (
	BucketMeta    = []byte("meta")
	BucketSecrets = []byte("secrets")
	BucketBlobs   = []byte("blobs")
	BucketAuth    = []byte("auth")
	BucketDesk    = []byte("desk")
	BucketSAML    = []byte("saml")
	BucketNetcfg  = []byte("netcfg")
	BucketTLS     = []byte("tls")
)

// Errors returned by the store.
var (
	// ErrCorrupt reports a store file that is damaged or not a store at all.
	ErrCorrupt = errors.New("store file is damaged or is not an applianced store")
	// ErrNewerSchema reports a store written by a newer applianced.
	ErrNewerSchema = errors.New("store was written by a newer applianced")
	// ErrNotFound reports a missing blob or secret.
	ErrNotFound = errors.New("not found")
	// ErrNotEmpty reports a restore into a state directory that already holds a store.
	ErrNotEmpty = errors.New("state directory already holds a store")
)

// DB is the open store. Its methods are safe for concurrent use.
type DB struct {
	bolt *bolt.DB
	path string
	// updates and views count transactions, for benchmarks.
	updates, views atomic.Uint64
}

// Counts returns how many write and read transactions the store ran.
func (db *DB) Counts() (updates, views uint64) { return db.updates.Load(), db.views.Load() }

// Open opens (creating if needed) the store file in dir, checks it and runs
// every pending migration. It fails with ErrCorrupt on a damaged file — an
// empty one included — and ErrNewerSchema on a file from a newer release, and
// never panics.
func Open(dir string) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	path := filepath.Join(dir, FileName)
	if err := create(path); err != nil {
		return nil, err
	}
	db, err := openFile(path, false)
	if err != nil {
		return nil, err
	}
	if err := db.migrate(migrations); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// create makes a new, initialized store file at path when there is none. The
// file is built under a temporary name and renamed into place, so a store
// file is never empty or half-initialized by a crash on first start: an
// empty file at path is damage (a wiped disk, a bad copy), refused by Open
// rather than taken for a new box with setup open.
func create(path string) error {
	if _, err := os.Lstat(path); err == nil || !errors.Is(err, os.ErrNotExist) {
		return nil // there is a file (or the error shows when opening it)
	}
	tmp := path + ".new"
	os.Remove(tmp) // left over from a crash during an earlier first start
	b, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return fmt.Errorf("store: create: %w", err)
	}
	if err := b.Close(); err != nil {
		return fmt.Errorf("store: create: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("store: create: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

// openFile opens path and verifies its pages. A read-only open does not
// create the file.
func openFile(path string, readOnly bool) (db *DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store %s: %w (%v)", path, ErrCorrupt, r)
		}
	}()
	if readOnly {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		if fi.Size() < 4*1024 {
			return nil, fmt.Errorf("store %s: %w (only %d bytes)", path, ErrCorrupt, fi.Size())
		}
	}
	if err := precheck(path); err != nil {
		return nil, err
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, ReadOnly: readOnly})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("store %s: another process holds it open (is applianced already running?)", path)
		}
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("store: %w", err)
		}
		return nil, fmt.Errorf("store %s: %w (%v)", path, ErrCorrupt, err)
	}
	b.MaxBatchDelay = batchDelay
	return &DB{bolt: b, path: path}, nil
}

// Path is the file the store lives in.
func (db *DB) Path() string { return db.path }

// Close closes the file. It is safe to call more than once.
func (db *DB) Close() error {
	if db == nil || db.bolt == nil {
		return nil
	}
	return db.bolt.Close()
}

type txKey struct{}

// View runs fn in a read-only transaction, or in the transaction already
// carried by ctx (see [WithTx]).
func (db *DB) View(ctx context.Context, fn func(*bolt.Tx) error) error {
	if tx, ok := ctx.Value(txKey{}).(*bolt.Tx); ok && tx.DB() == db.bolt {
		return fn(tx)
	}
	db.views.Add(1)
	return guard(func() error { return db.bolt.View(fn) })
}

// Update runs fn in a read-write transaction and returns only once it has
// committed to disk, or reuses a writable transaction carried by ctx. A nil
// return therefore means the change is durable.
func (db *DB) Update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if tx, ok := ctx.Value(txKey{}).(*bolt.Tx); ok && tx.DB() == db.bolt {
		if !tx.Writable() {
			return errors.New("store: write inside a read-only transaction")
		}
		return fn(tx)
	}
	db.updates.Add(1)
	return guard(func() error { return db.bolt.Update(fn) })
}

// Batch runs fn in a write transaction shared with other concurrent Batch
// callers, so a burst of writers pays for one disk sync instead of one
// each; like Update it returns only after the commit. fn may run more than
// once (when another function of the batch fails), so it must not change
// anything outside the transaction except on its last run.
func (db *DB) Batch(ctx context.Context, fn func(*bolt.Tx) error) error {
	if tx, ok := ctx.Value(txKey{}).(*bolt.Tx); ok && tx.DB() == db.bolt {
		return db.Update(ctx, fn)
	}
	db.updates.Add(1)
	return guard(func() error { return db.bolt.Batch(fn) })
}

// batchDelay is how long a batch waits for more writers: a lone writer pays
// at most this much extra latency.
const batchDelay = time.Millisecond

// WithTx returns a context that carries tx, so service methods called with it
// join the caller's transaction instead of opening their own.
func WithTx(ctx context.Context, tx *bolt.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// guard turns a panic inside bbolt (a damaged page discovered late) into an error.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("store: %w (%v)", ErrCorrupt, r)
		}
	}()
	return fn()
}

// Snapshot writes a consistent copy of the whole store to an unlinked
// temporary file in the store's directory and returns it open at its start.
// Callers stream it to the network afterwards, so no transaction is held
// across network I/O. The caller closes the file.
func (db *DB) Snapshot(ctx context.Context) (*os.File, int64, error) {
	f, err := os.CreateTemp(filepath.Dir(db.path), ".snapshot-*")
	if err != nil {
		return nil, 0, fmt.Errorf("store: snapshot: %w", err)
	}
	os.Remove(f.Name()) // gone from the directory; the open file remains
	n, err := db.Backup(ctx, f)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("store: snapshot: %w", err)
	}
	return f, n, nil
}

// Backup writes a consistent copy of the whole store to w while the store
// stays in use, and returns the number of bytes written. It holds a read
// transaction while it writes: give it a local file, not a network peer
// (see Snapshot).
func (db *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := db.View(ctx, func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("store: backup: %w", err)
	}
	return n, nil
}
