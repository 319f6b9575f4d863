package netcfg

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/store"
)

// fakeNet records what the Manager applies; the state is the box of
// config_test.go.
type fakeNet struct{ applied []Config }

func (f *fakeNet) Observe() (State, error) { return box, nil }
func (f *fakeNet) Apply(c Config) error    { f.applied = append(f.applied, c); return nil }

func newFakeManager(t *testing.T) (*Manager, *fakeNet, *fakeClock) {
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	net, clock := &fakeNet{}, &fakeClock{now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}
	m := NewManager(db, net, Options{Clock: clock, Hash: func(p string, b []byte) []byte { return append([]byte(p), b...) }})
	return m, net, clock
}

// TestStagedTrialIsNotConfirmedBeforeItIsApplied: a staged change cannot
// be kept untested (from the security review), a wrong token neither shows
// nor undoes it, and its own token does.
func TestStagedTrialIsNotConfirmedBeforeItIsApplied(t *testing.T) {
	m, net, _ := newFakeManager(t)
	ctx := context.Background()
	c := Config{Interfaces: []Interface{{Name: "eth0", Kind: KindEther, DHCP: true, Addresses: pfx("192.0.2.1/24")}}}
	_, token, err := m.Start(ctx, adminOnEth0, "root", c, DefaultTrial, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Confirm(ctx, token, netip.MustParseAddr("192.0.2.1")); !errors.Is(err, ErrNotApplied) {
		t.Fatalf("confirming a staged change: %v, want ErrNotApplied", err)
	}
	if _, err := m.ConfirmAtConsole(ctx, token); !errors.Is(err, ErrNotApplied) {
		t.Fatalf("confirming a staged change at the console: %v", err)
	}
	if d, _ := m.Desired(ctx); d != nil || len(net.applied) != 0 {
		t.Fatalf("a staged change was kept (%v) or applied (%d)", d, len(net.applied))
	}
	if _, ok := m.CheckToken(ctx, "x"+token[1:]); ok {
		t.Error("a wrong token passes CheckToken")
	}
	if _, err := m.UndoWithToken(ctx, "x"+token[1:], "console"); !errors.Is(err, ErrBadToken) {
		t.Errorf("undo with a wrong token: %v", err)
	}
	if err := m.ApplyStaged(ctx); err != nil || len(net.applied) != 1 {
		t.Fatalf("ApplyStaged: %v, %d applies", err, len(net.applied))
	}
	if _, err := m.Confirm(ctx, token, netip.MustParseAddr("192.0.2.1")); err != nil {
		t.Fatalf("confirming once applied: %v", err)
	}
}
