package portal

import (
	"github.com/switchboardhq/switchboard/tools/deskfix"
	"strconv"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestIOSProfiles(t *testing.T) {
	f := newFixture(t)
	pub, err := f.desk.AddProfile(ctx, f.admin, deskProfile(f, "<b>Wi-Fi</b>", false), deskfix.Profile("wifi"))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := f.desk.AddProfile(ctx, f.admin, deskProfile(f, "Staff VPN", true), deskfix.Profile("vpn"))
	if err != nil {
		t.Fatal(err)
	}
	c := f.customer(t)
	if _, home := c.get("/"); !strings.Contains(home, `href="/ios"`) {
		t.Fatal("the home page does not link to the iOS page")
	}
	_, page := c.get("/ios")
	if !strings.Contains(page, "&lt;b&gt;Wi-Fi&lt;/b&gt;") || strings.Contains(page, "Staff VPN") {
		t.Fatal("the iOS page shows the private profile, or the public one not literally")
	}
	// A private profile's address does not work without a key.
	if code, _ := c.get("/ios/profiles/" + itoa(priv.ID)); code != http.StatusNotFound {
		t.Fatalf("private download without a key: %d", code)
	}
	// A wrong key is refused and says so; the form keeps the digits.
	code, _, body := c.post("/ios/key", url.Values{"key": {"000 000 000"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "access key is not valid") || !strings.Contains(body, `value="000 000 000"`) {
		t.Fatalf("wrong key: %d", code)
	}
	key, _, err := f.desk.GenerateIOSKey(ctx, f.tech, f.site.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if code, loc, _ := c.post("/ios/key", url.Values{"key": {key}}); code != http.StatusSeeOther || loc != "/ios" {
		t.Fatalf("good key: %d %s", code, loc)
	}
	if _, page = c.get("/ios"); !strings.Contains(page, "Staff VPN") {
		t.Fatal("the private profile is not listed after the key")
	}
	resp, err := c.http.Get(f.srv.URL + "/ios/profiles/" + itoa(priv.ID))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-apple-aspen-config" ||
		resp.Header.Get("Content-Disposition") != `attachment; filename="Staff-VPN.mobileconfig"` || string(b) != string(deskfix.Profile("vpn")) {
		t.Fatalf("download: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"))
	}
	// The key works once: another browser cannot use it again.
	other := f.customer(t)
	if code, _, _ := other.post("/ios/key", url.Values{"key": {key}}); code != http.StatusUnprocessableEntity {
		t.Fatalf("the key worked twice: %d", code)
	}
	if code, _ := other.get("/ios/profiles/" + itoa(pub.ID)); code != http.StatusOK {
		t.Fatalf("public download: %d", code)
	}
}

func deskProfile(f *fixture, name string, private bool) desk.Profile {
	return desk.Profile{Site: f.site.ID, Name: name, Private: private}
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
