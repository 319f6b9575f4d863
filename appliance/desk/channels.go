package desk

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/appliance/text"
	bolt "go.etcd.io/bbolt"
)

// Channel bounds.
const (
	MaxNameLen       = 64
	MinExpiryMinutes = 30
	MaxExpiryMinutes = 24 * 60
)

// Channel is an intake queue of the help desk ("Mac design", "Tier 2").
type Channel struct {
	ID          uint64 `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// ExpiryMinutes is how long a session may wait in the queue.
	ExpiryMinutes int      `json:"expiry_minutes"`
	Teams         []uint64 `json:"teams,omitempty"`
	Technicians   []uint64 `json:"technicians,omitempty"`
	// Managers are the channel managers who configure and supervise it.
	Managers []uint64 `json:"managers,omitempty"`
	// Default catches requests nothing else routes.
	Default bool `json:"default,omitempty"`
}

func checkName(fe *FieldErrors, field, name string) {
	switch n := utf8.RuneCountInString(name); {
	case strings.TrimSpace(name) == "":
		fe.add(field, "Enter a name.")
	case n > MaxNameLen:
		fe.add(field, fmt.Sprintf("Use at most %d characters (this has %d).", MaxNameLen, n))
	case text.HasBidiControl(name):
		fe.add(field, text.BidiMessage)
	}
}

func (c *Channel) normalize() error {
	c.Name = strings.TrimSpace(c.Name)
	c.Description = strings.TrimSpace(c.Description)
	var fe FieldErrors
	checkName(&fe, "name", c.Name)
	if utf8.RuneCountInString(c.Description) > 1024 {
		fe.add("description", "Use at most 1024 characters.")
	}
	if c.ExpiryMinutes < MinExpiryMinutes || c.ExpiryMinutes > MaxExpiryMinutes {
		fe.add("expiry_minutes", fmt.Sprintf("Choose between %d minutes and 24 hours (%d minutes).", MinExpiryMinutes, MaxExpiryMinutes))
	}
	c.Teams, c.Technicians, c.Managers = uniq(c.Teams), uniq(c.Technicians), uniq(c.Managers)
	return fe.err()
}

func uniq(ids []uint64) []uint64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	out = slices.Compact(out)
	return slices.DeleteFunc(out, func(id uint64) bool { return id == 0 })
}

// Channels returns the channels a may see (all of them for admins and
// technician managers, its managed channels for a channel manager).
func (s *Service) Channels(ctx context.Context, a Actor) ([]Channel, error) {
	var out []Channel
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		all, err := all[Channel](tx, bChannels)
		for _, c := range all {
			if Can(a, ActViewChannel, Scope{Channel: c.ID}) {
				out = append(out, c)
			}
		}
		return err
	})
	return out, err
}

// AllChannels returns every channel, for routing and pickers; it checks
// nothing and is not for configuration pages.
func (s *Service) AllChannels(ctx context.Context) ([]Channel, error) {
	var out []Channel
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = all[Channel](tx, bChannels)
		return err
	})
	return out, err
}

// Channel returns channel id if a may see it.
func (s *Service) Channel(ctx context.Context, a Actor, id uint64) (Channel, error) {
	if err := Authorize(a, ActViewChannel, Scope{Channel: id}); err != nil {
		return Channel{}, err
	}
	var c Channel
	err := s.db.View(ctx, func(tx *bolt.Tx) error { return get(tx, bChannels, id, &c) })
	return c, err
}

// SaveChannel creates c (ID 0) or replaces it, after checking a may, that
// every field is valid and that the name is not taken.
func (s *Service) SaveChannel(ctx context.Context, a Actor, c Channel) (Channel, error) {
	act := ActEditChannel
	if c.ID == 0 {
		act = ActCreateChannel
	}
	if err := Authorize(a, act, Scope{Channel: c.ID}); err != nil {
		return c, err
	}
	if err := c.normalize(); err != nil {
		return c, err
	}
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		var before *Channel
		if c.ID != 0 {
			var old Channel
			if err := get(tx, bChannels, c.ID, &old); err != nil {
				return err
			}
			before = &old
			// Only those who configure every channel pick its managers
			// and the default (which takes the flag from another channel).
			if a.Role == RoleChannelManager {
				c.Managers, c.Default = old.Managers, old.Default
			}
		}
		names := root(tx, bChannelNames)
		key := []byte(strings.ToLower(c.Name))
		if owner := names.Get(key); owner != nil && (c.ID == 0 || !slices.Equal(owner, idKey(c.ID))) {
			return FieldErrors{{"name", "Another channel already has this name. Choose another."}}
		}
		if err := s.checkRefs(tx, c); err != nil {
			return err
		}
		if c.ID == 0 {
			id, err := nextID(tx, bChannels)
			if err != nil {
				return err
			}
			c.ID = id
		} else if before.Name != c.Name {
			if err := names.Delete([]byte(strings.ToLower(before.Name))); err != nil {
				return err
			}
		}
		if err := names.Put(key, idKey(c.ID)); err != nil {
			return err
		}
		if c.Default {
			if err := s.clearDefault(tx, a, c.ID); err != nil {
				return err
			}
		}
		if err := put(tx, bChannels, c.ID, c); err != nil {
			return err
		}
		if before == nil {
			return s.audit(tx, a, "create", "channel", c.ID, c.Name, nil, c)
		}
		return s.audit(tx, a, "update", "channel", c.ID, c.Name, before, c)
	})
	return c, err
}

// checkRefs refuses teams and technicians that do not exist.
func (s *Service) checkRefs(tx *bolt.Tx, c Channel) error {
	for _, id := range c.Teams {
		if root(tx, bTeams).Get(idKey(id)) == nil {
			return FieldErrors{{"teams", fmt.Sprintf("Team %d does not exist any more. Reload the page.", id)}}
		}
	}
	for _, id := range append(slices.Clone(c.Technicians), c.Managers...) {
		if root(tx, bTechs).Get(idKey(id)) == nil {
			return FieldErrors{{"technicians", fmt.Sprintf("Technician %d does not exist any more. Reload the page.", id)}}
		}
	}
	return nil
}

// clearDefault takes the default flag off every channel but keep.
func (s *Service) clearDefault(tx *bolt.Tx, a Actor, keep uint64) error {
	chans, err := all[Channel](tx, bChannels)
	if err != nil {
		return err
	}
	for _, o := range chans {
		if o.Default && o.ID != keep {
			before := o
			o.Default = false
			if err := put(tx, bChannels, o.ID, o); err != nil {
				return err
			}
			if err := s.audit(tx, a, "update", "channel", o.ID, o.Name, before, o); err != nil {
				return err
			}
		}
	}
	return nil
}

// DeleteChannel deletes channel id. It refuses while sessions are queued
// in it, and for the default channel.
func (s *Service) DeleteChannel(ctx context.Context, a Actor, id uint64) error {
	if err := Authorize(a, ActDeleteChannel, Scope{Channel: id}); err != nil {
		return err
	}
	return s.db.Update(ctx, func(tx *bolt.Tx) error {
		var c Channel
		if err := get(tx, bChannels, id, &c); err != nil {
			return err
		}
		if q := root(tx, bChannelSessions).Bucket(idKey(id)); q != nil {
			if k, _ := q.Cursor().First(); k != nil {
				return fmt.Errorf("channel %q still has sessions; transfer or close them first: %w", c.Name, ErrInUse)
			}
		}
		if c.Default {
			return fmt.Errorf("channel %q is the default channel; make another channel the default first: %w", c.Name, ErrInUse)
		}
		issues, err := all[IssueType](tx, bIssues)
		if err != nil {
			return err
		}
		for _, it := range issues {
			if it.Channel == id {
				return fmt.Errorf("issue type %q routes to channel %q; move or delete it first: %w", it.Name, c.Name, ErrInUse)
			}
		}
		if err := root(tx, bChannels).Delete(idKey(id)); err != nil {
			return err
		}
		if err := root(tx, bChannelNames).Delete([]byte(strings.ToLower(c.Name))); err != nil {
			return err
		}
		// The channel's SOS Call links stop working with it.
		links, err := all[SOSLink](tx, bSOS)
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.Channel == id {
				if err := root(tx, bSOS).Delete(idKey(l.ID)); err != nil {
					return err
				}
			}
		}
		return s.audit(tx, a, "delete", "channel", id, c.Name, c, nil)
	})
}
