package auth

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/appliance/text"
	bolt "go.etcd.io/bbolt"
)

// A User is an account of one realm.
type User struct {
	ID           uint64 `json:"id"`
	Realm        Realm  `json:"realm"`
	Username     string `json:"username"` // lower-cased, unique in the realm
	DisplayName  string `json:"display_name"`
	Role         string `json:"role"`          // RoleAdmin, RoleTechnician, …
	PasswordHash string `json:"password_hash"` // Argon2id PHC string; empty in Users handed out by the Service
	TOTPSecret   string `json:"totp_secret,omitempty"`
	TOTPLastStep uint64 `json:"totp_last_step,omitempty"` // the last TOTP time step accepted
	Disabled     bool   `json:"disabled,omitempty"`
	// Origin is "" for an account made here, or "saml:" and the entity ID
	// of the identity provider whose single sign-on created it.
	Origin  string    `json:"origin,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// HasTOTP reports whether the user signs in with a TOTP second factor.
func (u User) HasTOTP() bool { return u.TOTPSecret != "" }

// public returns u without its password hash, which never leaves the package.
func (u User) public() User {
	u.PasswordHash = ""
	return u
}

// NewUser is what it takes to create a user.
type NewUser struct {
	Username    string
	DisplayName string
	Password    string
	Role        string
	// Origin is User.Origin ("" for a local account).
	Origin string
}

// Local reports whether the account was made on the box rather than by an
// identity provider's single sign-on.
func (u User) Local() bool { return u.Origin == "" }

const (
	maxUsernameLen    = 64
	maxDisplayNameLen = 128
)

// normalizeUsername checks a username and returns its stored, lower-cased form.
func normalizeUsername(name string) (string, error) {
	if name == "" {
		return "", invalid("username", "enter a username")
	}
	if len(name) > maxUsernameLen {
		return "", invalid("username", fmt.Sprintf("use at most %d characters", maxUsernameLen))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._@-", c) >= 0) {
			return "", invalid("username", "use only the letters A–Z, digits and . _ @ -")
		}
	}
	return strings.ToLower(name), nil
}

func checkDisplayName(name string) error {
	if len(name) > maxDisplayNameLen {
		return invalid("display_name", fmt.Sprintf("use at most %d bytes", maxDisplayNameLen))
	}
	if !utf8.ValidString(name) {
		return invalid("display_name", "the name is not valid text (UTF-8); type it again")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return invalid("display_name", "remove control characters such as tabs and line breaks")
		}
	}
	if text.HasBidiControl(name) {
		return invalid("display_name", text.BidiMessage)
	}
	return nil
}

// checkRole returns the role a new user of realm gets.
func checkRole(realm Realm, role string) (string, error) {
	if realm == Box {
		if role != "" && role != RoleAdmin {
			return "", invalid("role", "appliance accounts are always administrators")
		}
		return RoleAdmin, nil
	}
	switch role {
	case RoleAdmin, RoleTechnician, RoleChannelManager, RoleTechManager:
		return role, nil
	case "":
		return "", invalid("role", "choose a role")
	}
	return "", invalid("role", fmt.Sprintf("unknown role %q", role))
}

// checkNewUser validates nu for realm and returns it normalized.
func checkNewUser(realm Realm, nu NewUser) (NewUser, error) {
	if !realm.valid() {
		return nu, invalid("realm", fmt.Sprintf("unknown realm %q", realm))
	}
	var err error
	if nu.Username, err = normalizeUsername(nu.Username); err != nil {
		return nu, err
	}
	if err := checkDisplayName(nu.DisplayName); err != nil {
		return nu, err
	}
	if nu.Role, err = checkRole(realm, nu.Role); err != nil {
		return nu, err
	}
	if err := checkPassword(nu.Password); err != nil {
		return nu, err
	}
	if nu.Origin != "" && realm != Site {
		return nu, invalid("origin", "only site accounts can come from single sign-on")
	}
	return nu, nil
}

func idKey(id uint64) []byte { return binary.BigEndian.AppendUint64(nil, id) }

// getUser reads user id of realm from tx.
func getUser(tx *bolt.Tx, realm Realm, id uint64) (User, error) {
	var u User
	b, err := bucket(tx, realm, subUsers)
	if err != nil {
		return u, err
	}
	v := b.Get(idKey(id))
	if v == nil {
		return u, fmt.Errorf("user %d: %w", id, ErrNotFound)
	}
	if err := json.Unmarshal(v, &u); err != nil {
		return u, fmt.Errorf("user %d: %w", id, err)
	}
	return u, nil
}

// userByName reads the user of realm with the lower-cased name from tx.
func userByName(tx *bolt.Tx, realm Realm, name string) (User, error) {
	names, err := bucket(tx, realm, subNames)
	if err != nil {
		return User{}, err
	}
	v := names.Get([]byte(name))
	if len(v) != 8 {
		return User{}, fmt.Errorf("user %q: %w", name, ErrNotFound)
	}
	return getUser(tx, realm, binary.BigEndian.Uint64(v))
}

func putUser(tx *bolt.Tx, u User) error {
	b, err := bucket(tx, u.Realm, subUsers)
	if err != nil {
		return err
	}
	v, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return b.Put(idKey(u.ID), v)
}

// insertUser stores a new user of realm with an already hashed password.
func (s *Service) insertUser(tx *bolt.Tx, realm Realm, nu NewUser, hash string) (User, error) {
	users, err := bucket(tx, realm, subUsers)
	if err != nil {
		return User{}, err
	}
	names, err := bucket(tx, realm, subNames)
	if err != nil {
		return User{}, err
	}
	if names.Get([]byte(nu.Username)) != nil {
		return User{}, fmt.Errorf("user %q: %w", nu.Username, ErrExists)
	}
	id, err := users.NextSequence()
	if err != nil {
		return User{}, err
	}
	now := s.clock()
	u := User{
		ID:           id,
		Realm:        realm,
		Username:     nu.Username,
		DisplayName:  nu.DisplayName,
		Role:         nu.Role,
		Origin:       nu.Origin,
		PasswordHash: hash,
		Created:      now,
		Updated:      now,
	}
	if err := putUser(tx, u); err != nil {
		return User{}, err
	}
	if err := names.Put([]byte(u.Username), idKey(id)); err != nil {
		return User{}, err
	}
	return u, nil
}

// forEachUser calls fn with every user of realm in tx, in id order.
func forEachUser(tx *bolt.Tx, realm Realm, fn func(User) error) error {
	b, err := bucket(tx, realm, subUsers)
	if err != nil {
		return err
	}
	return b.ForEach(func(k, v []byte) error {
		var u User
		if err := json.Unmarshal(v, &u); err != nil {
			return fmt.Errorf("user %x: %w", k, err)
		}
		return fn(u)
	})
}

var errStop = errors.New("stop")

// enabledAdmins counts the enabled local administrators of realm other
// than except: those who sign in with a password whatever an identity
// provider does, so the box never locks itself out.
func enabledAdmins(tx *bolt.Tx, realm Realm, except uint64) (int, error) {
	n := 0
	err := forEachUser(tx, realm, func(u User) error {
		if u.ID != except && u.Role == RoleAdmin && u.Local() && !u.Disabled {
			n++
		}
		return nil
	})
	return n, err
}

func hasAdmin(tx *bolt.Tx, realm Realm) (bool, error) {
	found := false
	err := forEachUser(tx, realm, func(u User) error {
		if u.Role == RoleAdmin && !u.Disabled {
			found = true
			return errStop
		}
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return found, err
}

// HasAdmin reports whether realm has an enabled administrator. Until it
// has, the realm can only be entered through first-run setup.
func (s *Service) HasAdmin(ctx context.Context, realm Realm) (bool, error) {
	var found bool
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		var err error
		found, err = hasAdmin(tx, realm)
		return err
	})
	return found, err
}

// CreateUser adds a user to realm. It fails with a *FieldError for input
// that breaks a rule and with ErrExists for a taken username.
func (s *Service) CreateUser(ctx context.Context, realm Realm, nu NewUser) (User, error) {
	nu, err := checkNewUser(realm, nu)
	if err != nil {
		return User{}, err
	}
	// Hash outside the write transaction: it is the slow part.
	hash, err := s.hashPassword(ctx, nu.Password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = s.db.Update(ctx, func(tx *bolt.Tx) error {
		u, err = s.insertUser(tx, realm, nu, hash)
		return err
	})
	if err != nil {
		return User{}, err
	}
	s.log.Info("user created", "realm", realm, "user", u.ID, "role", u.Role)
	return u.public(), nil
}

// Users returns the users of realm sorted by username.
func (s *Service) Users(ctx context.Context, realm Realm) ([]User, error) {
	var out []User
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		names, err := bucket(tx, realm, subNames)
		if err != nil {
			return err
		}
		// The names bucket is ordered by lower-cased username.
		return names.ForEach(func(k, v []byte) error {
			if len(v) != 8 {
				return fmt.Errorf("auth: name %q: bad id", k)
			}
			u, err := getUser(tx, realm, binary.BigEndian.Uint64(v))
			if err != nil {
				return err
			}
			out = append(out, u.public())
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// User returns user id of realm, or ErrNotFound.
func (s *Service) User(ctx context.Context, realm Realm, id uint64) (User, error) {
	var u User
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		var err error
		u, err = getUser(tx, realm, id)
		return err
	})
	return u.public(), err
}

// UserNamed returns the user of realm called username (any case), or
// ErrNotFound.
func (s *Service) UserNamed(ctx context.Context, realm Realm, username string) (User, error) {
	name, err := normalizeUsername(username)
	if err != nil {
		return User{}, ErrNotFound
	}
	var u User
	err = s.db.View(ctx, func(tx *bolt.Tx) error {
		var err error
		u, err = userByName(tx, realm, name)
		return err
	})
	return u.public(), err
}

// updateUser applies fn to user id of realm in one write transaction.
func (s *Service) updateUser(ctx context.Context, realm Realm, id uint64, fn func(tx *bolt.Tx, u *User) error) error {
	return s.db.Update(ctx, func(tx *bolt.Tx) error {
		u, err := getUser(tx, realm, id)
		if err != nil {
			return err
		}
		if err := fn(tx, &u); err != nil {
			return err
		}
		u.Updated = s.clock()
		return putUser(tx, u)
	})
}

// SetDisabled disables or re-enables user id of realm. Disabling ends the
// user's login sessions; it is refused for the last enabled administrator.
func (s *Service) SetDisabled(ctx context.Context, realm Realm, id uint64, disabled bool) error {
	var ended int
	err := s.updateUser(ctx, realm, id, func(tx *bolt.Tx, u *User) error {
		if disabled && u.Role == RoleAdmin && u.Local() && !u.Disabled {
			n, err := enabledAdmins(tx, realm, u.ID)
			if err != nil {
				return err
			}
			if n == 0 {
				return invalid("user", "this is the last enabled administrator; add or enable another one first")
			}
		}
		u.Disabled = disabled
		if disabled {
			var err error
			ended, err = deleteUserSessions(tx, realm, u.ID)
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("user disabled changed", "realm", realm, "user", id, "disabled", disabled, "sessions_ended", ended)
	return nil
}

// SetProfile changes the display name and role of user id. Taking the
// administrator role from the last enabled administrator is refused.
func (s *Service) SetProfile(ctx context.Context, realm Realm, id uint64, displayName, role string) error {
	if err := checkDisplayName(displayName); err != nil {
		return err
	}
	role, err := checkRole(realm, role)
	if err != nil {
		return err
	}
	return s.updateUser(ctx, realm, id, func(tx *bolt.Tx, u *User) error {
		if u.Role == RoleAdmin && u.Local() && role != RoleAdmin && !u.Disabled {
			n, err := enabledAdmins(tx, realm, u.ID)
			if err != nil {
				return err
			}
			if n == 0 {
				return invalid("role", "this is the last enabled administrator; make another one first")
			}
		}
		u.DisplayName, u.Role = displayName, role
		return nil
	})
}

// DeleteUser removes user id of realm and ends its login sessions. It is
// refused for the last enabled administrator.
func (s *Service) DeleteUser(ctx context.Context, realm Realm, id uint64) error {
	var ended int
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		u, err := getUser(tx, realm, id)
		if err != nil {
			return err
		}
		if u.Role == RoleAdmin && u.Local() && !u.Disabled {
			n, err := enabledAdmins(tx, realm, u.ID)
			if err != nil {
				return err
			}
			if n == 0 {
				return invalid("user", "this is the last enabled administrator; add another one first")
			}
		}
		users, err := bucket(tx, realm, subUsers)
		if err != nil {
			return err
		}
		names, err := bucket(tx, realm, subNames)
		if err != nil {
			return err
		}
		if v := names.Get([]byte(u.Username)); bytes.Equal(v, idKey(id)) {
			if err := names.Delete([]byte(u.Username)); err != nil {
				return err
			}
		}
		if err := users.Delete(idKey(id)); err != nil {
			return err
		}
		ended, err = deleteUserSessions(tx, realm, id)
		return err
	})
	if err != nil {
		return err
	}
	s.log.Info("user deleted", "realm", realm, "user", id, "sessions_ended", ended)
	return nil
}

// SetPassword replaces the password of user id of realm. It leaves the
// user's login sessions alone; end them with EndUserSessions if wanted.
func (s *Service) SetPassword(ctx context.Context, realm Realm, id uint64, password string) error {
	if !realm.valid() {
		return invalid("realm", fmt.Sprintf("unknown realm %q", realm))
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	// Fail early for an unknown user, before the slow hash.
	if _, err := s.User(ctx, realm, id); err != nil {
		return err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return err
	}
	err = s.updateUser(ctx, realm, id, func(_ *bolt.Tx, u *User) error {
		u.PasswordHash = hash
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("password changed", "realm", realm, "user", id)
	return nil
}
