package desk

import (
	"errors"
	"testing"
	"time"
)

func TestRemoteTokensAreOneTimeAndBound(t *testing.T) {
	f := newFixture(t)
	ss, _, err := f.d.StartWithTechnician(ctx, f.site, 2, Customer{Name: "Cleo"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.d.IssueClientToken(ctx, ss.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Wrong role spends the token too.
	if _, err := f.d.RedeemRemoteToken(ctx, tok, RemoteTechnician, "dev-a"); !errors.Is(err, ErrBadRemoteToken) {
		t.Fatalf("wrong role: %v", err)
	}
	if _, err := f.d.RedeemRemoteToken(ctx, tok, RemoteClient, "dev-a"); !errors.Is(err, ErrBadRemoteToken) {
		t.Fatalf("token spent by a wrong-role try still works: %v", err)
	}
	tok, _ = f.d.IssueClientToken(ctx, ss.ID)
	g, err := f.d.RedeemRemoteToken(ctx, tok, RemoteClient, "dev-a")
	if err != nil || g.Session != ss.ID || g.Technician != 0 {
		t.Fatalf("redeem = %+v, %v", g, err)
	}
	if _, err := f.d.RedeemRemoteToken(ctx, tok, RemoteClient, "dev-a"); !errors.Is(err, ErrBadRemoteToken) {
		t.Fatalf("replay: %v", err)
	}
	if _, err := f.d.RedeemRemoteToken(ctx, "forged"+tok, RemoteClient, "dev-a"); !errors.Is(err, ErrBadRemoteToken) {
		t.Fatalf("forged: %v", err)
	}
	// The session is bound to the first device.
	tok, _ = f.d.IssueClientToken(ctx, ss.ID)
	if _, err := f.d.RedeemRemoteToken(ctx, tok, RemoteClient, "dev-b"); !errors.Is(err, ErrOtherDevice) {
		t.Fatalf("other device: %v", err)
	}
	tok, _ = f.d.IssueClientToken(ctx, ss.ID)
	if _, err := f.d.RedeemRemoteToken(ctx, tok, RemoteClient, "dev-a"); err != nil {
		t.Fatalf("same device again: %v", err)
	}
	// Expired.
	tok, _ = f.d.IssueClientToken(ctx, ss.ID)
	f.clk.t = f.clk.t.Add(ClientTokenLifetime + time.Second)
	if _, err := f.d.RedeemRemoteToken(ctx, tok, RemoteClient, "dev-a"); !errors.Is(err, ErrBadRemoteToken) {
		t.Fatalf("expired: %v", err)
	}
	if n, err := f.d.Prune(ctx); err != nil || n != 0 {
		t.Fatalf("prune after spending every token = %d, %v", n, err)
	}
	// Technician tokens need a technician working in the session.
	if _, err := f.d.IssueViewerToken(ctx, f.ann, ss.ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("viewer token before accepting: %v", err)
	}
	if _, err := f.d.Accept(ctx, f.ann, ss.ID); err != nil {
		t.Fatal(err)
	}
	vt, err := f.d.IssueViewerToken(ctx, f.ann, ss.ID)
	if err != nil {
		t.Fatal(err)
	}
	if g, err := f.d.RedeemRemoteToken(ctx, vt, RemoteTechnician, "tool"); err != nil || g.Technician != 2 || g.Name != "Tech 2" {
		t.Fatalf("viewer redeem = %+v, %v", g, err)
	}
	if _, err := f.d.IssueViewerToken(ctx, f.bob, ss.ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("viewer token for an outsider: %v", err)
	}
	// An ended session issues and admits nothing.
	tok, _ = f.d.IssueClientToken(ctx, ss.ID)
	if _, err := f.d.Close(ctx, f.ann, ss.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.RedeemRemoteToken(ctx, tok, RemoteClient, "dev-a"); !errors.Is(err, ErrSessionEnded) {
		t.Fatalf("ended: %v", err)
	}
	if _, err := f.d.IssueClientToken(ctx, ss.ID); !errors.Is(err, ErrSessionEnded) {
		t.Fatalf("issue for ended: %v", err)
	}
}

func TestDeviceStateAndConsentAreTrailed(t *testing.T) {
	f := newFixture(t)
	ss, _, _ := f.d.StartWithTechnician(ctx, f.site, 2, Customer{Name: "Cleo"})
	f.kinds()
	if _, err := f.d.Consent(ctx, ss.ID, "view", true); !errors.Is(err, ErrState) {
		t.Fatalf("consent before the app: %v", err)
	}
	got, err := f.d.DeviceUp(ctx, ss.ID, Device{OS: "linux", Hostname: "pc-7", Screens: []string{"1920×1080"}, Capture: true})
	if err != nil || got.Device == nil || !got.Device.Connected {
		t.Fatalf("device up = %+v, %v", got.Device, err)
	}
	got, _ = f.d.Consent(ctx, ss.ID, "view", true)
	if !got.Device.Consent["view"] {
		t.Fatal("consent not recorded")
	}
	got, _ = f.d.DeviceDown(ctx, ss.ID, "the customer stopped the session")
	if got.Device.Connected || got.Device.Consent != nil {
		t.Fatalf("device down = %+v", got.Device)
	}
	var events []string
	for _, te := range got.Trail {
		events = append(events, te.Event)
	}
	want := []string{"app-connected", "consent-granted", "app-disconnected"}
	if len(events) < 3 || events[len(events)-3] != want[0] || events[len(events)-2] != want[1] || events[len(events)-1] != want[2] {
		t.Fatalf("trail = %v", events)
	}
	if k := f.kinds(); len(k) != 3 || k[0] != "session.device" {
		t.Fatalf("events = %v", k)
	}
}
