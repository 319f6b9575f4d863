package e2e

import (
	"bytes"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	cdp "github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/tools/daemon"
)

// postFile submits a multipart form with one file, as a browser's upload.
func postFile(t *testing.T, d *daemon.Daemon, c *daemon.Client, path string, fields map[string]string, field, name string, data []byte) (*http.Response, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("csrf_token", c.CSRF())
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile(field, name)
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", d.Base+path, &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func mobileconfig(id, name string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>PayloadType</key><string>Configuration</string>
<key>PayloadIdentifier</key><string>com.example.` + id + `</string>
<key>PayloadUUID</key><string>5E0A7C1B-` + id + `</string>
<key>PayloadDisplayName</key><string>` + html.EscapeString(name) + `</string>
<key>PayloadContent</key><array><dict><key>PayloadType</key><string>com.apple.vpn.managed</string></dict></array>
</dict></plist>`)
}

// TestBrowserIOSProfiles: an administrator uploads a public and a private
// profile; a customer sees only the public one until a technician's iOS
// access key is entered, then downloads the private one as a profile; the
// key does not work twice. Files that are not profiles are refused.
func TestBrowserIOSProfiles(t *testing.T) {
	t.Parallel()
	e := newDeskEnv(t)
	e.technician("ann", "Ann Archer", "ios-access-keys")
	e.site(url.Values{"session_key": {"1"}})
	for _, p := range []struct {
		id, name, private string
	}{{"wifi", "Office Wi-Fi", ""}, {"vpn", `Staff VPN <img src=x onerror=alert(1)>`, "1"}} {
		resp, body := postFile(t, e.d, e.admin, "/login/sites/1/ios", map[string]string{"private": p.private}, "file", p.id+".mobileconfig", mobileconfig(p.id, p.name))
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("upload %s: %d %s", p.id, resp.StatusCode, body)
		}
	}
	// Bad files: refused with the reason, nothing stored.
	for name, data := range map[string][]byte{
		"not a plist":  []byte("%PDF-1.7 not a profile"),
		"a plist bomb": []byte(`<?xml version="1.0"?><!DOCTYPE plist [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><plist><dict><key>x</key><string>&b;</string></dict></plist>`),
		"50 MB":        bytes.Repeat([]byte("<plist>"), 50<<20/7),
	} {
		resp, body := postFile(t, e.d, e.admin, "/login/sites/1/ios", nil, "file", "x.mobileconfig", data)
		switch {
		case resp.StatusCode == http.StatusRequestEntityTooLarge && strings.Contains(body, "larger than"):
		case resp.StatusCode == http.StatusUnprocessableEntity && strings.Contains(body, `id="file-err"`):
		default:
			t.Fatalf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
	if _, page := e.admin.Page("/login/sites/1/ios"); strings.Count(page, `<tr id="profile-`) != 2 || strings.Contains(page, "<img src=x") {
		t.Fatal("the admin page does not list exactly the two profiles, literally")
	}

	cleo := e.tab()
	cleo.do("open the iOS page", cdp.Navigate(e.d.Base+"/ios"))
	cleo.waitText("#profiles", "Office Wi-Fi")
	cleo.truthy("the private profile is hidden", `!document.getElementById("profiles").textContent.includes("Staff VPN")`)
	// The private profile's address answers as if it did not exist.
	if st := evalAsync[int](cleo, `fetch("/ios/profiles/2").then(r => r.status)`); st != http.StatusNotFound {
		t.Fatalf("the private profile without a key: %d", st)
	}

	// Ann makes a key in her console.
	ann := e.console("ann")
	ann.clickSubmit("#make-ios-key")
	digits := ann.text("#ios-digits")
	key := strings.ReplaceAll(digits, " ", "")
	if len(key) != 9 {
		t.Fatalf("iOS key %q", digits)
	}

	cleo.do("type the key", cdp.SendKeys(cdp.ID("ios-key"), key))
	cleo.clickSubmit("#ios-go")
	cleo.waitText("#profiles", "Staff VPN <img src=x onerror=alert(1)>")
	if n := eval[int](cleo, `document.querySelectorAll("#profiles img").length`); n != 0 {
		t.Fatal("the profile's name was taken as markup")
	}
	got := evalAsync[string](cleo, `fetch("/ios/profiles/2").then(r => r.status + " " + r.headers.get("content-type") + " " + r.headers.get("content-disposition"))`)
	if got != `200 application/x-apple-aspen-config attachment; filename="Staff-VPN-img-srcx-onerroralert1.mobileconfig"` {
		t.Fatalf("download: %s", got)
	}

	// The key is spent: another browser cannot use it.
	dora := e.tab()
	dora.do("open the iOS page", cdp.Navigate(e.d.Base+"/ios"))
	dora.do("type the same key", cdp.SendKeys(cdp.ID("ios-key"), key))
	dora.clickSubmit("#ios-go")
	dora.waitText("#ios-key-err", "access key is not valid")
	dora.truthy("still hidden", `!document.getElementById("profiles").textContent.includes("Staff VPN")`)
	if _, page := e.admin.Page("/login/audit"); !strings.Contains(page, "ios-access-key") {
		t.Fatal("the key's use is not in the audit log")
	}
}

// evalAsync runs a JavaScript expression that gives a promise and returns
// what it resolves to.
func evalAsync[T any](p page, expr string) T {
	p.t.Helper()
	v, err := cdp.Run(p.ctx, cdp.Evaluate[T](expr, cdp.EvalAwaitPromise))
	if err != nil {
		p.fail("evaluate "+expr, err)
	}
	return v
}

// TestBrowserLanguages: a French browser gets the French site; the picker
// switches it to German, which sticks across pages and visits.
func TestBrowserLanguages(t *testing.T) {
	t.Parallel()
	e := newDeskEnv(t)
	e.technician("ann", "Ann Archer")
	e.site(url.Values{"tech_list": {"1"}, "session_key": {"1"}, "welcome": {"Welcome!"}, "welcome_fr": {"Bienvenue <b>chez nous</b>"}})
	p := e.tab()
	// A browser set to French: every request says so.
	if _, err := cdp.Call(p.ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cdp.Call(p.ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Accept-Language": "fr-FR,fr;q=0.9"}}); err != nil {
		t.Fatal(err)
	}
	p.do("open the site", cdp.Navigate(e.d.Base+"/"))
	p.waitText("h1", "Comment pouvons-nous vous aider")
	p.textIs("#welcome", "Bienvenue <b>chez nous</b>")
	p.truthy("the page says it is French", `document.documentElement.lang === "fr"`)

	// As a person picks it: the choice applies at once (no button).
	p.truthy("the picker has no button with its script", `document.getElementById("lang-go").hidden`)
	p.do("pick German", cdp.Evaluate[cdp.Void](`(() => { const s = document.getElementById("lang"); s.value = "de"; s.dispatchEvent(new Event("change")); })()`))
	p.waitText("h1", "Wie können wir Ihnen helfen")
	p.textIs("#welcome", "Welcome!") // no German welcome: the default's
	// It sticks: on another page and on a new visit, over the browser's French.
	p.do("open the iOS page", cdp.Navigate(e.d.Base+"/ios"))
	p.waitText("h1", "Profile für iPhone und iPad")
	p.do("come back", cdp.Navigate(e.d.Base+"/"))
	p.waitText("h1", "Wie können wir Ihnen helfen")
	p.truthy("German throughout", `document.documentElement.lang === "de" && document.getElementById("lang").value === "de"`)
	// The customer's session page and its live status follow.
	p.do("ask Ann", cdp.Navigate(e.d.Base+"/start/technician/2"), cdp.SendKeys(cdp.ID("name"), "Rita"))
	p.clickSubmit(`main form button[type=submit]`)
	p.waitText("#headline", "Sie sind in der Warteschlange")
}
