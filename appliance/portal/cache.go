package portal

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/switchboardhq/switchboard/appliance/desk"
)

// published is what the public pages show that changes rarely: the
// sites, the available technicians, the issue types, the important
// messages and which sites have iOS profiles. It is read once per change
// (desk.PublicGeneration), not once per request; what depends on the time
// (messages shown now, opening hours) is worked out from it per request.
type published struct {
	gen         uint64
	sites       []desk.Site
	byHost      map[string]int // host name → index in sites
	technicians []desk.Technician
	issueTypes  []desk.IssueType
	messages    map[uint64][]desk.Announcement // by site, newest first
	profiles    map[uint64]bool                // sites with iOS profiles
}

// publishedCache holds the current published; load rebuilds it once per
// change, one reader at a time.
type publishedCache struct {
	cur atomic.Pointer[published]
	mu  sync.Mutex
}

// published returns what the public pages show now.
func (p *Portal) published(ctx context.Context) (*published, error) {
	gen := p.desk.PublicGeneration()
	if c := p.cache.cur.Load(); c != nil && c.gen == gen {
		return c, nil
	}
	p.cache.mu.Lock()
	defer p.cache.mu.Unlock()
	if c := p.cache.cur.Load(); c != nil && c.gen == gen {
		return c, nil // another request rebuilt it meanwhile
	}
	// gen was read before the store: a change committed meanwhile moves
	// the generation on, so the next request rebuilds again.
	c := &published{gen: gen, byHost: map[string]int{}, messages: map[uint64][]desk.Announcement{}, profiles: map[uint64]bool{}}
	var err error
	if c.sites, err = p.desk.Sites(ctx); err != nil {
		return nil, err
	}
	for i, st := range c.sites {
		for _, h := range st.Hostnames {
			c.byHost[h] = i
		}
	}
	techs, err := p.desk.Technicians(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range techs {
		if t.Availability == desk.Available {
			c.technicians = append(c.technicians, t)
		}
	}
	if c.issueTypes, err = p.desk.IssueTypes(ctx); err != nil {
		return nil, err
	}
	msgs, err := p.desk.Announcements(ctx, 0)
	if err != nil {
		return nil, err
	}
	for _, an := range msgs {
		c.messages[an.Site] = append(c.messages[an.Site], an)
	}
	profiles, err := p.desk.Profiles(ctx, 0)
	if err != nil {
		return nil, err
	}
	for _, pr := range profiles {
		c.profiles[pr.Site] = true
	}
	p.cache.cur.Store(c)
	return c, nil
}

// siteFor returns the site serving host: its own, else the first, else
// the default site.
func (c *published) siteFor(host string) desk.Site {
	if i, ok := c.byHost[strings.TrimSuffix(strings.ToLower(host), ".")]; ok {
		return c.sites[i]
	}
	if len(c.sites) > 0 {
		return c.sites[0]
	}
	return defaultSite
}
