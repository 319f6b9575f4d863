package desk

import (
	"context"
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/i18n"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboardhq/switchboard/appliance/bus"
	"github.com/switchboardhq/switchboard/appliance/text"
)

// An Announcement is one of a public site's important messages (the seed's
// "Messages importants"): shown at the top of the site's pages between
// Start and End, and pushed live to customers already waiting.
type Announcement struct {
	ID       uint64    `json:"id"`
	Site     uint64    `json:"site"`
	Title    string    `json:"title"`
	Text     string    `json:"text"`
	Severity string    `json:"severity"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	// Texts are the title and text in languages other than the site's
	// default; an empty field falls back to the default's.
	Texts map[string]AnnouncementText `json:"texts,omitempty"`
}

// AnnouncementText is an important message's words in one language.
type AnnouncementText struct {
	Title string `json:"title,omitempty"`
	Text  string `json:"text,omitempty"`
}

// Localized returns the message's title and text in lang where it has
// them.
func (an Announcement) Localized(lang string) AnnouncementText {
	out := AnnouncementText{Title: an.Title, Text: an.Text}
	if t, ok := an.Texts[lang]; ok {
		out.Title, out.Text = or(t.Title, out.Title), or(t.Text, out.Text)
	}
	return out
}

// Severities of an announcement, mildest first.
const (
	SeverityInfo    = "info"
	SeverityWarning = "warning"
	SeverityOutage  = "outage"
)

// Severities lists them in order.
var Severities = []string{SeverityInfo, SeverityWarning, SeverityOutage}

// Bounds on announcements.
const (
	// MaxActiveAnnouncements is how many messages of one site may be
	// shown or waiting to be shown (not ended) at once.
	MaxActiveAnnouncements = 10
	MaxAnnouncementTitle   = 120
	MaxAnnouncementText    = 2000
	// MaxAnnouncementSpan is the longest a message may be shown.
	MaxAnnouncementSpan = 366 * 24 * time.Hour
)

// KindAnnouncement is the audit kind of important messages.
const KindAnnouncement = "announcement"

// ShownAt reports whether the message is shown at t.
func (an Announcement) ShownAt(t time.Time) bool { return !t.Before(an.Start) && t.Before(an.End) }

// Ended reports whether the message is over at t.
func (an Announcement) Ended(t time.Time) bool { return !t.Before(an.End) }

func (an *Announcement) normalize() error {
	an.Title, an.Text = strings.TrimSpace(an.Title), strings.TrimSpace(an.Text)
	var fe FieldErrors
	switch n := utf8.RuneCountInString(an.Title); {
	case n == 0:
		fe.add("title", "Give the message a title.")
	case n > MaxAnnouncementTitle:
		fe.add("title", fmt.Sprintf("Keep the title under %d characters.", MaxAnnouncementTitle))
	case text.HasBidiControl(an.Title):
		fe.add("title", text.BidiMessage)
	}
	switch n := utf8.RuneCountInString(an.Text); {
	case n > MaxAnnouncementText:
		fe.add("text", fmt.Sprintf("Keep the text under %d characters.", MaxAnnouncementText))
	case text.HasBidiControl(an.Text):
		fe.add("text", text.BidiMessage)
	}
	for lang, t := range an.Texts {
		t = AnnouncementText{Title: strings.TrimSpace(t.Title), Text: strings.TrimSpace(t.Text)}
		switch {
		case !i18n.Valid(lang):
			fe.add("texts", fmt.Sprintf("%q is not a language the site can show.", text.ClipRunes(lang, 20)))
			delete(an.Texts, lang)
			continue
		case t == (AnnouncementText{}):
			delete(an.Texts, lang)
			continue
		}
		if n := utf8.RuneCountInString(t.Title); n > MaxAnnouncementTitle || text.HasBidiControl(t.Title) {
			fe.add("title_"+lang, fmt.Sprintf("Keep the title under %d characters, without direction controls.", MaxAnnouncementTitle))
		}
		checkLongText(&fe, "text_"+lang, t.Text, MaxAnnouncementText)
		an.Texts[lang] = t
	}
	if len(an.Texts) == 0 {
		an.Texts = nil
	}
	if !slices.Contains(Severities, an.Severity) {
		fe.add("severity", "Choose information, warning or outage.")
	}
	switch {
	case an.Start.IsZero():
		fe.add("start", "Give the time the message starts.")
	case an.End.IsZero():
		fe.add("end", "Give the time the message ends.")
	case !an.End.After(an.Start):
		fe.add("end", "The end must come after the start.")
	case an.End.Sub(an.Start) > MaxAnnouncementSpan:
		fe.add("end", "Show a message for at most a year.")
	}
	an.Start, an.End = an.Start.UTC().Round(0), an.End.UTC().Round(0)
	return fe.err()
}

// canAnnounce is who manages important messages: administrators and
// anyone with the announcements permission.
func canAnnounce(a Actor) error {
	if a.Role == RoleAdmin && a.UserID != 0 {
		return nil
	}
	return Authorize(a, ActUsePerm, Scope{Perm: PermAnnouncements})
}

// CanAnnounce reports whether a may manage important messages.
func CanAnnounce(a Actor) bool { return canAnnounce(a) == nil }

// Announcements returns every message of site (0: of every site), newest
// start first.
func (s *Service) Announcements(ctx context.Context, site uint64) ([]Announcement, error) {
	var out []Announcement
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		all, err := all[Announcement](tx, bAnnouncements)
		for _, an := range all {
			if site == 0 || an.Site == site {
				out = append(out, an)
			}
		}
		return err
	})
	slices.SortFunc(out, func(a, b Announcement) int { return b.Start.Compare(a.Start) })
	return out, err
}

// Shown returns the messages of site shown now, most severe first, then
// newest.
func (s *Service) Shown(ctx context.Context, site uint64) ([]Announcement, error) {
	all, err := s.Announcements(ctx, site)
	return ShownAt(all, s.now()), err
}

// ShownAt returns the messages of all shown at now, most severe first,
// then in the order of all.
func ShownAt(all []Announcement, now time.Time) []Announcement {
	var out []Announcement
	for _, an := range all {
		if an.ShownAt(now) {
			out = append(out, an)
		}
	}
	slices.SortStableFunc(out, func(a, b Announcement) int {
		return slices.Index(Severities, b.Severity) - slices.Index(Severities, a.Severity)
	})
	return out
}

// Announcement returns message id.
func (s *Service) Announcement(ctx context.Context, id uint64) (Announcement, error) {
	var an Announcement
	err := s.db.View(ctx, func(tx *bolt.Tx) error { return get(tx, bAnnouncements, id, &an) })
	return an, err
}

// SaveAnnouncement creates (ID 0) or changes a message, within the bound
// of MaxActiveAnnouncements messages not ended per site; the change is
// audited in its transaction and announced to the site's pages.
func (s *Service) SaveAnnouncement(ctx context.Context, a Actor, an Announcement) (Announcement, error) {
	if err := canAnnounce(a); err != nil {
		return an, err
	}
	if err := an.normalize(); err != nil {
		return an, err
	}
	now := s.now()
	err := s.updatePublic(ctx, func(tx *bolt.Tx) error {
		var st Site
		if err := get(tx, bSites, an.Site, &st); err != nil {
			return FieldErrors{{"site", "Choose a public site."}}
		}
		var before *Announcement
		if an.ID != 0 {
			var old Announcement
			if err := get(tx, bAnnouncements, an.ID, &old); err != nil {
				return err
			}
			before = &old
		}
		others, err := all[Announcement](tx, bAnnouncements)
		if err != nil {
			return err
		}
		live := 0
		for _, o := range others {
			if o.ID != an.ID && o.Site == an.Site && !o.Ended(now) {
				live++
			}
		}
		if !an.Ended(now) && live >= MaxActiveAnnouncements {
			return FieldErrors{{"site", fmt.Sprintf("This site already has %d messages that have not ended. End or delete one first.", MaxActiveAnnouncements)}}
		}
		action := "update"
		if an.ID == 0 {
			action = "create"
			if an.ID, err = nextID(tx, bAnnouncements); err != nil {
				return err
			}
		}
		if err := put(tx, bAnnouncements, an.ID, an); err != nil {
			return err
		}
		if before == nil {
			return s.audit(tx, a, action, KindAnnouncement, an.ID, an.Title, nil, an)
		}
		return s.audit(tx, a, action, KindAnnouncement, an.ID, an.Title, *before, an)
	})
	if err != nil {
		return an, err
	}
	s.announce(an.Site)
	return an, nil
}

// DeleteAnnouncement deletes message id.
func (s *Service) DeleteAnnouncement(ctx context.Context, a Actor, id uint64) error {
	if err := canAnnounce(a); err != nil {
		return err
	}
	var old Announcement
	err := s.updatePublic(ctx, func(tx *bolt.Tx) error {
		if err := get(tx, bAnnouncements, id, &old); err != nil {
			return err
		}
		if err := root(tx, bAnnouncements).Delete(idKey(id)); err != nil {
			return err
		}
		return s.audit(tx, a, "delete", KindAnnouncement, id, old.Title, old, nil)
	})
	if err == nil {
		s.announce(old.Site)
	}
	return err
}

func (s *Service) announce(site uint64) {
	if s.pub != nil {
		s.pub.Publish(bus.Event{Kind: bus.SiteAnnouncements, Data: site})
	}
}

// announceClock remembers up to when AnnounceDue looked.
type announceClock struct {
	mu   sync.Mutex
	last time.Time
}

// AnnounceDue tells the pages of every site whose messages began or ended
// since the last call (the daemon calls it with the expiry pass; the desk
// clock decides). It returns how many sites it told.
func (s *Service) AnnounceDue(ctx context.Context) (int, error) {
	s.announced.mu.Lock()
	defer s.announced.mu.Unlock()
	now := s.now()
	last := s.announced.last
	all, err := s.Announcements(ctx, 0)
	if err != nil {
		return 0, err
	}
	sites := map[uint64]bool{}
	for _, an := range all {
		for _, t := range []time.Time{an.Start, an.End} {
			if t.After(last) && !t.After(now) {
				sites[an.Site] = true
			}
		}
	}
	for site := range sites {
		s.announce(site)
	}
	s.announced.last = now
	return len(sites), nil
}

// pruneAnnouncements deletes messages that ended more than 30 days ago.
func pruneAnnouncements(tx *bolt.Tx, now time.Time) (int, error) {
	all, err := all[Announcement](tx, bAnnouncements)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, an := range all {
		if now.Sub(an.End) > 30*24*time.Hour {
			if err := root(tx, bAnnouncements).Delete(idKey(an.ID)); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// Now is the desk's clock (dev mode moves it), for pages that say what is
// shown now.
func (s *Service) Now() time.Time { return s.now() }
