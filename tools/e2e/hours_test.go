package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	cdp "github.com/chromedp/chromedp"
)

// TestBrowserOpeningHours moves the desk clock across the spring DST
// change of New York, then of Paris: outside the site's hours only the
// session key and the closed message show, with when it opens; inside
// them the start methods are back; both sides of each change follow the
// local clock.
func TestBrowserOpeningHours(t *testing.T) {
	t.Parallel()
	e := newDeskEnv(t)
	e.technician("ann", "Ann Archer")
	e.site(url.Values{"tech_list": {"1"}, "survey": {"1"}, "session_key": {"1"}})
	setHours := func(zone string) {
		t.Helper()
		vals := url.Values{"name": {"Help"}, "hostnames": {"help.example"}, "survey_mode": {"issue"}, "ask_name": {"1"},
			"tech_list": {"1"}, "survey": {"1"}, "session_key": {"1"}, "time_zone": {zone}, "closed": {"We are closed <b>now</b>."}}
		for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday"} {
			vals.Set("hours_"+d, "09:00-17:00")
		}
		if resp, body := postValues(t, e.d, e.admin, "/login/sites/1", vals); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("hours: %d %s", resp.StatusCode, body)
		}
	}
	cust := e.tab()
	// moveTo moves the desk clock to at (plus the seconds the test takes).
	var offset time.Duration
	moveTo := func(at time.Time) {
		t.Helper()
		d := time.Until(at) - offset
		offset += d
		e.control("clock " + d.Round(time.Second).String())
	}
	closedAt := func(at time.Time, opens string) {
		t.Helper()
		moveTo(at)
		cust.do("open the site", cdp.Navigate(e.d.Base+"/"))
		cust.waitText("#closed", "We are closed <b>now</b>.")
		cust.waitText("#opens", opens)
		cust.truthy("only the session key", `!!document.querySelector("form[action='/start/key']") && !document.querySelector("form[action='/start/survey']") && !document.querySelector(".tech-list")`)
	}
	openAt := func(at time.Time) {
		t.Helper()
		moveTo(at)
		cust.do("open the site", cdp.Navigate(e.d.Base+"/"))
		cust.truthy("the survey is back", `!!document.querySelector("form[action='/start/survey']") && !document.getElementById("closed")`)
	}
	utc := func(s string) time.Time { v, _ := time.Parse("2006-01-02 15:04", s); return v }

	setHours("America/New_York")
	// 08:30 EST on Friday, before the change: closed until 09:00.
	closedAt(utc("2027-03-12 13:30"), "Friday 12 March, 09:00 (America/New_York)")
	// 09:30 EDT on Monday after it (08:30 by the winter clock).
	openAt(utc("2027-03-15 13:30"))
	// 17:30 EDT the same day: closed until Tuesday.
	closedAt(utc("2027-03-15 21:30"), "Tuesday 16 March, 09:00 (America/New_York)")

	setHours("Europe/Paris")
	// 08:30 CET on Friday before Paris changes: closed until 09:00.
	closedAt(utc("2027-03-26 07:30"), "Friday 26 March, 09:00 (Europe/Paris)")
	// 09:30 CEST on Monday after it.
	openAt(utc("2027-03-29 07:30"))
	// A POST to a hidden start method while closed is refused.
	closedAt(utc("2027-03-29 15:30"), "Tuesday 30 March, 09:00 (Europe/Paris)")
	resp, _ := e.d.NewClient().Post("/start/survey", map[string]string{"name": "Cleo"})
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("a survey posted while closed: %d", resp.StatusCode)
	}
}
