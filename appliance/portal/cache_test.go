package portal

import (
	"github.com/switchboardhq/switchboard/tools/deskfix"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/desk"
)

// TestPublishedFollowsChanges shows the cached public data follows every
// kind of change the home page shows, at once, without a store read per
// request.
func TestPublishedFollowsChanges(t *testing.T) {
	f := newFixture(t)
	c := f.customer(t)
	home := func() string { _, b := c.get("/"); return b }
	for _, step := range []struct {
		name   string
		change func() error
		want   string
	}{
		{"site renamed", func() error {
			st := f.site
			st.Branding.DisplayName = "Renamed Support"
			_, err := f.desk.SaveSite(ctx, f.admin, st)
			return err
		}, "Renamed Support"},
		{"technician added", func() error {
			_, err := f.desk.SaveTechnician(ctx, f.admin, desk.Technician{UserID: 3, PrivateName: "Bo", PublicName: "Bo the Second", DisplayNumber: 2}, desk.RoleTechnician)
			return err
		}, "Bo the Second"},
		{"issue type added", func() error {
			ch, err := f.desk.SaveChannel(ctx, f.admin, desk.Channel{Name: "Printers", ExpiryMinutes: 30, Default: true})
			if err != nil {
				return err
			}
			_, err = f.desk.SaveIssueType(ctx, f.admin, desk.IssueType{Name: "Printer jam", CodeName: "printer", Channel: ch.ID, Priority: 1})
			return err
		}, "Printer jam"},
		{"message published", func() error {
			now := f.desk.Now()
			_, err := f.desk.SaveAnnouncement(ctx, f.admin, desk.Announcement{Site: f.site.ID, Title: "Mail is slow", Severity: desk.SeverityWarning, Start: now.Add(-time.Minute), End: now.Add(time.Hour)})
			return err
		}, "Mail is slow"},
		{"profile added", func() error {
			_, err := f.desk.AddProfile(ctx, f.admin, desk.Profile{Site: f.site.ID}, deskfix.Profile("wifi"))
			return err
		}, `href="/ios"`},
	} {
		if strings.Contains(home(), step.want) {
			t.Fatalf("%s: the page shows %q before the change", step.name, step.want)
		}
		if err := step.change(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if !strings.Contains(home(), step.want) {
			t.Fatalf("%s: the page does not show %q after the change", step.name, step.want)
		}
	}
	// An unchanged box serves from the cache: the generation stays put.
	gen := f.desk.PublicGeneration()
	home()
	if cur := f.portal.cache.cur.Load(); cur == nil || cur.gen != gen {
		t.Fatal("the page was not served from the current cache")
	}
	// Availability changes take the technician off the list.
	bo, _ := f.desk.ActorFor(ctx, 3, "Bo", desk.RoleTechnician)
	if err := f.desk.SetAvailability(ctx, bo, desk.Away); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(home(), "Bo the Second") {
		t.Fatal("an away technician is still listed")
	}
}
