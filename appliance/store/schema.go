package store

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A Migration moves the store from schema Version-1 to Version. Migrations are
// append-only: a released migration is never edited, a change adds a new one.
type Migration struct {
	Version int
	Name    string
	Apply   func(tx *bolt.Tx) error
}

// migrations is the ordered schema history. Each entry has a case in
// TestMigrations.
var migrations = []Migration{
	{1, "meta, secrets and blobs buckets, per-box keys", migrateBase},
	{2, "auth realms: users, names, sessions, setup", migrateAuthRealms},
	{3, "desk: channels, teams, technicians, issue types, sites, audit", migrateDesk},
	{4, "desk: support sessions, queues, chat, keys, links, codes", migrateDeskSessions},
	{5, "desk: one-time remote-control tokens", migrateRemoteTokens},
	{6, "desk: presentations and their keys", migratePresentations},
	{7, "saml: service providers, pending requests, portal identities, errors", migrateSAML},
	{8, "desk: important messages of the public sites", migrateAnnouncements},
	{9, "desk: public sites' logos", migrateSiteLogos},
	{10, "desk: iOS configuration profiles and their access keys", migrateIOSProfiles},
	{11, "netcfg: desired network configuration, the trial in progress, changes", migrateNetcfg},
	{12, "tls: certificates per host name, ACME settings and the ACME client's files", migrateTLS},
}

// SchemaVersion is the schema this build writes.
func SchemaVersion() int { return migrations[len(migrations)-1].Version }

// Realms are the two account realms, each with its own users and sessions.
var Realms = []string{"site", "box"}

var (
	keySchema  = []byte("schema")
	keyCreated = []byte("created")
)

func migrateBase(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(BucketMeta)
	if err != nil {
		return err
	}
	if err := meta.Put(keyCreated, []byte(time.Now().UTC().Format(time.RFC3339))); err != nil {
		return err
	}
	if _, err := tx.CreateBucketIfNotExists(BucketBlobs); err != nil {
		return err
	}
	secrets, err := tx.CreateBucketIfNotExists(BucketSecrets)
	if err != nil {
		return err
	}
	// Per-box keys are made here, on the box's first start, never at build time.
	for _, name := range []string{"token-key", "csrf-key"} {
		if secrets.Get([]byte(name)) != nil {
			continue
		}
		k := make([]byte, 32)
		if _, err := rand.Read(k); err != nil {
			return err
		}
		if err := secrets.Put([]byte(name), k); err != nil {
			return err
		}
	}
	return nil
}

func migrateAuthRealms(tx *bolt.Tx) error {
	auth, err := tx.CreateBucketIfNotExists(BucketAuth)
	if err != nil {
		return err
	}
	for _, realm := range Realms {
		rb, err := auth.CreateBucketIfNotExists([]byte(realm))
		if err != nil {
			return err
		}
		for _, sub := range []string{"users", "names", "sessions", "setup"} {
			if _, err := rb.CreateBucketIfNotExists([]byte(sub)); err != nil {
				return err
			}
		}
	}
	return nil
}

// DeskBuckets are the sub-buckets of BucketDesk.
var DeskBuckets = []string{"channels", "channel-names", "channel-sessions", "teams", "technicians",
	"issue-types", "sites", "hostnames", "audit", "meta"}

func migrateDesk(tx *bolt.Tx) error {
	d, err := tx.CreateBucketIfNotExists(BucketDesk)
	if err != nil {
		return err
	}
	for _, sub := range DeskBuckets {
		if _, err := d.CreateBucketIfNotExists([]byte(sub)); err != nil {
			return err
		}
	}
	return nil
}

// DeskSessionBuckets are the sub-buckets of BucketDesk added by migration 4.
var DeskSessionBuckets = []string{"sessions", "tech-sessions", "session-chat", "customer-tokens",
	"session-keys", "support-links", "sos-links", "sos-codes"}

func migrateDeskSessions(tx *bolt.Tx) error {
	d := tx.Bucket(BucketDesk)
	if d == nil {
		return errors.New("desk bucket missing")
	}
	for _, sub := range DeskSessionBuckets {
		if _, err := d.CreateBucketIfNotExists([]byte(sub)); err != nil {
			return err
		}
	}
	return nil
}

// DeskRemoteBuckets are the sub-buckets of BucketDesk added by migration 5.
var DeskRemoteBuckets = []string{"remote-tokens"}

func migrateRemoteTokens(tx *bolt.Tx) error {
	d := tx.Bucket(BucketDesk)
	if d == nil {
		return errors.New("desk bucket missing")
	}
	for _, sub := range DeskRemoteBuckets {
		if _, err := d.CreateBucketIfNotExists([]byte(sub)); err != nil {
			return err
		}
	}
	return nil
}

// schemaOf reads the schema version recorded in tx (0 for a new file).
func schemaOf(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket(BucketMeta)
	if meta == nil {
		if isEmpty(tx) {
			return 0, nil
		}
		return 0, fmt.Errorf("%w: no meta bucket", ErrCorrupt)
	}
	v := meta.Get(keySchema)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("%w: schema version has %d bytes", ErrCorrupt, len(v))
	}
	return int(binary.BigEndian.Uint64(v)), nil
}

func isEmpty(tx *bolt.Tx) bool {
	k, _ := tx.Cursor().First()
	return k == nil
}

// migrate applies every migration newer than the file's schema, each in its
// own transaction that also records the new version.
func (db *DB) migrate(list []Migration) error {
	if len(list) == 0 {
		return nil
	}
	latest := list[len(list)-1].Version
	for _, m := range list {
		err := guard(func() error {
			return db.bolt.Update(func(tx *bolt.Tx) error {
				cur, err := schemaOf(tx)
				if err != nil {
					return err
				}
				if cur > latest {
					return fmt.Errorf("%w: schema %d, this build knows up to %d", ErrNewerSchema, cur, latest)
				}
				if cur >= m.Version {
					return nil
				}
				if cur != m.Version-1 {
					return fmt.Errorf("store: migration %d needs schema %d, file has %d", m.Version, m.Version-1, cur)
				}
				if err := m.Apply(tx); err != nil {
					return fmt.Errorf("store: migration %d (%s): %w", m.Version, m.Name, err)
				}
				return setSchema(tx, m.Version)
			})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func setSchema(tx *bolt.Tx, v int) error {
	meta := tx.Bucket(BucketMeta)
	if meta == nil {
		return errors.New("store: meta bucket missing")
	}
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(v))
	return meta.Put(keySchema, b)
}

// Schema reports the schema version of the open store.
func (db *DB) Schema() (int, error) {
	var v int
	err := guard(func() error {
		return db.bolt.View(func(tx *bolt.Tx) error {
			var err error
			v, err = schemaOf(tx)
			return err
		})
	})
	return v, err
}

// DeskPresentationBuckets are the sub-buckets of BucketDesk added by
// migration 6.
var DeskPresentationBuckets = []string{"presentations", "presentation-keys"}

func migratePresentations(tx *bolt.Tx) error {
	d := tx.Bucket(BucketDesk)
	if d == nil {
		return errors.New("desk bucket missing")
	}
	for _, sub := range DeskPresentationBuckets {
		if _, err := d.CreateBucketIfNotExists([]byte(sub)); err != nil {
			return err
		}
	}
	return nil
}

// SAMLBuckets are the buckets under saml/ (package samlsp).
var SAMLBuckets = []string{"providers", "requests", "identities", "errors"}

func migrateSAML(tx *bolt.Tx) error {
	b, err := tx.CreateBucketIfNotExists(BucketSAML)
	if err != nil {
		return err
	}
	for _, sub := range SAMLBuckets {
		if _, err := b.CreateBucketIfNotExists([]byte(sub)); err != nil {
			return err
		}
	}
	return nil
}

// DeskAnnouncementBuckets hold the public sites' important messages.
var DeskAnnouncementBuckets = []string{"announcements"}

func migrateAnnouncements(tx *bolt.Tx) error {
	d := tx.Bucket(BucketDesk)
	if d == nil {
		return errors.New("desk bucket missing")
	}
	for _, sub := range DeskAnnouncementBuckets {
		if _, err := d.CreateBucketIfNotExists([]byte(sub)); err != nil {
			return err
		}
	}
	return nil
}

func migrateSiteLogos(tx *bolt.Tx) error {
	d := tx.Bucket(BucketDesk)
	if d == nil {
		return errors.New("desk bucket missing")
	}
	_, err := d.CreateBucketIfNotExists([]byte("site-logos"))
	return err
}

// DeskIOSBuckets are the iOS profiles portal's buckets under desk.
var DeskIOSBuckets = []string{"ios-profiles", "ios-profile-files", "ios-keys", "ios-grants"}

func migrateIOSProfiles(tx *bolt.Tx) error {
	d := tx.Bucket(BucketDesk)
	if d == nil {
		return errors.New("desk bucket missing")
	}
	for _, sub := range DeskIOSBuckets {
		if _, err := d.CreateBucketIfNotExists([]byte(sub)); err != nil {
			return err
		}
	}
	return nil
}

// NetcfgBuckets are the buckets under netcfg/ (package netcfg).
var NetcfgBuckets = []string{"meta", "changes"}

func migrateNetcfg(tx *bolt.Tx) error {
	b, err := tx.CreateBucketIfNotExists(BucketNetcfg)
	if err != nil {
		return err
	}
	for _, sub := range NetcfgBuckets {
		if _, err := b.CreateBucketIfNotExists([]byte(sub)); err != nil {
			return err
		}
	}
	return nil
}

// TLSBuckets are the buckets under tls/ (package tlscert).
var TLSBuckets = []string{"meta", "hosts", "acme-files"}

func migrateTLS(tx *bolt.Tx) error {
	b, err := tx.CreateBucketIfNotExists(BucketTLS)
	if err != nil {
		return err
	}
	for _, sub := range TLSBuckets {
		if _, err := b.CreateBucketIfNotExists([]byte(sub)); err != nil {
			return err
		}
	}
	return nil
}
