package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	cdp "github.com/chromedp/chromedp"
)

// TestBrowserImportantMessages: an outage message published in /login
// appears on a waiting customer's page without a reload, literally, and is
// gone after its end once the desk's clock passes it.
func TestBrowserImportantMessages(t *testing.T) {
	t.Parallel()
	e := newDeskEnv(t)
	ann := e.technician("ann", "Ann Archer")
	e.site(url.Values{"tech_list": {"1"}})

	rita := e.tab()
	rita.do("ask ann for help", cdp.Navigate(e.d.Base+"/start/technician/"+ann), cdp.SendKeys(cdp.ID("name"), "Rita Ready"))
	rita.clickSubmit(`main form button[type=submit]`)
	rita.waitText("#headline", "You are in the queue")
	rita.truthy("no message yet", `document.getElementById("notices").children.length === 0`)

	const title = `<img src=x onerror=alert(1)> Mail is down`
	now := time.Now().UTC()
	resp, body := postValues(t, e.d, e.admin, "/login/announcements", url.Values{"site": {"1"}, "title": {title}, "text": {"We are on it.\nNext update at noon."},
		"severity": {"outage"}, "start": {now.Add(-time.Minute).Format("2006-01-02T15:04")}, "end": {now.Add(30 * time.Minute).Format("2006-01-02T15:04")}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("publish: %d %s", resp.StatusCode, body)
	}
	// Pushed: Rita's page shows it without a reload, as text.
	rita.waitText("#notices", "Mail is down")
	rita.truthy("shown as an outage", `document.querySelector("#notices .notice-msg.sev-outage h2").textContent === `+js(title))
	if n := eval[int](rita, `document.querySelectorAll("#notices img").length`); n != 0 {
		t.Fatal("the title was taken as markup")
	}
	// And on the site's pages for anyone who opens them.
	home := e.tab()
	home.do("open the site", cdp.Navigate(e.d.Base+"/"))
	home.waitText("#notices", "We are on it.")
	for _, path := range []string{"/login/audit", "/login/announcements", "/login/announcements/1"} {
		_, page := e.admin.Page(path)
		if !strings.Contains(page, "&lt;img src=x onerror=alert(1)&gt; Mail is down") || strings.Contains(page, "<img src=x") {
			t.Fatalf("%s does not show the title literally", path)
		}
	}

	// Past its end it goes by itself.
	e.control("clock 31m")
	e.control("expire")
	rita.truthy("the ended message leaves the waiting page", `document.getElementById("notices").children.length === 0`)
	rita.textIs("#headline", "You are in the queue")
}
