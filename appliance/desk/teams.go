package desk

import (
	"context"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Team is a group of technicians (by expertise or tier) with its members,
// leads and managers.
type Team struct {
	ID       uint64   `json:"id"`
	Name     string   `json:"name"`
	Members  []uint64 `json:"members,omitempty"`
	Leads    []uint64 `json:"leads,omitempty"`
	Managers []uint64 `json:"managers,omitempty"`
}

// Teams returns every team.
func (s *Service) Teams(ctx context.Context) ([]Team, error) {
	var out []Team
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = all[Team](tx, bTeams)
		return err
	})
	return out, err
}

// Team returns team id.
func (s *Service) Team(ctx context.Context, id uint64) (Team, error) {
	var t Team
	err := s.db.View(ctx, func(tx *bolt.Tx) error { return get(tx, bTeams, id, &t) })
	return t, err
}

// SaveTeam creates (ID 0) or replaces a team.
func (s *Service) SaveTeam(ctx context.Context, a Actor, t Team) (Team, error) {
	if err := Authorize(a, ActManageTeams, Scope{}); err != nil {
		return t, err
	}
	t.Name = strings.TrimSpace(t.Name)
	var fe FieldErrors
	checkName(&fe, "name", t.Name)
	if err := fe.err(); err != nil {
		return t, err
	}
	t.Members, t.Leads, t.Managers = uniq(t.Members), uniq(t.Leads), uniq(t.Managers)
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		teams, err := all[Team](tx, bTeams)
		if err != nil {
			return err
		}
		for _, o := range teams {
			if o.ID != t.ID && strings.EqualFold(o.Name, t.Name) {
				return FieldErrors{{"name", "Another team already has this name. Choose another."}}
			}
		}
		for _, id := range append(append(append([]uint64{}, t.Members...), t.Leads...), t.Managers...) {
			if root(tx, bTechs).Get(idKey(id)) == nil {
				return FieldErrors{{"members", fmt.Sprintf("Technician %d does not exist any more. Reload the page.", id)}}
			}
		}
		var before *Team
		if t.ID == 0 {
			if t.ID, err = nextID(tx, bTeams); err != nil {
				return err
			}
		} else {
			var old Team
			if err := get(tx, bTeams, t.ID, &old); err != nil {
				return err
			}
			before = &old
		}
		if err := put(tx, bTeams, t.ID, t); err != nil {
			return err
		}
		if before == nil {
			return s.audit(tx, a, "create", "team", t.ID, t.Name, nil, t)
		}
		return s.audit(tx, a, "update", "team", t.ID, t.Name, before, t)
	})
	return t, err
}

// DeleteTeam deletes team id and removes it from every channel.
func (s *Service) DeleteTeam(ctx context.Context, a Actor, id uint64) error {
	if err := Authorize(a, ActManageTeams, Scope{}); err != nil {
		return err
	}
	return s.db.Update(ctx, func(tx *bolt.Tx) error {
		var t Team
		if err := get(tx, bTeams, id, &t); err != nil {
			return err
		}
		chans, err := all[Channel](tx, bChannels)
		if err != nil {
			return err
		}
		for _, c := range chans {
			if kept := without(c.Teams, id); len(kept) != len(c.Teams) {
				before := c
				c.Teams = kept
				if err := put(tx, bChannels, c.ID, c); err != nil {
					return err
				}
				if err := s.audit(tx, a, "update", "channel", c.ID, c.Name, before, c); err != nil {
					return err
				}
			}
		}
		if err := root(tx, bTeams).Delete(idKey(id)); err != nil {
			return err
		}
		return s.audit(tx, a, "delete", "team", id, t.Name, t, nil)
	})
}

func without(ids []uint64, id uint64) []uint64 {
	var out []uint64
	for _, v := range ids {
		if v != id {
			out = append(out, v)
		}
	}
	return out
}
