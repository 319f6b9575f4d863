package desk

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboardhq/switchboard/appliance/mobileconfig"
	"github.com/switchboardhq/switchboard/appliance/text"
)

// The iOS profiles portal (the seed's "portail d'assistance technique
// iOS"): a site's page of Apple configuration profiles. Public profiles
// are listed to anyone; private ones only to a browser that entered an
// iOS access key, which a technician with the ios-access-keys permission
// makes: one-time, short-lived, kept as a keyed hash, guessed under the
// same limits as session keys.

// Profile is a configuration profile offered on a site's iOS page; the
// file itself is kept apart (ProfileFile).
type Profile struct {
	ID   uint64 `json:"id"`
	Site uint64 `json:"site"`
	// Name is what customers see; the profile's own display name when the
	// admin gives none.
	Name    string `json:"name"`
	Private bool   `json:"private,omitempty"`
	// FileName is the download's name: safe characters, .mobileconfig.
	FileName string `json:"file_name"`
	// What the file says of itself (mobileconfig.Check).
	Identifier   string               `json:"identifier"`
	UUID         string               `json:"uuid"`
	Organization string               `json:"organization,omitempty"`
	Description  string               `json:"description,omitempty"`
	Payloads     []string             `json:"payloads,omitempty"`
	Format       string               `json:"format"`
	Signed       bool                 `json:"signed,omitempty"`
	Signer       *mobileconfig.Signer `json:"signer,omitempty"`
	Size         uint64               `json:"size"`
	SHA256       string               `json:"sha256"`
	Uploaded     time.Time            `json:"uploaded"`
}

// Bounds of the iOS page.
const (
	MaxProfilesPerSite = 50
	MaxProfileName     = 100
	// DefaultIOSKeyLifetime and MaxIOSKeyLifetime bound an iOS access key;
	// IOSGrantLifetime is how long a browser that entered one sees the
	// private profiles.
	DefaultIOSKeyLifetime = 15 * time.Minute
	MaxIOSKeyLifetime     = 2 * time.Hour
	IOSGrantLifetime      = 30 * time.Minute
)

// KindProfile and KindIOSKey are the audit kinds of profiles and access
// keys.
const (
	KindProfile = "ios-profile"
	KindIOSKey  = "ios-access-key"
)

const (
	purposeIOSKey   = "desk-ios-key"
	purposeIOSGrant = "desk-ios-grant"
)

var (
	bProfiles     = []byte("ios-profiles")
	bProfileFiles = []byte("ios-profile-files")
	bIOSKeys      = []byte("ios-keys")
	bIOSGrants    = []byte("ios-grants")
)

// ProfileType is the media type iPhones install profiles from.
const ProfileType = "application/x-apple-aspen-config"

// iosKey is an iOS access key as stored, under its keyed hash.
type iosKey struct {
	Site       uint64    `json:"site"`
	Technician uint64    `json:"technician"`
	By         string    `json:"by"`
	Expires    time.Time `json:"expires"`
}

// iosGrant is a browser's leave to see a site's private profiles.
type iosGrant struct {
	Site    uint64    `json:"site"`
	Expires time.Time `json:"expires"`
}

// AddProfile validates file and adds it to site's iOS page; only
// administrators (ActManageSites). Nothing is stored unless the file is a
// configuration profile.
func (s *Service) AddProfile(ctx context.Context, a Actor, p Profile, file []byte) (Profile, error) {
	if err := Authorize(a, ActManageSites, Scope{}); err != nil {
		return Profile{}, err
	}
	if len(file) > mobileconfig.MaxSize {
		return Profile{}, &FieldError{"file", fmt.Sprintf("The file is larger than %d KiB, the most a profile may be.", mobileconfig.MaxSize>>10)}
	}
	info, err := mobileconfig.Check(file)
	if err != nil {
		return Profile{}, &FieldError{"file", err.Error()}
	}
	// What the file says is shown to customers: without direction
	// controls, which could make it read as something else.
	info.DisplayName, info.Organization, info.Description = text.StripBidiControls(info.DisplayName), text.StripBidiControls(info.Organization), text.StripBidiControls(info.Description)
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" {
		p.Name = text.ClipRunes(strings.TrimSpace(info.DisplayName), MaxProfileName)
	}
	if p.Name == "" {
		p.Name = text.ClipRunes(info.Identifier, MaxProfileName)
	}
	if err := checkProfileName(p.Name); err != nil {
		return Profile{}, err
	}
	sum := sha256.Sum256(file)
	p.FileName = profileFileName(p.Name, info.Identifier)
	p.Identifier, p.UUID, p.Organization, p.Description = info.Identifier, info.UUID, info.Organization, info.Description
	p.Payloads, p.Format, p.Signed, p.Signer = info.Payloads, info.Format, info.Signed, info.Signer
	p.Size, p.SHA256, p.Uploaded = uint64(len(file)), hex.EncodeToString(sum[:]), s.now().UTC()
	err = s.updatePublic(ctx, func(tx *bolt.Tx) error {
		var site Site
		if err := get(tx, bSites, p.Site, &site); err != nil {
			return &FieldError{"site", "That site does not exist."}
		}
		list, err := all[Profile](tx, bProfiles)
		if err != nil {
			return err
		}
		n := 0
		for _, o := range list {
			if o.Site == p.Site {
				n++
			}
		}
		if n >= MaxProfilesPerSite {
			return &FieldError{"file", fmt.Sprintf("A site holds at most %d profiles; delete one first.", MaxProfilesPerSite)}
		}
		if p.ID, err = nextID(tx, bProfiles); err != nil {
			return err
		}
		if err := put(tx, bProfiles, p.ID, p); err != nil {
			return err
		}
		if err := root(tx, bProfileFiles).Put(idKey(p.ID), file); err != nil {
			return err
		}
		return s.audit(tx, a, "create", KindProfile, p.ID, p.Name, nil, p)
	})
	return p, err
}

// SetProfile changes a profile's name and whether it is private.
func (s *Service) SetProfile(ctx context.Context, a Actor, id uint64, name string, private bool) (Profile, error) {
	if err := Authorize(a, ActManageSites, Scope{}); err != nil {
		return Profile{}, err
	}
	name = strings.TrimSpace(name)
	if err := checkProfileName(name); err != nil {
		return Profile{}, err
	}
	var p Profile
	err := s.updatePublic(ctx, func(tx *bolt.Tx) error {
		if err := get(tx, bProfiles, id, &p); err != nil {
			return err
		}
		before := p
		p.Name, p.Private = name, private
		p.FileName = profileFileName(name, p.Identifier)
		if err := put(tx, bProfiles, id, p); err != nil {
			return err
		}
		return s.audit(tx, a, "update", KindProfile, id, p.Name, before, p)
	})
	return p, err
}

// DeleteProfile removes a profile and its file.
func (s *Service) DeleteProfile(ctx context.Context, a Actor, id uint64) error {
	if err := Authorize(a, ActManageSites, Scope{}); err != nil {
		return err
	}
	return s.updatePublic(ctx, func(tx *bolt.Tx) error {
		var p Profile
		if err := get(tx, bProfiles, id, &p); err != nil {
			return err
		}
		return s.deleteProfile(tx, a, p)
	})
}

func (s *Service) deleteProfile(tx *bolt.Tx, a Actor, p Profile) error {
	if err := root(tx, bProfiles).Delete(idKey(p.ID)); err != nil {
		return err
	}
	if err := root(tx, bProfileFiles).Delete(idKey(p.ID)); err != nil {
		return err
	}
	return s.audit(tx, a, "delete", KindProfile, p.ID, p.Name, p, nil)
}

// deleteSiteProfiles removes every profile of site, in tx.
func (s *Service) deleteSiteProfiles(tx *bolt.Tx, a Actor, site uint64) error {
	list, err := all[Profile](tx, bProfiles)
	if err != nil {
		return err
	}
	for _, p := range list {
		if p.Site == site {
			if err := s.deleteProfile(tx, a, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// Profile returns profile id without its file.
func (s *Service) Profile(ctx context.Context, id uint64) (Profile, error) {
	var p Profile
	err := s.db.View(ctx, func(tx *bolt.Tx) error { return get(tx, bProfiles, id, &p) })
	return p, err
}

// Profiles returns site's profiles (every site's for site 0), oldest
// first.
func (s *Service) Profiles(ctx context.Context, site uint64) ([]Profile, error) {
	var out []Profile
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		list, err := all[Profile](tx, bProfiles)
		for _, p := range list {
			if site == 0 || p.Site == site {
				out = append(out, p)
			}
		}
		return err
	})
	return out, err
}

// ProfileFile returns profile id and its file.
func (s *Service) ProfileFile(ctx context.Context, id uint64) (Profile, []byte, error) {
	var (
		p    Profile
		file []byte
	)
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		if err := get(tx, bProfiles, id, &p); err != nil {
			return err
		}
		file = append([]byte(nil), root(tx, bProfileFiles).Get(idKey(id))...)
		if len(file) == 0 {
			return ErrNotFound
		}
		return nil
	})
	return p, file, err
}

func checkProfileName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > MaxProfileName || text.HasBidiControl(name) {
		return &FieldError{"name", fmt.Sprintf("Give the profile a name of 1 to %d characters, without direction controls.", MaxProfileName)}
	}
	return nil
}

// profileFileName is a download name any system takes: letters, digits,
// dot, dash and underscore from the name (else the identifier), at most
// 60, with .mobileconfig.
func profileFileName(name, identifier string) string {
	clean := func(s string) string {
		var b strings.Builder
		for _, r := range s {
			switch {
			case r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)) || r == '-' || r == '_' || r == '.':
				b.WriteRune(r)
			case r == ' ':
				b.WriteByte('-')
			}
			if b.Len() >= 60 {
				break
			}
		}
		return strings.Trim(b.String(), ".-_")
	}
	base := clean(name)
	if base == "" {
		base = clean(identifier)
	}
	if base == "" {
		base = "profile"
	}
	return base + ".mobileconfig"
}

// GenerateIOSKey makes a one-time 9-digit iOS access key for site's
// private profiles, valid for lifetime (default 15 minutes, at most two
// hours); technicians need the ios-access-keys permission.
func (s *Service) GenerateIOSKey(ctx context.Context, a Actor, site uint64, lifetime time.Duration) (string, time.Time, error) {
	if err := Authorize(a, ActUsePerm, Scope{Perm: PermIOSAccessKeys}); err != nil {
		return "", time.Time{}, err
	}
	if lifetime == 0 {
		lifetime = DefaultIOSKeyLifetime
	}
	if lifetime < time.Minute || lifetime > MaxIOSKeyLifetime {
		return "", time.Time{}, &FieldError{"lifetime", "Choose a lifetime from 1 minute to 2 hours."}
	}
	exp := s.now().UTC().Add(lifetime)
	var key string
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		var st Site
		if err := get(tx, bSites, site, &st); err != nil {
			return &FieldError{"site", "That site does not exist."}
		}
		for {
			key = RandomKey()
			h := s.keyed(purposeIOSKey, key)
			if root(tx, bIOSKeys).Get(h) != nil {
				continue
			}
			v, _ := json.Marshal(iosKey{Site: site, Technician: a.UserID, By: a.Name, Expires: exp})
			if err := root(tx, bIOSKeys).Put(h, v); err != nil {
				return err
			}
			return s.audit(tx, a, "create", KindIOSKey, site, st.Name, nil, map[string]any{"expires": exp})
		}
	})
	return key, exp, err
}

// ErrBadIOSKey is the one answer to an unknown, expired, used or other
// site's iOS access key.
var ErrBadIOSKey = &FieldError{"key", "That access key is not valid. Check the 9 digits, or ask your technician for a new key."}

var dummyIOSKey = []byte(`{"site":0,"technician":1,"by":"","expires":"2000-01-01T00:00:00Z"}`)

// RedeemIOSKey takes an iOS access key a customer entered on site from
// source and, once, returns a grant token: the browser's leave to see the
// site's private profiles for IOSGrantLifetime. The key is gone after.
// Unknown, expired, used and other sites' keys all get ErrBadIOSKey, along
// the same code path; wrong keys count against source under the session
// keys' limits.
func (s *Service) RedeemIOSKey(ctx context.Context, site uint64, key, source string) (string, time.Time, error) {
	if wait := s.guard.take(source); wait > 0 {
		return "", time.Time{}, &ThrottledError{wait}
	}
	digits, ok := NormalizeKey(key)
	if !ok {
		digits = "invalid"
	}
	h := s.keyed(purposeIOSKey, digits)
	var b [32]byte
	rand.Read(b[:])
	grant := base64.RawURLEncoding.EncodeToString(b[:])
	now := s.now().UTC()
	exp := now.Add(IOSGrantLifetime)
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		raw := root(tx, bIOSKeys).Get(h)
		found := raw != nil
		if !found {
			raw = dummyIOSKey // the same work as for a real record
		}
		var k iosKey
		if json.Unmarshal(raw, &k) != nil || !found || !now.Before(k.Expires) || k.Site != site {
			return ErrBadIOSKey
		}
		if err := root(tx, bIOSKeys).Delete(h); err != nil {
			return err
		}
		v, _ := json.Marshal(iosGrant{Site: site, Expires: exp})
		if err := root(tx, bIOSGrants).Put(s.keyed(purposeIOSGrant, grant), v); err != nil {
			return err
		}
		var st Site
		get(tx, bSites, site, &st)
		// A customer used it, not the technician who made it.
		return s.audit(tx, Actor{Name: "a customer, with the key of " + k.By}, "use", KindIOSKey, site, st.Name, nil,
			map[string]any{"technician": k.Technician, "source": source, "grant_expires": exp})
	})
	if err != ErrBadIOSKey {
		s.guard.succeeded(source)
	}
	return grant, exp, err
}

// IOSGrant reports whether grant lets its browser see site's private
// profiles now.
func (s *Service) IOSGrant(ctx context.Context, site uint64, grant string) bool {
	if grant == "" || len(grant) > 64 {
		return false
	}
	h := s.keyed(purposeIOSGrant, grant)
	var g iosGrant
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		raw := root(tx, bIOSGrants).Get(h)
		if raw == nil {
			return ErrNotFound
		}
		return json.Unmarshal(raw, &g)
	})
	return err == nil && g.Site == site && s.now().Before(g.Expires)
}

// pruneIOS deletes expired iOS access keys and grants.
func pruneIOS(tx *bolt.Tx, now time.Time) [][2][]byte {
	var dead [][2][]byte
	for _, b := range [][]byte{bIOSKeys, bIOSGrants} {
		root(tx, b).ForEach(func(k, v []byte) error {
			var r struct {
				Expires time.Time `json:"expires"`
			}
			if json.Unmarshal(v, &r) != nil || !now.Before(r.Expires) {
				dead = append(dead, [2][]byte{b, k})
			}
			return nil
		})
	}
	return dead
}
