package desk

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboardhq/switchboard/appliance/store"
)

var ctx = context.Background()

func newDesk(t *testing.T) *Service {
	t.Helper()
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	return New(db, func() time.Time { return now }, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

var admin = Actor{UserID: 1, Name: "root", Role: RoleAdmin, Perms: RoleDefaults(RoleAdmin)}

func TestAuthorizeMatrix(t *testing.T) {
	const own, other = 10, 11
	const managed, foreign = 100, 200
	actors := map[string]Actor{
		"technician":         {UserID: own, Role: RoleTechnician, Perms: RoleDefaults(RoleTechnician), Serves: []uint64{managed}},
		"channel manager":    {UserID: own, Role: RoleChannelManager, Perms: RoleDefaults(RoleChannelManager), Serves: []uint64{managed}, Manages: []uint64{managed}},
		"technician manager": {UserID: own, Role: RoleTechManager, Perms: RoleDefaults(RoleTechManager)},
		"administrator":      {UserID: own, Role: RoleAdmin, Perms: RoleDefaults(RoleAdmin)},
	}
	type cell struct {
		act   Action
		scope Scope
		want  map[string]bool // actor name → allowed
	}
	T, CM, TM, AD := "technician", "channel manager", "technician manager", "administrator"
	yes := func(names ...string) map[string]bool {
		m := map[string]bool{}
		for _, n := range names {
			m[n] = true
		}
		return m
	}
	cells := []cell{
		{ActViewAdmin, Scope{}, yes(CM, TM, AD)},
		{ActViewChannel, Scope{Channel: managed}, yes(CM, TM, AD)},
		{ActViewChannel, Scope{Channel: foreign}, yes(TM, AD)},
		{ActEditChannel, Scope{Channel: managed}, yes(CM, TM, AD)},
		{ActEditChannel, Scope{Channel: foreign}, yes(TM, AD)},
		{ActCreateChannel, Scope{}, yes(TM, AD)},
		{ActDeleteChannel, Scope{Channel: managed}, yes(TM, AD)},
		{ActManageIssues, Scope{Channel: managed}, yes(CM, TM, AD)},
		{ActManageIssues, Scope{Channel: foreign}, yes(TM, AD)},
		{ActManageTeams, Scope{}, yes(AD)},
		{ActManageUsers, Scope{}, yes(AD)},
		{ActManageSites, Scope{}, yes(AD)},
		{ActViewAudit, Scope{}, yes(AD)},
		{ActSupervise, Scope{Channel: managed}, yes(CM, TM, AD)},
		{ActSupervise, Scope{Channel: foreign}, yes(TM, AD)},
		{ActTakeFromChannel, Scope{Channel: managed}, yes(T, CM)},
		{ActTakeFromChannel, Scope{Channel: foreign}, yes()},
		{ActWorkSession, Scope{Owner: own}, yes(T, CM, TM, AD)},
		{ActWorkSession, Scope{Owner: other, Channel: managed}, yes(CM, TM, AD)},
		{ActWorkSession, Scope{Owner: other, Channel: foreign}, yes(TM, AD)},
		{ActUsePerm, Scope{Perm: PermSessionKeys}, yes(T, CM, TM, AD)},
		{ActUsePerm, Scope{Perm: PermReports}, yes(CM, TM, AD)},
	}
	for _, c := range cells {
		for name, a := range actors {
			got := Authorize(a, c.act, c.scope) == nil
			if got != c.want[name] {
				t.Errorf("%s %s %+v: allowed=%v, want %v", name, c.act, c.scope, got, c.want[name])
			}
		}
	}
	if Authorize(Actor{}, ActWorkSession, Scope{Owner: 0}) == nil {
		t.Error("the zero actor is allowed something")
	}
	// A revoked permission wins over the role default.
	a := actors[T]
	a.Perms = RoleDefaults(RoleTechnician)
	a.Perms[PermTakeFromQueues] = false
	if Can(a, ActTakeFromChannel, Scope{Channel: managed}) {
		t.Error("a technician without take-from-queues took from a channel")
	}
}

func TestChannelRules(t *testing.T) {
	d := newDesk(t)
	c, err := d.SaveChannel(ctx, admin, Channel{Name: "Tier 2", ExpiryMinutes: 60, Default: true})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		ch    Channel
		field string
	}{
		{"duplicate name", Channel{Name: "tier 2", ExpiryMinutes: 60}, "name"},
		{"empty name", Channel{Name: "  ", ExpiryMinutes: 60}, "name"},
		{"long name", Channel{Name: strings.Repeat("é", 65), ExpiryMinutes: 60}, "name"},
		{"expiry too short", Channel{Name: "A", ExpiryMinutes: 29}, "expiry_minutes"},
		{"expiry too long", Channel{Name: "B", ExpiryMinutes: 1441}, "expiry_minutes"},
		{"unknown team", Channel{Name: "C", ExpiryMinutes: 60, Teams: []uint64{99}}, "teams"},
	}
	for _, tc := range cases {
		_, err := d.SaveChannel(ctx, admin, tc.ch)
		var fe FieldErrors
		if !errors.As(err, &fe) || fe[0].Field != tc.field {
			t.Errorf("%s: %v, want an error on %s", tc.name, err, tc.field)
		}
	}
	// A second default takes the flag from the first.
	c2, err := d.SaveChannel(ctx, admin, Channel{Name: "Mac design", ExpiryMinutes: 30, Default: true})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Channel(ctx, admin, c.ID); got.Default {
		t.Fatal("two default channels")
	}
	// Deleting: refused while sessions are queued, for the default, or with issue types.
	d.db.Update(ctx, func(tx *bolt.Tx) error {
		q, _ := root(tx, bChannelSessions).CreateBucketIfNotExists(idKey(c.ID))
		return q.Put(idKey(7), nil)
	})
	if err := d.DeleteChannel(ctx, admin, c.ID); !errors.Is(err, ErrInUse) {
		t.Fatalf("delete a channel with sessions: %v", err)
	}
	if err := d.DeleteChannel(ctx, admin, c2.ID); !errors.Is(err, ErrInUse) {
		t.Fatalf("delete the default channel: %v", err)
	}
	d.db.Update(ctx, func(tx *bolt.Tx) error { return root(tx, bChannelSessions).DeleteBucket(idKey(c.ID)) })
	if err := d.DeleteChannel(ctx, admin, c.ID); err != nil {
		t.Fatal(err)
	}
	// The name is free again.
	if _, err := d.SaveChannel(ctx, admin, Channel{Name: "Tier 2", ExpiryMinutes: 60}); err != nil {
		t.Fatal(err)
	}
}

func TestChannelManagerScope(t *testing.T) {
	d := newDesk(t)
	tech, _ := d.SaveTechnician(ctx, admin, Technician{UserID: 5, PrivateName: "Cam", PublicName: "Cam"}, RoleChannelManager)
	mine, _ := d.SaveChannel(ctx, admin, Channel{Name: "Mine", ExpiryMinutes: 60, Managers: []uint64{tech.UserID}})
	theirs, _ := d.SaveChannel(ctx, admin, Channel{Name: "Theirs", ExpiryMinutes: 60})
	cm, err := d.ActorFor(ctx, 5, "Cam", RoleChannelManager)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := d.Channels(ctx, cm)
	if len(list) != 1 || list[0].ID != mine.ID {
		t.Fatalf("channel manager sees %v", list)
	}
	mine.Description = "edited"
	mine.Managers = nil // cannot remove itself as manager
	if _, err := d.SaveChannel(ctx, cm, mine); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Channel(ctx, admin, mine.ID); got.Description != "edited" || len(got.Managers) != 1 {
		t.Fatalf("after edit: %+v", got)
	}
	theirs.Description = "hijack"
	if _, err := d.SaveChannel(ctx, cm, theirs); !errors.Is(err, ErrForbidden) {
		t.Fatalf("edit another channel: %v", err)
	}
	if got, _ := d.Channel(ctx, admin, theirs.ID); got.Description != "" {
		t.Fatal("a forbidden edit changed the channel")
	}
	if _, err := d.SaveChannel(ctx, cm, Channel{Name: "New", ExpiryMinutes: 60}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("channel manager created a channel: %v", err)
	}
}

func TestSiteHostnames(t *testing.T) {
	d := newDesk(t)
	if _, err := d.SaveSite(ctx, admin, Site{Name: "Main", Hostnames: []string{"Support.Example.com."}}); err != nil {
		t.Fatal(err)
	}
	st, err := d.SiteByHost(ctx, "support.example.com")
	if err != nil || st.Name != "Main" {
		t.Fatalf("by host: %+v %v", st, err)
	}
	for name, s := range map[string]Site{
		"taken":      {Name: "Other", Hostnames: []string{"support.example.com"}},
		"invalid":    {Name: "Other", Hostnames: []string{"bad_host!"}},
		"twice":      {Name: "Other", Hostnames: []string{"a.example", "A.example"}},
		"ip":         {Name: "Other", Hostnames: []string{"10.0.0.1"}},
		"none":       {Name: "Other"},
		"big fields": {Name: "Other", Hostnames: []string{"b.example"}, Custom: bigFields()},
		"bad maxlen": {Name: "Other", Hostnames: []string{"b.example"}, Custom: []CustomField{{Label: "x", MaxLen: 2000}}},
		"same name":  {Name: "main", Hostnames: []string{"c.example"}},
	} {
		if _, err := d.SaveSite(ctx, admin, s); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func bigFields() []CustomField {
	var out []CustomField
	for range 11 {
		out = append(out, CustomField{Label: "f", MaxLen: 1000})
	}
	return out
}

func TestAuditRecordsBeforeAndAfter(t *testing.T) {
	d := newDesk(t)
	c, _ := d.SaveChannel(ctx, admin, Channel{Name: "Tier 1", ExpiryMinutes: 60})
	c.ExpiryMinutes = 90
	d.SaveChannel(ctx, admin, c)
	d.SaveTeam(ctx, admin, Team{Name: "Blue"})
	entries, err := d.Audit(ctx, admin, AuditFilter{Kind: "channel"})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Action != "update" || !strings.Contains(entries[0].Before, `"expiry_minutes":60`) || !strings.Contains(entries[0].After, `"expiry_minutes":90`) || entries[0].Actor != "root" {
		t.Fatalf("audit: %+v", entries)
	}
	if _, err := d.Audit(ctx, Actor{UserID: 3, Role: RoleTechManager}, AuditFilter{}); !errors.Is(err, ErrForbidden) {
		t.Fatal("a technician manager read the audit log")
	}
}

func TestVerifiedText(t *testing.T) {
	v := &Verified{By: "Acme IdP", NameID: "_t1", Email: "jo@example.org", Locked: []string{"name"}}
	if got := v.Text(); got != "Signed in as jo@example.org via Acme IdP" {
		t.Errorf("%q", got)
	}
	v = &Verified{IdP: "https://idp.example/", NameID: "jo"}
	if got := v.Text(); got != "Signed in as jo via https://idp.example/; the name shown was typed by the customer" {
		t.Errorf("%q", got)
	}
}
