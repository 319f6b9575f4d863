package desk

import (
	"errors"
	"fmt"
	"slices"
	"strings"
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
	if _, err := f.d.Consent(ctx, ss.ID, 2, "view", true); !errors.Is(err, ErrState) {
		t.Fatalf("consent before the app: %v", err)
	}
	got, err := f.d.DeviceUp(ctx, ss.ID, Device{OS: "linux", Hostname: "pc-7", Screens: []string{"1920×1080"}, Capture: true})
	if err != nil || got.Device == nil || !got.Device.Connected {
		t.Fatalf("device up = %+v, %v", got.Device, err)
	}
	got, _ = f.d.Consent(ctx, ss.ID, 2, "view", true)
	if !got.Device.Consents[2]["view"] || got.Device.Consents[3]["view"] {
		t.Fatal("consent not recorded for the technician it was about")
	}
	if te := got.Trail[len(got.Trail)-1]; te.ForID != 2 || te.For != "tech2" {
		t.Fatalf("the trail does not say whom the answer was for: %+v", te)
	}
	got, _ = f.d.DeviceDown(ctx, ss.ID, "the customer stopped the session")
	if got.Device.Connected || got.Device.Consents != nil {
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

// TestRemoteTrail: viewers joining and leaving, files (direction, name,
// size, SHA-256, who) and clipboard use (size only) are on the trail; the
// repeatable entries are bounded.
func TestRemoteTrail(t *testing.T) {
	f := newFixture(t)
	ss, _, _ := f.d.StartWithTechnician(ctx, f.site, 2, Customer{Name: "Cleo"})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.d.Watching(ctx, ss.ID, 2, true))
	must(f.d.FileTransferred(ctx, ss.ID, 2, FileRecord{ToCustomer: true, Name: "fix.sh", Size: 3, SHA256: "abcd"}))
	must(f.d.FileTransferred(ctx, ss.ID, 0, FileRecord{Name: "log.txt", Size: 9, SHA256: "1234"}))
	must(f.d.ClipboardUsed(ctx, ss.ID, 2, true, 11))
	must(f.d.ClipboardUsed(ctx, ss.ID, 0, false, 5))
	must(f.d.Watching(ctx, ss.ID, 2, false))
	got, err := f.d.Session(ctx, admin, ss.ID)
	must(err)
	var lines []string
	for _, te := range got.Trail[len(got.Trail)-6:] {
		l := te.Event + " " + te.Actor + " " + te.Note
		if te.File != nil {
			l += fmt.Sprintf(" %s %d %s %v", te.File.Name, te.File.Size, te.File.SHA256, te.File.ToCustomer)
		}
		lines = append(lines, l)
	}
	want := []string{"viewer-joined tech2 ", "file tech2  fix.sh 3 abcd true", "file customer  log.txt 9 1234 false",
		"clipboard tech2 11", "clipboard customer 5", "viewer-left tech2 "}
	if !slices.Equal(lines, want) {
		t.Fatalf("trail:\n%s", strings.Join(lines, "\n"))
	}
	for range MaxNoisyTrail {
		must(f.d.ClipboardUsed(ctx, ss.ID, 2, true, 1))
	}
	got, _ = f.d.Session(ctx, admin, ss.ID)
	if got.NoisyTrail != MaxNoisyTrail || got.TrailSkipped != 6 || len(got.Trail) > MaxNoisyTrail+10 {
		t.Fatalf("noisy %d skipped %d trail %d", got.NoisyTrail, got.TrailSkipped, len(got.Trail))
	}
}
