package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	cdp "github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/tools/daemon"
	"github.com/switchboardhq/switchboard/tools/testenv"
)

// mediaDesk starts a daemon with one technician, Ann, on a public site
// that lists technicians, and a Chromium whose screen capture is a fake
// device. It returns the daemon, the browser and Ann's console tab (signed
// in, on /console, live).
// annsDesk starts a daemon with its first administrator, the available
// technician Ann and a public site listing technicians; it returns the
// daemon and Ann's user id.
func annsDesk(t *testing.T) (*daemon.Daemon, string) {
	t.Helper()
	d := daemon.Start(t, daemon.Options{})
	admin := setupAdmin(t, d, "/login", "admin")
	ann := consoleTechnician(t, d, admin, "ann", "Ann Archer")
	if resp, body := postValues(t, d, admin, "/login/sites", url.Values{"name": {"Help"}, "hostnames": {"help.example"},
		"tech_list": {"1"}, "survey_mode": {"issue"}, "ask_name": {"1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create the site: %d %s", resp.StatusCode, body)
	}
	return d, ann
}

func mediaDesk(t *testing.T) (*daemon.Daemon, context.Context, page, string) {
	t.Helper()
	d, ann := annsDesk(t)
	browser := testenv.BrowserWithMedia(t)
	tp := page{t, testenv.NewTab(t, browser)}
	tp.signIn(d.Base, "ann", deskPassword)
	tp.do("open the console", cdp.Navigate(d.Base+"/console"))
	tp.waitText("#queues", "My queue")
	tp.live()
	return d, browser, tp, ann
}

// playing waits until the <video> css shows a picture that moves: it has a
// size, is not paused, and its time advances.
func (p page) playing(css string) (width, height int) {
	p.t.Helper()
	c, _ := json.Marshal(css)
	v := fmt.Sprintf(`document.querySelector(%s)`, c)
	p.truthy(css+" plays", v+` && !`+v+`.hidden && `+v+`.videoWidth > 0 && `+v+`.readyState >= 2 && !`+v+`.paused`)
	t0 := eval[float64](p, v+`.currentTime`)
	p.truthy(css+" moves on", fmt.Sprintf(`%s.currentTime > %v`, v, t0))
	return eval[int](p, v+`.videoWidth`), eval[int](p, v+`.videoHeight`)
}

// retype empties the input id and types text into it.
func (p page) retype(id, text string) {
	p.t.Helper()
	c, _ := json.Marshal(id)
	p.do("type "+text+" into #"+id,
		cdp.Evaluate[cdp.Void](fmt.Sprintf(`document.getElementById(%s).value = ""`, c)),
		cdp.SendKeys(cdp.ID(id), text))
}

// TestBrowserMediaScreenShare: a customer who cannot run the support app
// shares a screen from the browser (Chromium's fake capture device); a
// refused capture is explained; the technician's session page offers the
// share as soon as it arrives and plays it; when the customer stops, the
// technician's picture ends and the offer goes.
func TestBrowserMediaScreenShare(t *testing.T) {
	t.Parallel()
	d, browser, tp, ann := mediaDesk(t)

	cust := page{t, testenv.NewTab(t, browser)}
	cust.do("ask ann for help",
		cdp.Navigate(d.Base+"/start/technician/"+ann),
		cdp.SendKeys(cdp.ID("name"), "Sam Sharer"),
		cdp.Submit(cdp.ID("name")),
	)
	cust.truthy("the customer's session page", `location.pathname === "/session"`)
	if !eval[bool](cust, `document.getElementById("share-box").hidden`) {
		t.Fatal("the customer is offered a screen share before a technician helps")
	}

	mine := `[data-queue="technician-` + ann + `"]`
	tp.waitText(mine+" .session", "Sam Sharer")
	tp.clickSubmit(mine + " button.accept")
	tp.waitText("#s-status", "In progress")
	tp.live()
	if !eval[bool](tp, `document.getElementById("share").hidden`) {
		t.Fatal("the session page offers a shared screen before the customer shares")
	}

	cust.waitText("#status-badge", "In progress")
	cust.truthy("the share button", `!document.getElementById("share-box").hidden && !document.getElementById("share-start").hidden`)
	cust.truthy("no Stop sharing before sharing", `getComputedStyle(document.getElementById("share-stop")).display === "none"`)
	// Capture refused (the customer cancels the browser's picker): the page
	// says what happened and what to do, and offers the button again.
	cust.do("refuse the capture",
		cdp.Evaluate[cdp.Void](`navigator.mediaDevices.getDisplayMedia = () => Promise.reject(new DOMException("Permission denied", "NotAllowedError"))`),
		cdp.Click(cdp.ID("share-start")))
	if msg := cust.waitText("#share-err", "sharing was not allowed"); !strings.Contains(msg, "choose a screen, window or tab") {
		t.Errorf("refused capture: %q", msg)
	}
	cust.truthy("the share button is offered again", `(b => !b.hidden && !b.disabled)(document.getElementById("share-start"))`)
	cust.do("allow the capture", cdp.Evaluate[cdp.Void](`delete navigator.mediaDevices.getDisplayMedia`))

	cust.do("share the screen", cdp.Click(cdp.ID("share-start")))
	cust.waitText("#share-status", "Your technician can see your screen")
	cust.truthy("the error is gone", `document.getElementById("share-err").hidden`)
	cust.truthy("the stop button", `!document.getElementById("share-stop").hidden && getComputedStyle(document.getElementById("share-stop")).display !== "none" && getComputedStyle(document.getElementById("share-start")).display === "none"`)

	// The technician's page offers the share without a reload.
	tp.truthy("the share is offered", `!document.getElementById("share").hidden`)
	tp.do("watch", cdp.Click(cdp.ID("share-watch")))
	w, h := tp.playing("#share-video")
	t.Logf("the technician sees the customer's screen at %dx%d", w, h)
	tp.waitText("#share-watch", "Stop watching")
	tp.screenshot("share-watching")

	// The customer stops: the technician's picture ends.
	cust.do("stop sharing", cdp.Click(cdp.ID("share-stop")))
	cust.waitText("#share-status", "You stopped sharing")
	cust.truthy("the share button is back", `!document.getElementById("share-start").hidden && document.getElementById("share-stop").hidden`)
	tp.truthy("the share is no longer offered", `document.getElementById("share").hidden`)
	tp.truthy("the picture ended", `(v => v.hidden && !v.srcObject)(document.getElementById("share-video"))`)
	tp.waitText("#toasts", "The customer stopped sharing")

	// Sharing again works, and a reload of the technician's page shows it.
	cust.do("share again", cdp.Click(cdp.ID("share-start")))
	cust.waitText("#share-status", "Your technician can see your screen")
	tp.do("reload the session page", cdp.Reload())
	tp.live()
	tp.truthy("the share is offered after a reload", `!document.getElementById("share").hidden`)
	tp.do("watch again", cdp.Click(cdp.ID("share-watch")))
	tp.playing("#share-video")
}

// TestBrowserMediaPresentation: a technician presents a screen from the
// console; three attendees who are not signed in watch it, two with the
// key on /present and one with the link; a wrong key is refused with a
// message and kept in the box; stopping ends it for everyone.
func TestBrowserMediaPresentation(t *testing.T) {
	t.Parallel()
	d, browser, tp, _ := mediaDesk(t)

	// A key before anything is presented is refused.
	early := page{t, testenv.NewTab(t, browser)}
	early.do("open /present", cdp.Navigate(d.Base+"/present"))
	early.do("try a key", cdp.SendKeys(cdp.ID("present-key"), "123 456 789"), cdp.Click(cdp.ID("present-go")))
	early.waitText("#present-err", "No presentation is running with this key")

	tp.truthy("the present card", `!document.getElementById("present").hidden`)
	tp.do("start presenting", cdp.Click(cdp.ID("present-start")))
	tp.waitText("#present-status", "You are presenting")
	key := tp.text("#present-key")
	if !regexp.MustCompile(`^\d{3} \d{3} \d{3}$`).MatchString(key) {
		t.Fatalf("presentation key shown as %q", key)
	}
	link := eval[string](tp, `document.getElementById("present-link").value`)
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(d.Base) + `/p/[A-Za-z0-9_-]{22}$`).MatchString(link) {
		t.Fatalf("presentation link %q", link)
	}
	tp.screenshot("presenting")

	// A wrong key: the message says what to do, the box keeps the typing.
	wrong := "987 654 321"
	if wrong == key {
		wrong = "123 456 789"
	}
	early.retype("present-key", wrong)
	early.truthy("the old error goes while typing", `document.getElementById("present-err").hidden && document.getElementById("present-key").getAttribute("aria-invalid") !== "true"`)
	early.do("join with a wrong key", cdp.Click(cdp.ID("present-go")))
	if msg := early.waitText("#present-err", "No presentation is running with this key"); !strings.Contains(msg, "Check the 9 digits") {
		t.Errorf("wrong key message %q", msg)
	}
	if v := eval[string](early, `document.getElementById("present-key").value`); v != wrong {
		t.Errorf("the key box holds %q after a wrong key, want %q", v, wrong)
	}
	if eval[string](early, `document.getElementById("present-key").getAttribute("aria-invalid")`) != "true" {
		t.Error("the wrong key is not marked invalid")
	}
	early.screenshot("present-wrong-key")

	// Three attendees: the same tab with the right key, another with the
	// key without spaces, one with the link.
	second := page{t, testenv.NewTab(t, browser)}
	second.do("open /present", cdp.Navigate(d.Base+"/present"))
	third := page{t, testenv.NewTab(t, browser)}
	early.retype("present-key", key)
	early.do("join with the key", cdp.Click(cdp.ID("present-go")))
	second.do("the key without spaces", cdp.SendKeys(cdp.ID("present-key"), strings.ReplaceAll(key, " ", "")), cdp.Click(cdp.ID("present-go")))
	third.do("open the link", cdp.Navigate(link))
	// They connect at once; the checks go one by one.
	attendees := []page{early, second, third}
	for i, a := range attendees {
		a.waitText("#present-status", "You are watching the presentation")
		w, h := a.playing("#present-video")
		t.Logf("attendee %d sees %dx%d", i+1, w, h)
	}
	if !eval[bool](third, `document.getElementById("present-form").hidden`) {
		t.Error("the link's attendee is asked for a key")
	}
	third.screenshot("present-attendee")

	// The presenter stops: every attendee is told, and the key is dead.
	tp.do("stop presenting", cdp.Click(cdp.ID("present-stop")))
	tp.truthy("the start button is back", `!document.getElementById("present-start").hidden && document.getElementById("present-live").hidden`)
	for _, a := range attendees {
		a.waitText("#present-status", "The presentation has ended")
		a.truthy("the picture is gone", `(v => v.hidden && !v.srcObject)(document.getElementById("present-video"))`)
	}
	late := page{t, testenv.NewTab(t, browser)}
	late.do("the key after the end", cdp.Navigate(d.Base+"/present"), cdp.SendKeys(cdp.ID("present-key"), key), cdp.Click(cdp.ID("present-go")))
	late.waitText("#present-err", "No presentation is running with this key")
}
