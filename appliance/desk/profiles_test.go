package desk

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// testProfile is a small configuration profile as an XML property list.
func testProfile(name string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>PayloadType</key><string>Configuration</string>
<key>PayloadIdentifier</key><string>com.example.` + name + `</string>
<key>PayloadUUID</key><string>6F1C2C5E-2B7A-4C1E-9D51-8E9D0F2A1B3C</string>
<key>PayloadDisplayName</key><string>` + name + ` settings</string>
<key>PayloadVersion</key><integer>1</integer>
<key>PayloadContent</key><array><dict><key>PayloadType</key><string>com.apple.wifi.managed</string></dict></array>
</dict></plist>`)
}

func TestProfiles(t *testing.T) {
	f := newFixture(t)
	if _, err := f.d.AddProfile(ctx, f.ann, Profile{Site: f.site.ID}, testProfile("wifi")); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a technician added a profile: %v", err)
	}
	// Refused files leave nothing behind.
	for name, bad := range map[string][]byte{
		"not a plist": []byte("<html><body>hello</body></html>"),
		"too large":   make([]byte, 2<<20),
		"no type":     []byte(strings.Replace(string(testProfile("x")), "Configuration", "Other", 1)),
	} {
		_, err := f.d.AddProfile(ctx, admin, Profile{Site: f.site.ID}, bad)
		if fes := Fields(err); len(fes) != 1 || fes[0].Field != "file" || fes[0].Msg == "" {
			t.Errorf("%s: %v", name, err)
		}
	}
	if list, _ := f.d.Profiles(ctx, 0); len(list) != 0 {
		t.Fatalf("%d profiles stored after refusals", len(list))
	}
	pub, err := f.d.AddProfile(ctx, admin, Profile{Site: f.site.ID}, testProfile("wifi"))
	if err != nil {
		t.Fatal(err)
	}
	if pub.Name != "wifi settings" || pub.FileName != "wifi-settings.mobileconfig" || pub.Identifier != "com.example.wifi" || pub.Format != "xml" || len(pub.Payloads) != 1 {
		t.Fatalf("stored %+v", pub)
	}
	priv, err := f.d.AddProfile(ctx, admin, Profile{Site: f.site.ID, Name: `VPN "staff" ../../etc/passwd`, Private: true}, testProfile("vpn"))
	if err != nil {
		t.Fatal(err)
	}
	if priv.FileName != "VPN-staff-..-..-etcpasswd.mobileconfig" && strings.ContainsAny(priv.FileName, `"/\ `) {
		t.Fatalf("unsafe file name %q", priv.FileName)
	}
	_, file, err := f.d.ProfileFile(ctx, priv.ID)
	if err != nil || string(file) != string(testProfile("vpn")) {
		t.Fatalf("file: %v", err)
	}

	// Access keys: only with the permission (technicians have it unless
	// it is taken away).
	if _, err := f.d.SaveTechnician(ctx, admin, Technician{UserID: 2, PrivateName: "Ann", PublicName: "Ann", Perms: map[Perm]bool{PermStartSessions: true}}, RoleTechnician); err != nil {
		t.Fatal(err)
	}
	noPerm, _ := f.d.ActorFor(ctx, 2, "Ann", RoleTechnician)
	if _, _, err := f.d.GenerateIOSKey(ctx, noPerm, f.site.ID, 0); !errors.Is(err, ErrForbidden) {
		t.Fatalf("a technician without ios-access-keys made a key: %v", err)
	}
	if _, err := f.d.SaveTechnician(ctx, admin, Technician{UserID: 2, PrivateName: "Ann", PublicName: "Ann", Perms: map[Perm]bool{PermIOSAccessKeys: true}}, RoleTechnician); err != nil {
		t.Fatal(err)
	}
	ann, _ := f.d.ActorFor(ctx, 2, "Ann", RoleTechnician)
	key, exp, err := f.d.GenerateIOSKey(ctx, ann, f.site.ID, 0)
	if err != nil || len(key) != 9 || exp.Sub(f.clk.t) != DefaultIOSKeyLifetime {
		t.Fatalf("key %q %v %v", key, exp, err)
	}
	if _, _, err := f.d.GenerateIOSKey(ctx, ann, f.site.ID, 3*time.Hour); err == nil {
		t.Fatal("a three-hour key was made")
	}
	// A wrong key, another site's, then the right one once.
	if _, _, err := f.d.RedeemIOSKey(ctx, f.site.ID, "000000000", "198.51.100.7"); !errors.Is(err, ErrBadIOSKey) {
		t.Fatalf("wrong key: %v", err)
	}
	if _, _, err := f.d.RedeemIOSKey(ctx, f.site.ID+1, key, "198.51.100.8"); !errors.Is(err, ErrBadIOSKey) {
		t.Fatalf("other site: %v", err)
	}
	grant, _, err := f.d.RedeemIOSKey(ctx, f.site.ID, key, "198.51.100.9")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.d.RedeemIOSKey(ctx, f.site.ID, key, "198.51.100.10"); !errors.Is(err, ErrBadIOSKey) {
		t.Fatalf("the key worked twice: %v", err)
	}
	if !f.d.IOSGrant(ctx, f.site.ID, grant) || f.d.IOSGrant(ctx, f.site.ID+1, grant) || f.d.IOSGrant(ctx, f.site.ID, grant+"x") {
		t.Fatal("the grant is not bound to its site and value")
	}
	// Guessing is throttled like session keys.
	var throttled *ThrottledError
	for i := 0; i < 20 && throttled == nil; i++ {
		_, _, err := f.d.RedeemIOSKey(ctx, f.site.ID, "111111111", "203.0.113.5")
		errors.As(err, &throttled)
	}
	if throttled == nil {
		t.Fatal("20 wrong keys from one source were not slowed down")
	}
	// Keys expire; grants too.
	late, _, _ := f.d.GenerateIOSKey(ctx, ann, f.site.ID, time.Minute)
	f.clk.t = f.clk.t.Add(IOSGrantLifetime + time.Minute)
	if _, _, err := f.d.RedeemIOSKey(ctx, f.site.ID, late, "198.51.100.11"); !errors.Is(err, ErrBadIOSKey) {
		t.Fatalf("an expired key: %v", err)
	}
	if f.d.IOSGrant(ctx, f.site.ID, grant) {
		t.Fatal("the grant outlived its lifetime")
	}
	if n, err := f.d.Prune(ctx); err != nil || n < 2 {
		t.Fatalf("prune removed %d: %v", n, err)
	}
	// Uploads, deletions and key use are audited.
	if err := f.d.DeleteProfile(ctx, admin, pub.ID); err != nil {
		t.Fatal(err)
	}
	entries, _ := f.d.Audit(ctx, admin, AuditFilter{Limit: 100})
	seen := map[string]int{}
	for _, e := range entries {
		if e.Kind == KindProfile || e.Kind == KindIOSKey {
			seen[e.Kind+" "+e.Action]++
		}
	}
	if seen["ios-profile create"] != 2 || seen["ios-profile delete"] != 1 || seen["ios-access-key create"] != 2 || seen["ios-access-key use"] != 1 {
		t.Fatalf("audit: %v", seen)
	}
	if _, _, err := f.d.ProfileFile(ctx, pub.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted profile's file: %v", err)
	}
	// Deleting the site deletes its profiles, files included.
	if err := f.d.DeleteSite(ctx, admin, f.site.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.d.ProfileFile(ctx, priv.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a deleted site's private profile: %v", err)
	}
	if list, _ := f.d.Profiles(ctx, 0); len(list) != 0 {
		t.Fatalf("%d profiles outlived their site", len(list))
	}
}
