package desk

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// IssueType is what a customer picks in the issue survey; it routes the
// session to its channel.
type IssueType struct {
	ID       uint64 `json:"id"`
	Name     string `json:"name"`
	CodeName string `json:"code_name"`
	Channel  uint64 `json:"channel"`
	// Priority orders issue types in the survey, 1 (first) to 5.
	Priority int `json:"priority"`
}

var codeNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// IssueTypes returns every issue type, by priority then name.
func (s *Service) IssueTypes(ctx context.Context) ([]IssueType, error) {
	var out []IssueType
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = all[IssueType](tx, bIssues)
		return err
	})
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Priority != out[j].Priority {
			return out[i].Priority < out[j].Priority
		}
		return out[i].Name < out[j].Name
	})
	return out, err
}

// SaveIssueType creates (ID 0) or replaces an issue type. Channel managers
// may do so for the channels they manage (both the old and the new one).
func (s *Service) SaveIssueType(ctx context.Context, a Actor, it IssueType) (IssueType, error) {
	it.Name = strings.TrimSpace(it.Name)
	it.CodeName = strings.ToLower(strings.TrimSpace(it.CodeName))
	var fe FieldErrors
	checkName(&fe, "name", it.Name)
	if !codeNameRe.MatchString(it.CodeName) {
		fe.add("code_name", "Use 1 to 64 lower-case letters, digits, - and _, starting with a letter or digit.")
	}
	if it.Priority < 1 || it.Priority > 5 {
		fe.add("priority", "Choose a priority from 1 to 5.")
	}
	if it.Channel == 0 {
		fe.add("channel", "Choose the channel this issue type routes to.")
	}
	if err := Authorize(a, ActManageIssues, Scope{Channel: it.Channel}); it.Channel != 0 && err != nil {
		return it, err
	}
	if err := fe.err(); err != nil {
		return it, err
	}
	err := s.updatePublic(ctx, func(tx *bolt.Tx) error {
		if root(tx, bChannels).Get(idKey(it.Channel)) == nil {
			return FieldErrors{{"channel", "That channel does not exist any more. Reload the page."}}
		}
		issues, err := all[IssueType](tx, bIssues)
		if err != nil {
			return err
		}
		var before *IssueType
		for _, o := range issues {
			if o.ID == it.ID {
				o := o
				before = &o
				continue
			}
			if strings.EqualFold(o.Name, it.Name) {
				return FieldErrors{{"name", "Another issue type already has this name."}}
			}
			if o.CodeName == it.CodeName {
				return FieldErrors{{"code_name", "Another issue type already has this code name."}}
			}
		}
		if it.ID != 0 && before == nil {
			return fmt.Errorf("issue type %d: %w", it.ID, ErrNotFound)
		}
		if before != nil {
			if err := Authorize(a, ActManageIssues, Scope{Channel: before.Channel}); err != nil {
				return err
			}
		} else if it.ID, err = nextID(tx, bIssues); err != nil {
			return err
		}
		if err := put(tx, bIssues, it.ID, it); err != nil {
			return err
		}
		if before == nil {
			return s.audit(tx, a, "create", "issue-type", it.ID, it.Name, nil, it)
		}
		return s.audit(tx, a, "update", "issue-type", it.ID, it.Name, before, it)
	})
	return it, err
}

// DeleteIssueType deletes issue type id.
func (s *Service) DeleteIssueType(ctx context.Context, a Actor, id uint64) error {
	return s.updatePublic(ctx, func(tx *bolt.Tx) error {
		var it IssueType
		if err := get(tx, bIssues, id, &it); err != nil {
			return err
		}
		if err := Authorize(a, ActManageIssues, Scope{Channel: it.Channel}); err != nil {
			return err
		}
		if err := root(tx, bIssues).Delete(idKey(id)); err != nil {
			return err
		}
		return s.audit(tx, a, "delete", "issue-type", id, it.Name, it, nil)
	})
}
