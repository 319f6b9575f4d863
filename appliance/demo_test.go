package appliance

import (
	"context"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/store"
)

func TestSeedDemo(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, err := auth.New(db, auth.Config{Argon: auth.Params{Time: 1, MemoryKiB: 64, Threads: 1}}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	d := desk.New(db, nil, quietLog())
	var out strings.Builder
	if err := seedDemo(ctx, a, d, &out); err != nil {
		t.Fatal(err)
	}

	chans, _ := d.AllChannels(ctx)
	teams, _ := d.Teams(ctx)
	techs, _ := d.Technicians(ctx)
	issues, _ := d.IssueTypes(ctx)
	sites, _ := d.Sites(ctx)
	if len(chans) != 2 || len(teams) != 3 || len(techs) != 6 || len(issues) != 4 || len(sites) != 1 {
		t.Fatalf("seeded %d channels, %d teams, %d technicians, %d issue types, %d sites", len(chans), len(teams), len(techs), len(issues), len(sites))
	}
	if st, err := d.SiteByHost(ctx, "localhost"); err != nil || !st.TechList || !st.SessionKey || !st.Survey || !st.SOSCall {
		t.Fatalf("site on localhost: %+v %v", st, err)
	}
	for _, it := range issues {
		if _, err := d.Channel(ctx, demoActor, it.Channel); err != nil {
			t.Errorf("issue type %s routes to channel %d: %v", it.Name, it.Channel, err)
		}
	}
	// Every printed account signs in with its printed password and has
	// the role it says; the roles are 4 technicians, 1 channel manager and
	// 1 technician manager.
	count := map[string]int{}
	for i, p := range demoPeople {
		line := p.username + " "
		if !strings.Contains(out.String(), line) || !strings.Contains(out.String(), demoPassword(i)) {
			t.Errorf("output does not name %s and its password:\n%s", p.username, out.String())
		}
		u, err := a.Authenticate(ctx, auth.Site, p.username, demoPassword(i), "127.0.0.1")
		if err != nil || u.Role != p.role {
			t.Fatalf("%s signs in: %+v %v", p.username, u, err)
		}
		count[u.Role]++
		if p.role == desk.RoleChannelManager {
			actor, err := d.ActorFor(ctx, u.ID, u.DisplayName, u.Role)
			if err != nil || len(actor.Manages) != 1 {
				t.Fatalf("the channel manager manages %v (%v)", actor.Manages, err)
			}
			if c, _ := d.Channel(ctx, demoActor, actor.Manages[0]); c.Name != "Mac design" {
				t.Fatalf("the channel manager manages %q", c.Name)
			}
		}
	}
	if count[desk.RoleTechnician] != 4 || count[desk.RoleChannelManager] != 1 || count[desk.RoleTechManager] != 1 || count[desk.RoleAdmin] != 0 {
		t.Fatalf("roles: %v", count)
	}
	var defaults int
	for _, c := range chans {
		if c.Default {
			defaults++
		}
	}
	if defaults != 1 {
		t.Fatalf("%d default channels", defaults)
	}
	entries, err := d.Audit(ctx, demoActor, desk.AuditFilter{Limit: 1000})
	if err != nil || len(entries) == 0 || entries[0].Actor != "Demo data" {
		t.Fatalf("audit of the demo data: %d entries, %v", len(entries), err)
	}

	// A desk that holds anything is left alone.
	out.Reset()
	if err := seedDemo(ctx, a, d, &out); err != nil {
		t.Fatal(err)
	}
	if again, _ := d.Technicians(ctx); len(again) != 6 || !strings.Contains(out.String(), "nothing was added") {
		t.Fatalf("second seed: %d technicians, output %q", len(again), out.String())
	}
}
