package desk

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Availability of a technician, which the public technician list follows.
const (
	Available = "available"
	Busy      = "busy"
	Away      = "away"
)

// MaxPhoto bounds a technician's photo.
const MaxPhoto = 256 << 10

// Technician is the desk profile of a site user (same id as the auth user).
type Technician struct {
	UserID uint64 `json:"user_id"`
	// PrivateName is shown to colleagues, PublicName to customers.
	PrivateName string `json:"private_name"`
	PublicName  string `json:"public_name"`
	// DisplayNumber orders the public technician list.
	DisplayNumber int           `json:"display_number"`
	Photo         []byte        `json:"photo,omitempty"`
	PhotoType     string        `json:"photo_type,omitempty"`
	Availability  string        `json:"availability"`
	Perms         map[Perm]bool `json:"perms"`
	// Role is the role given at the last save, so the audit log shows role
	// changes; the auth user's role is the one that counts.
	Role string `json:"role,omitempty"`
}

// CheckTechnician validates the profile fields of t, so a caller can check
// a form before it creates the account.
func CheckTechnician(t *Technician) error {
	t.PrivateName = strings.TrimSpace(t.PrivateName)
	t.PublicName = strings.TrimSpace(t.PublicName)
	var fe FieldErrors
	checkName(&fe, "private_name", t.PrivateName)
	checkName(&fe, "public_name", t.PublicName)
	if t.DisplayNumber < 0 || t.DisplayNumber > 9999 {
		fe.add("display_number", "Use a number from 0 to 9999.")
	}
	switch t.Availability {
	case "":
		t.Availability = Available
	case Available, Busy, Away:
	default:
		fe.add("availability", "Choose available, busy or away.")
	}
	if len(t.Photo) > 0 {
		if len(t.Photo) > MaxPhoto {
			fe.add("photo", fmt.Sprintf("Use a photo of at most %d KiB.", MaxPhoto>>10))
		} else {
			switch ct := http.DetectContentType(t.Photo); ct {
			case "image/png", "image/jpeg", "image/webp":
				t.PhotoType = ct
			default:
				fe.add("photo", "Use a PNG, JPEG or WebP image.")
			}
		}
	}
	for p := range t.Perms {
		if !knownPerm(p) {
			delete(t.Perms, p)
		}
	}
	if !utf8.ValidString(t.PrivateName + t.PublicName) {
		fe.add("public_name", "Use plain text.")
	}
	return fe.err()
}

func knownPerm(p Perm) bool {
	for _, k := range Perms {
		if k.Perm == p {
			return true
		}
	}
	return false
}

// Technicians returns every technician profile, by display number.
func (s *Service) Technicians(ctx context.Context) ([]Technician, error) {
	var out []Technician
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = all[Technician](tx, bTechs)
		return err
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].DisplayNumber < out[j].DisplayNumber })
	return out, err
}

// Technician returns the profile of user id.
func (s *Service) Technician(ctx context.Context, id uint64) (Technician, error) {
	var t Technician
	err := s.db.View(ctx, func(tx *bolt.Tx) error { return get(tx, bTechs, id, &t) })
	return t, err
}

// SaveTechnician creates or replaces the profile of user t.UserID. A nil
// Perms on a new profile takes the defaults of role.
func (s *Service) SaveTechnician(ctx context.Context, a Actor, t Technician, role string) (Technician, error) {
	if err := Authorize(a, ActManageUsers, Scope{}); err != nil {
		return t, err
	}
	if t.UserID == 0 {
		return t, &FieldError{"user", "No account given."}
	}
	if err := CheckTechnician(&t); err != nil {
		return t, err
	}
	if role != "" {
		t.Role = role
	}
	err := s.updatePublic(ctx, func(tx *bolt.Tx) error {
		var before *Technician
		var old Technician
		if err := get(tx, bTechs, t.UserID, &old); err == nil {
			before = &old
			if t.Photo == nil {
				t.Photo, t.PhotoType = old.Photo, old.PhotoType
			}
		}
		if t.Perms == nil {
			if before != nil {
				t.Perms = before.Perms
			} else {
				t.Perms = RoleDefaults(role)
			}
		}
		if err := put(tx, bTechs, t.UserID, t); err != nil {
			return err
		}
		if before == nil {
			return s.audit(tx, a, "create", "technician", t.UserID, t.PrivateName, nil, t.forAudit())
		}
		return s.audit(tx, a, "update", "technician", t.UserID, t.PrivateName, before.forAudit(), t.forAudit())
	})
	return t, err
}

// forAudit leaves the photo bytes out of audit entries.
func (t Technician) forAudit() Technician {
	if len(t.Photo) > 0 {
		t.PhotoType = fmt.Sprintf("%s, %d bytes", t.PhotoType, len(t.Photo))
		t.Photo = nil
	}
	return t
}

// SetAvailability changes the technician's own availability.
func (s *Service) SetAvailability(ctx context.Context, a Actor, availability string) error {
	switch availability {
	case Available, Busy, Away:
	default:
		return &FieldError{"availability", "Choose available, busy or away."}
	}
	return s.updatePublic(ctx, func(tx *bolt.Tx) error {
		var t Technician
		if err := get(tx, bTechs, a.UserID, &t); err != nil {
			return err
		}
		t.Availability = availability
		return put(tx, bTechs, t.UserID, t)
	})
}

// DeleteTechnician removes the profile of user id from the desk and from
// every channel and team.
func (s *Service) DeleteTechnician(ctx context.Context, a Actor, id uint64) error {
	if err := Authorize(a, ActManageUsers, Scope{}); err != nil {
		return err
	}
	return s.updatePublic(ctx, func(tx *bolt.Tx) error {
		var t Technician
		if err := get(tx, bTechs, id, &t); err != nil {
			return err
		}
		chans, err := all[Channel](tx, bChannels)
		if err != nil {
			return err
		}
		for _, c := range chans {
			before := c
			c.Technicians, c.Managers = without(c.Technicians, id), without(c.Managers, id)
			if len(c.Technicians) != len(before.Technicians) || len(c.Managers) != len(before.Managers) {
				if err := put(tx, bChannels, c.ID, c); err != nil {
					return err
				}
			}
		}
		teams, err := all[Team](tx, bTeams)
		if err != nil {
			return err
		}
		for _, tm := range teams {
			n := len(tm.Members) + len(tm.Leads) + len(tm.Managers)
			tm.Members, tm.Leads, tm.Managers = without(tm.Members, id), without(tm.Leads, id), without(tm.Managers, id)
			if len(tm.Members)+len(tm.Leads)+len(tm.Managers) != n {
				if err := put(tx, bTeams, tm.ID, tm); err != nil {
					return err
				}
			}
		}
		if err := root(tx, bTechs).Delete(idKey(id)); err != nil {
			return err
		}
		return s.audit(tx, a, "delete", "technician", id, t.PrivateName, t.forAudit(), nil)
	})
}

// ActorFor builds the Actor of site user id with role: its permissions and
// the channels it serves (directly or through a team) and manages.
func (s *Service) ActorFor(ctx context.Context, id uint64, name, role string) (Actor, error) {
	a := Actor{UserID: id, Name: name, PublicName: name, Role: role, Perms: RoleDefaults(role)}
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		var t Technician
		if err := get(tx, bTechs, id, &t); err == nil {
			if t.Perms != nil {
				a.Perms = t.Perms
			}
			if t.PublicName != "" {
				a.PublicName = t.PublicName
			}
		}
		teams, err := all[Team](tx, bTeams)
		if err != nil {
			return err
		}
		mine := map[uint64]bool{}
		for _, tm := range teams {
			for _, m := range append(append(append([]uint64{}, tm.Members...), tm.Leads...), tm.Managers...) {
				if m == id {
					mine[tm.ID] = true
				}
			}
		}
		chans, err := all[Channel](tx, bChannels)
		if err != nil {
			return err
		}
		for _, c := range chans {
			serves := slices.Contains(c.Technicians, id)
			for _, tm := range c.Teams {
				serves = serves || mine[tm]
			}
			if serves {
				a.Serves = append(a.Serves, c.ID)
			}
			if slices.Contains(c.Managers, id) {
				a.Manages = append(a.Manages, c.ID)
			}
		}
		return nil
	})
	return a, err
}
