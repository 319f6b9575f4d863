package portal

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/i18n"
)

// getLang fetches path as a browser whose language is accept.
func (c *client) getLang(path, accept string) (int, string) {
	req, _ := http.NewRequest("GET", c.f.srv.URL+path, nil)
	req.Header.Set("Accept-Language", accept)
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestLanguages(t *testing.T) {
	f := newFixture(t)
	st := f.site
	st.Welcome = "Welcome to Acme <script>alert(1)</script>"
	st.Texts = map[string]desk.SiteTexts{"fr": {Welcome: "Bienvenue chez Acme <b>"}, "de": {Agreement: "Wir sehen Ihren Bildschirm."}}
	if _, err := f.desk.SaveSite(ctx, f.admin, st); err != nil {
		t.Fatal(err)
	}
	now := f.desk.Now()
	if _, err := f.desk.SaveAnnouncement(ctx, f.admin, desk.Announcement{Site: f.site.ID, Title: "Mail is down", Severity: desk.SeverityOutage,
		Start: now.Add(-time.Minute), End: now.Add(time.Hour), Texts: map[string]desk.AnnouncementText{"fr": {Title: `<img src=x onerror=alert(1)> Messagerie en panne`}}}); err != nil {
		t.Fatal(err)
	}
	if i18n.T("de", "You are in the queue") == "You are in the queue" {
		t.Fatal("the catalog has no German")
	}
	c := f.customer(t)
	// A French browser gets the French site and the site's French welcome.
	_, page := c.getLang("/", "fr-FR,fr;q=0.9,en;q=0.5")
	if !strings.Contains(page, `<html lang="fr">`) || !strings.Contains(page, i18n.T("fr", "How can we help?")) || !strings.Contains(page, "Bienvenue chez Acme &lt;b&gt;") {
		t.Fatal("a French browser does not get the French home page")
	}
	if !strings.Contains(page, "&lt;img src=x onerror=alert(1)&gt; Messagerie en panne") || strings.Contains(page, "<img src=x") {
		t.Fatal("the French important message is not shown, literally")
	}
	// A German browser gets German words, and the English welcome where
	// no German one is given.
	_, page = c.getLang("/", "de-DE")
	if !strings.Contains(page, `<html lang="de">`) || !strings.Contains(page, "Welcome to Acme &lt;script&gt;") || !strings.Contains(page, "Mail is down") {
		t.Fatal("a German browser does not get the German page with the default welcome")
	}
	// The picker sticks over the browser's language, and is bounded to
	// the languages there are.
	if code, loc, _ := c.post("/language", url.Values{"lang": {"de"}, "next": {"/ios"}}); code != http.StatusSeeOther || loc != "/ios" {
		t.Fatalf("picker: %d %s", code, loc)
	}
	if _, page = c.getLang("/", "fr-FR"); !strings.Contains(page, `<html lang="de">`) {
		t.Fatal("the picked language did not stick")
	}
	if code, _, _ := c.post("/language", url.Values{"lang": {"xx"}}); code != http.StatusBadRequest {
		t.Fatalf("an unknown language: %d", code)
	}
	if _, loc, _ := c.post("/language", url.Values{"lang": {"fr"}, "next": {"//evil.example/"}}); loc != "/" {
		t.Fatalf("the picker went to %q", loc)
	}
	// The session page, its agreement and its errors follow.
	code, _, _ := c.post("/start/technician/2", url.Values{"name": {"Cleo"}, "company": {"Acme"}})
	if code != http.StatusSeeOther {
		t.Fatalf("start: %d", code)
	}
	c.post("/language", url.Values{"lang": {"de"}})
	_, page = c.get("/session")
	if !strings.Contains(page, "Wir sehen Ihren Bildschirm.") || !strings.Contains(page, i18n.T("de", "You are in the queue")) {
		t.Fatal("the German session page lacks the German agreement or status")
	}
	if _, page = c.get("/no/such/page"); !strings.Contains(page, i18n.T("de", "There is nothing at this address.")) {
		t.Fatal("the error page is not in German")
	}
}
