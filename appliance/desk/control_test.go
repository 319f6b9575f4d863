package desk

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestRemoteRightsMatrix: who may view, control (input, clipboard, being
// handed control) and transfer files, by role, permissions and place in
// the session. The relay and the console enforce exactly these rights.
func TestRemoteRightsMatrix(t *testing.T) {
	f := newFixture(t)
	// Carl (4) has no remote-control, Dora (5) no file-transfer permission;
	// Eve (6) is a technician outside the session.
	perms := func(drop ...Perm) map[Perm]bool {
		p := RoleDefaults(RoleTechnician)
		for _, d := range drop {
			delete(p, d)
		}
		return p
	}
	for id, p := range map[uint64]map[Perm]bool{4: perms(PermControl), 5: perms(PermFileTransfer), 6: perms()} {
		if _, err := f.d.SaveTechnician(ctx, admin, Technician{UserID: id, PrivateName: fmt.Sprint("tech", id), PublicName: fmt.Sprint("Tech ", id), Perms: p}, RoleTechnician); err != nil {
			t.Fatal(err)
		}
	}
	actor := func(id uint64) Actor {
		a, err := f.d.ActorFor(ctx, id, fmt.Sprint("tech", id), RoleTechnician)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	ss, _, _ := f.d.StartWithTechnician(ctx, f.site, 2, Customer{Name: "Cleo"})
	if r := RightsIn(f.ann, ss); r != (Rights{}) {
		t.Fatalf("rights before accepting: %+v", r)
	}
	if _, err := f.d.Accept(ctx, f.ann, ss.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []uint64{4, 5} {
		if _, err := f.d.Invite(ctx, f.ann, ss.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	ss, _ = f.d.Session(ctx, f.ann, ss.ID)
	for _, tc := range []struct {
		who  Actor
		want Rights
	}{
		{f.ann, Rights{View: true, Control: true, Files: true}},
		{actor(4), Rights{View: true, Control: false, Files: true}},
		{actor(5), Rights{View: true, Control: true, Files: false}},
		{actor(6), Rights{}},
		{admin, Rights{}}, // an administrator outside the session sees nothing
	} {
		if got := RightsIn(tc.who, ss); got != tc.want {
			t.Errorf("%s: rights %+v, want %+v", tc.who.Name, got, tc.want)
		}
	}
	if c := f.d.DefaultController(ctx, ss); c != 2 {
		t.Fatalf("default controller %d, want the owner", c)
	}

	// Hand-over: only the owner, only to someone in the session who may
	// control.
	f.kinds()
	for _, tc := range []struct {
		name    string
		by      Actor
		to      uint64
		wantErr error
	}{
		{"a collaborator hands control to herself", actor(5), 5, ErrForbidden},
		{"to a view-only technician", f.ann, 4, ErrNoControlRight},
		{"to someone outside the session", f.ann, 6, nil}, // a field error
	} {
		_, err := f.d.HandControl(ctx, tc.by, ss.ID, tc.to)
		if err == nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) || tc.wantErr == nil && Fields(err) == nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if k := f.kinds(); len(k) != 0 {
		t.Fatalf("refused hand-overs published %v", k)
	}
	got, err := f.d.HandControl(ctx, f.ann, ss.ID, 5)
	if err != nil {
		t.Fatal(err)
	}
	last := got.Trail[len(got.Trail)-1]
	if last.Event != "control-handed" || last.ActorID != 2 || !strings.Contains(last.Note, "tech5") {
		t.Fatalf("trail %+v", last)
	}
	if k := f.kinds(); len(k) != 1 || k[0] != "session.control" {
		t.Fatalf("events %v", k)
	}

	// A native tool's token carries the technician's rights.
	tok, err := f.d.IssueViewerToken(ctx, actor(4), ss.ID)
	if err != nil {
		t.Fatal(err)
	}
	g, err := f.d.RedeemRemoteToken(ctx, tok, RemoteTechnician, "tool")
	if err != nil || g.Rights != (Rights{View: true, Files: true}) || g.Name != "Tech 4" {
		t.Fatalf("redeem = %+v, %v", g, err)
	}

	// An owner whose permissions are view only does not control by default.
	if _, err := f.d.SaveTechnician(ctx, admin, Technician{UserID: 2, PrivateName: "tech2", PublicName: "Tech 2", Perms: perms(PermControl)}, RoleTechnician); err != nil {
		t.Fatal(err)
	}
	if c := f.d.DefaultController(ctx, ss); c != 0 {
		t.Fatalf("default controller %d for a view-only owner", c)
	}
}

// TestCustomersSeePublicNames: a technician's chat line carries the public
// name, never the private one.
func TestCustomersSeePublicNames(t *testing.T) {
	f := newFixture(t)
	ss, _, _ := f.d.StartWithTechnician(ctx, f.site, 2, Customer{Name: "Cleo"})
	if _, err := f.d.Accept(ctx, f.ann, ss.ID); err != nil {
		t.Fatal(err)
	}
	m, err := f.d.Say(ctx, f.ann, ss.ID, "hello")
	if err != nil || m.Author != "Tech 2" {
		t.Fatalf("author %q (%v), want the public name", m.Author, err)
	}
}
