package desk

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/bus"
)

func TestAnnouncements(t *testing.T) {
	f := newFixture(t)
	now := f.clk.t
	msg := Announcement{Site: f.site.ID, Title: `<script>alert(1)</script> Mail is down`, Text: "We are on it.", Severity: SeverityOutage,
		Start: now.Add(-time.Minute), End: now.Add(time.Hour)}
	// Who may: administrators and the announcements permission, not a
	// technician's defaults.
	if _, err := f.d.SaveAnnouncement(ctx, f.ann, msg); !errors.Is(err, ErrForbidden) {
		t.Fatalf("technician without the permission: %v", err)
	}
	if _, err := f.d.SaveTechnician(ctx, admin, Technician{UserID: 2, PrivateName: "Ann", PublicName: "Ann", Perms: map[Perm]bool{PermAnnouncements: true}}, RoleTechnician); err != nil {
		t.Fatal(err)
	}
	ann, _ := f.d.ActorFor(ctx, 2, "Ann", RoleTechnician)
	saved, err := f.d.SaveAnnouncement(ctx, ann, msg)
	if err != nil {
		t.Fatal(err)
	}
	// Bad input, each refused with the field named.
	for field, bad := range map[string]Announcement{
		"title":    {Site: f.site.ID, Severity: SeverityInfo, Start: now, End: now.Add(time.Hour)},
		"severity": {Site: f.site.ID, Title: "x", Severity: "panic", Start: now, End: now.Add(time.Hour)},
		"end":      {Site: f.site.ID, Title: "x", Severity: SeverityInfo, Start: now, End: now.Add(-time.Hour)},
		"site":     {Site: 99, Title: "x", Severity: SeverityInfo, Start: now, End: now.Add(time.Hour)},
	} {
		_, err := f.d.SaveAnnouncement(ctx, admin, bad)
		var fes FieldErrors
		if !errors.As(err, &fes) || fes[0].Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
	// At most ten that have not ended.
	for i := 1; i < MaxActiveAnnouncements; i++ {
		m := msg
		m.Title = fmt.Sprint("n", i)
		if _, err := f.d.SaveAnnouncement(ctx, admin, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.d.SaveAnnouncement(ctx, admin, msg); err == nil {
		t.Fatal("an eleventh message was taken")
	}
	shown, _ := f.d.Shown(ctx, f.site.ID)
	if len(shown) != MaxActiveAnnouncements || shown[0].Title != msg.Title {
		t.Fatalf("shown: %d", len(shown))
	}
	// The change is audited and announced.
	entries, _ := f.d.Audit(ctx, admin, AuditFilter{Kind: KindAnnouncement, Limit: 50})
	if len(entries) != MaxActiveAnnouncements || entries[len(entries)-1].Actor != "Ann" {
		t.Fatalf("audit: %d entries", len(entries))
	}
	announced := 0
	for len(f.events.C) > 0 {
		if e := <-f.events.C; e.Kind == bus.SiteAnnouncements && e.Data == f.site.ID {
			announced++
		}
	}
	if announced != MaxActiveAnnouncements {
		t.Fatalf("%d announcements published", announced)
	}
	// Past its end it disappears by itself, and the pass says so once.
	f.d.AnnounceDue(ctx)
	f.clk.t = now.Add(2 * time.Hour)
	if n, _ := f.d.AnnounceDue(ctx); n != 1 {
		t.Fatalf("AnnounceDue told %d sites", n)
	}
	if n, _ := f.d.AnnounceDue(ctx); n != 0 {
		t.Fatalf("AnnounceDue told %d sites again", n)
	}
	if shown, _ = f.d.Shown(ctx, f.site.ID); len(shown) != 0 {
		t.Fatalf("ended messages still shown: %d", len(shown))
	}
	// Ended ones no longer count against the ten.
	m := msg
	m.Start, m.End = f.clk.t, f.clk.t.Add(time.Hour)
	if _, err := f.d.SaveAnnouncement(ctx, admin, m); err != nil {
		t.Fatal(err)
	}
	if err := f.d.DeleteAnnouncement(ctx, f.bob, saved.ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("bob deletes: %v", err)
	}
	if err := f.d.DeleteAnnouncement(ctx, admin, saved.ID); err != nil {
		t.Fatal(err)
	}
}
