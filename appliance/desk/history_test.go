package desk

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestHistoryVisibilityAndSearch(t *testing.T) {
	f := newFixture(t)
	// Ann works one session from her personal queue and hands it to Bob.
	mine, _, _ := f.d.StartWithTechnician(ctx, f.site, 2, Customer{Name: "Cleo", Company: "Acme <Corp>"})
	f.d.Accept(ctx, f.ann, mine.ID)
	f.d.Transfer(ctx, f.ann, mine.ID, Queue{QueueTechnician, 3}, "over to you")
	f.d.Accept(ctx, f.bob, mine.ID)
	f.d.Close(ctx, f.bob, mine.ID)
	// Bob works one from Tier 2 alone; Ann is invited to a third, then leaves.
	f.clk.t = f.clk.t.Add(24 * time.Hour)
	tier2 := startSOS(t, f, "Dan")
	f.d.Accept(ctx, f.bob, tier2.ID)
	f.d.Close(ctx, f.bob, tier2.ID)
	collab, _, _ := f.d.StartWithTechnician(ctx, f.site, 3, Customer{Name: "Eve"})
	f.d.Accept(ctx, f.bob, collab.ID)
	f.d.Invite(ctx, f.bob, collab.ID, 2)
	f.d.Leave(ctx, f.ann, collab.ID)
	f.d.Close(ctx, f.bob, collab.ID)
	// An open session is not history.
	open, _, _ := f.d.StartWithTechnician(ctx, f.site, 2, Customer{Name: "Open"})

	names := func(a Actor, hf HistoryFilter) string {
		t.Helper()
		got, _, err := f.d.History(ctx, a, hf)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, ss := range got {
			out = append(out, ss.Customer.Name)
		}
		return fmt.Sprint(out)
	}
	cases := []struct {
		name  string
		actor Actor
		f     HistoryFilter
		want  string
	}{
		{"ann: her queue and the collaboration", f.ann, HistoryFilter{}, "[Eve Cleo]"},
		{"bob: everything he owned", f.bob, HistoryFilter{}, "[Eve Dan Cleo]"},
		{"admin sees all", admin, HistoryFilter{}, "[Eve Dan Cleo]"},
		{"customer by company, any case", admin, HistoryFilter{Customer: "acme <corp"}, "[Cleo]"},
		{"by technician", admin, HistoryFilter{Technician: 2}, "[Eve Cleo]"},
		{"by channel", admin, HistoryFilter{Channel: f.tier2.ID}, "[Dan]"},
		{"date range", admin, HistoryFilter{From: f.clk.t.Add(-time.Hour), To: f.clk.t.Add(time.Hour)}, "[Eve Dan]"},
		{"page size", admin, HistoryFilter{Limit: 1}, "[Eve]"},
		{"nobody", Actor{}, HistoryFilter{}, "[]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.actor.UserID == 0 {
				if _, _, err := f.d.History(ctx, tc.actor, tc.f); !errors.Is(err, ErrForbidden) {
					t.Fatalf("anonymous history: %v", err)
				}
				return
			}
			if got := names(tc.actor, tc.f); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	// Paging walks back from where the last page stopped.
	first, next, _ := f.d.History(ctx, admin, HistoryFilter{Limit: 2})
	rest, after, _ := f.d.History(ctx, admin, HistoryFilter{Limit: 2, Before: next})
	if len(first) != 2 || len(rest) != 1 || rest[0].Customer.Name != "Cleo" || after != 0 {
		t.Fatalf("paging: %d then %d (%d)", len(first), len(rest), after)
	}

	if _, msgs, err := f.d.Record(ctx, f.ann, collab.ID); err != nil || msgs != nil {
		t.Fatalf("ann's former collaboration: %v", err)
	}
	if _, _, err := f.d.Record(ctx, f.ann, tier2.ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("ann read a session of a channel she does not serve: %v", err)
	}
	if _, _, err := f.d.Record(ctx, f.ann, open.ID); !errors.Is(err, ErrState) {
		t.Fatalf("an open session as history: %v", err)
	}
	if _, _, err := f.d.Record(ctx, f.ann, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a missing session: %v", err)
	}
}

// startSOS starts a session in Tier 2 through an SOS link.
func startSOS(t *testing.T, f *fixture, name string) Session {
	t.Helper()
	a := f.bob
	a.Perms = RoleDefaults(RoleTechnician)
	a.Perms[PermSOSLinks] = true
	l, err := f.d.CreateSOS(ctx, a, f.tier2.ID, "Tier 2")
	if err != nil {
		t.Fatal(err)
	}
	ss, _, err := f.d.StartSOS(ctx, f.site, l.Token, Customer{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return ss
}

func TestWorking(t *testing.T) {
	f := newFixture(t)
	a, _, _ := f.d.StartWithTechnician(ctx, f.site, 3, Customer{Name: "A"})
	b, _, _ := f.d.StartWithTechnician(ctx, f.site, 2, Customer{Name: "B"})
	f.d.Accept(ctx, f.bob, a.ID)
	f.d.Invite(ctx, f.bob, a.ID, 2)
	got, err := f.d.Working(ctx, f.ann)
	if err != nil || len(got) != 1 || got[0].ID != a.ID {
		t.Fatalf("ann works on %+v (%v); B (%d) waits, not worked", got, err, b.ID)
	}
	f.d.Close(ctx, f.bob, a.ID)
	if got, _ := f.d.Working(ctx, f.bob); len(got) != 0 {
		t.Fatalf("a closed session is still worked on: %+v", got)
	}
}
