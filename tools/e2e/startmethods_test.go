package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	cdppage "github.com/chromedp/cdproto/page"
	cdp "github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/tools/daemon"
	"github.com/switchboardhq/switchboard/tools/testenv"
)

// deskEnv is one daemon with its first administrator, set up through
// /login as a person would, and one browser whose tabs are the customers
// and the technicians.
type deskEnv struct {
	t       *testing.T
	d       *daemon.Daemon
	admin   *daemon.Client
	browser context.Context
}

func newDeskEnv(t *testing.T) *deskEnv {
	t.Helper()
	d := daemon.Start(t, daemon.Options{})
	return &deskEnv{t: t, d: d, admin: setupAdmin(t, d, "/login", "admin"), browser: testenv.Browser(t)}
}

// create posts an administration form and returns the id the answer's
// address ends with ("/login/channels?done=created#channel-3" → "3").
func (e *deskEnv) create(path string, vals url.Values) string {
	e.t.Helper()
	resp, body := postValues(e.t, e.d, e.admin, path, vals)
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("create at %s: %d %s", path, resp.StatusCode, body)
	}
	loc := resp.Header.Get("Location")
	return loc[strings.LastIndex(loc, "-")+1:]
}

// technicianPerms are the technician role's default permissions that
// these tests use; technician adds to them.
var technicianPerms = []string{"start-sessions", "take-from-queues", "session-keys", "support-links",
	"transfer-technician", "transfer-channel", "invite"}

// technician adds an available technician with the role's permissions
// plus extra, and returns its user id.
func (e *deskEnv) technician(username, name string, extra ...string) string {
	e.t.Helper()
	id := consoleTechnician(e.t, e.d, e.admin, username, name)
	if len(extra) > 0 {
		resp, body := postValues(e.t, e.d, e.admin, "/login/technicians/"+id, url.Values{
			"private_name": {name}, "public_name": {strings.Fields(name)[0]}, "display_number": {id},
			"availability": {"available"}, "role": {"technician"}, "perms": append(append([]string{}, technicianPerms...), extra...),
		})
		if resp.StatusCode != http.StatusSeeOther {
			e.t.Fatalf("permissions of %s: %d %s", username, resp.StatusCode, body)
		}
	}
	return id
}

// channel creates a channel served by techs and returns its id.
func (e *deskEnv) channel(name string, expiryMinutes int, techs ...string) string {
	e.t.Helper()
	return e.create("/login/channels", url.Values{"name": {name}, "expiry_minutes": {fmt.Sprint(expiryMinutes)}, "technicians": techs})
}

// site creates the public site: the fields of vals on top of a name, a
// host name and no start method but the classic SOS code.
func (e *deskEnv) site(vals url.Values) {
	e.t.Helper()
	form := url.Values{"name": {"Help"}, "hostnames": {"help.example"}, "survey_mode": {"issue"}, "ask_name": {"1"}}
	for k, v := range vals {
		form[k] = v
	}
	e.create("/login/sites", form)
}

// tab opens a tab with its own cookies: a customer's browser.
func (e *deskEnv) tab() page {
	return page{e.t, testenv.NewTab(e.t, e.browser)}
}

// console signs username in on a tab of its own and opens its live console.
func (e *deskEnv) console(username string) page {
	e.t.Helper()
	p := e.tab()
	p.signIn(e.d.Base, username, deskPassword)
	p.openConsole(e.d.Base)
	return p
}

func (p page) openConsole(base string) {
	p.t.Helper()
	p.do("open the console", cdp.Navigate(base+"/console"))
	p.waitText("#queues", "My queue")
	p.live()
}

// control sends a command to the daemon's control socket.
func (e *deskEnv) control(cmd string) {
	e.t.Helper()
	answer, err := e.d.Control(cmd)
	if err != nil {
		e.t.Fatalf("control %q: %v", cmd, err)
	}
	e.t.Logf("control %q: %s", cmd, answer)
}

// js quotes s for a JavaScript expression.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// textIs waits until the trimmed text of the first element matching css
// is exactly want.
func (p page) textIs(css, want string) {
	p.t.Helper()
	p.truthy(fmt.Sprintf("%s reads %q", css, want),
		fmt.Sprintf(`(document.querySelector(%s) || {textContent: ""}).textContent.trim() === %s`, js(css), js(want)))
}

// count returns how many elements match css.
func (p page) count(css string) int {
	p.t.Helper()
	return eval[int](p, `document.querySelectorAll(`+js(css)+`).length`)
}

// noMarkup fails if typed text became elements under any of the scopes.
func (p page) noMarkup(scopes ...string) {
	p.t.Helper()
	var sel []string
	for _, s := range scopes {
		for _, tag := range []string{"script", "img", "b", "a[href^=javascript]"} {
			sel = append(sel, s+" "+tag)
		}
	}
	if n := p.count(strings.Join(sel, ", ")); n != 0 {
		p.fail("typed text stays text", fmt.Errorf("%d elements made of typed text under %v", n, scopes))
	}
}

// value returns the value of the form control id.
func (p page) value(id string) string {
	p.t.Helper()
	return eval[string](p, `document.getElementById(`+js(id)+`).value`)
}

// served fetches path as the tab's user and returns the text of css in the
// HTML the server sent, parsed without running it: the page as a browser
// without JavaScript shows it.
func (p page) served(path, css string) string {
	p.t.Helper()
	expr := fmt.Sprintf(`fetch(%s, {credentials: "same-origin"}).then(r => r.text()).then(h => {
		const e = new DOMParser().parseFromString(h, "text/html").querySelector(%s);
		return e ? e.textContent.trim() : "(no " + %s + " in the page)";
	})`, js(path), js(css), js(css))
	s, err := cdp.Run(p.ctx, cdp.Evaluate[string](expr, cdp.EvalAwaitPromise))
	if err != nil {
		p.fail("fetch "+path, err)
	}
	return s
}

// watchDialogs records every JavaScript dialog (alert, confirm, prompt)
// the tab opens from now on, dismissing it so the page goes on. The
// returned check fails the test if there was one; it also runs when the
// test ends.
func (p page) watchDialogs() (check func()) {
	var (
		mu   sync.Mutex
		seen []string
	)
	events := cdp.Events(p.ctx, cdppage.JavascriptDialogOpening)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			mu.Lock()
			seen = append(seen, fmt.Sprintf("%s(%q) on %s", ev.Type, ev.Message, ev.URL))
			mu.Unlock()
			go cdp.Call(p.ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	check = func() {
		p.t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if len(seen) > 0 {
			p.t.Errorf("typed text ran as script: the page opened %d dialogs: %v", len(seen), seen)
			seen = nil
		}
	}
	p.t.Cleanup(check)
	return check
}

// TestBrowserIssueSurvey: a customer picks an issue type in the survey and
// answers its fields, a custom one included; the session waits in the
// issue type's channel, where the technician who serves it sees the
// answers live, and nowhere else. The technician accepts; both see the
// session active.
func TestBrowserIssueSurvey(t *testing.T) {
	t.Parallel()
	e := newDeskEnv(t)
	ann := e.technician("ann", "Ann Archer")
	bob := e.technician("bob", "Bob Baker")
	printers := e.channel("Printers", 60, ann)
	network := e.channel("Network", 60, bob)
	jam := e.create("/login/issue-types", url.Values{"name": {"Printer jam"}, "code_name": {"printer"}, "priority": {"1"}, "channel": {printers}})
	e.create("/login/issue-types", url.Values{"name": {"No network"}, "code_name": {"network"}, "priority": {"2"}, "channel": {network}})
	e.site(url.Values{"survey": {"1"}, "ask_company": {"1"}, "ask_description": {"1"},
		"custom_rows": {"1"}, "custom_label_0": {"Serial number"}, "custom_max_0": {"40"}, "custom_required_0": {"1"}})

	tp := e.console("ann")
	bp := e.console("bob")
	queue := `[data-queue="channel-` + printers + `"]`
	tp.textIs(queue+" .count", "0 waiting")

	cust := e.tab()
	cust.do("open the public site", cdp.Navigate(e.d.Base+"/"))
	cust.waitText("#survey-h", "Describe your issue")
	if got := eval[string](cust, `[...document.querySelectorAll("#issue_type option")].map(o => o.textContent).join("|")`); got != "Choose…|Printer jam|No network" {
		t.Fatalf("the survey offers %q", got)
	}
	cust.do("answer the survey",
		cdp.SetValue(cdp.ID("issue_type"), jam),
		cdp.SendKeys(cdp.ID("name"), "Sue Survey"),
		cdp.SendKeys(cdp.ID("company"), "Acme Paper"),
		cdp.SendKeys(cdp.ID("custom_0"), "SN-4711"),
		cdp.SendKeys(cdp.ID("description"), "Paper jam in tray 2"),
	)
	cust.clickSubmit(`form[action="/start/survey"] button[type=submit]`)
	cust.waitText("#headline", "You are in the queue")
	cust.waitText("#detail", "You are number 1")
	cust.textIs("#status-badge", "In the queue")

	// Ann sees the customer, with the answers, in the channel's queue.
	row := tp.waitText(queue+" .session", "Sue Survey")
	for _, want := range []string{"In the queue", "Issue survey", "in Printers", "Acme Paper", "Paper jam in tray 2"} {
		if !strings.Contains(row, want) {
			t.Errorf("the queue row lacks %q: %q", want, row)
		}
	}
	tp.textIs(queue+" .answers dt", "Serial number")
	tp.textIs(queue+" .answers dd", "SN-4711")
	tp.textIs(queue+" .count", "1 waiting")
	tp.waitText("#toasts", "New customer in Printers: Sue Survey (Acme Paper)")
	// Bob serves the other channel only: he has no queue of Printers and
	// heard nothing.
	if bp.count(queue) != 0 || strings.Contains(bp.text("#queues"), "Sue Survey") || bp.count("#toasts .toast") != 0 {
		t.Fatalf("bob sees the Printers customer: %q", bp.text("#queues"))
	}
	bp.textIs(`[data-queue="channel-`+network+`"] .count`, "0 waiting")

	// A second customer queues behind Sue.
	cust2 := e.tab()
	cust2.do("open the public site", cdp.Navigate(e.d.Base+"/"))
	cust2.do("answer the survey", cdp.SetValue(cdp.ID("issue_type"), jam), cdp.SendKeys(cdp.ID("name"), "Tom Second"), cdp.SendKeys(cdp.ID("custom_0"), "SN-1"))
	cust2.clickSubmit(`form[action="/start/survey"] button[type=submit]`)
	cust2.waitText("#detail", "You are number 2")
	cust2.truthy("mark the page", `(window.__mark = 1) === 1`)
	tp.textIs(queue+" .count", "2 waiting")

	// Ann accepts: her session page shows the survey; the customer sees her.
	tp.clickSubmit(queue + " button.accept")
	tp.waitText("#s-status", "In progress")
	tp.waitText("#customer", "SN-4711")
	if facts := tp.text("#customer"); !strings.Contains(facts, "Serial number") || !strings.Contains(facts, "Acme Paper") || !strings.Contains(facts, "Paper jam in tray 2") {
		t.Errorf("the session page's customer facts: %q", facts)
	}
	tp.waitText(".session-meta", "Issue survey · in Printers")
	tp.live()
	cust.textIs("#status-badge", "In progress")
	cust.textIs("#headline", "Ann is helping you")
	// The one behind moved up, live, without reloading.
	cust2.waitText("#detail", "You are number 1")
	cust2.truthy("the page was not reloaded", `window.__mark === 1`)
	// Customers see the public name only.
	if page := cust.text("body"); strings.Contains(page, "Archer") {
		t.Fatalf("the customer's page shows the private name:\n%s", page)
	}
	tp.do("back to the queues", cdp.Navigate(e.d.Base+"/console"))
	tp.live()
	tp.textIs(queue+" .count", "1 waiting")
	tp.waitText(`[data-queue="working"] .session`, "Sue Survey")
}

// TestBrowserSOSCall: a technician creates an SOS Call link for its
// channel; a customer opens it and asks for help with a name and the
// issue, and lands in that channel's queue. Paused, the link keeps what a
// customer typed and says it is paused; resumed it works again; deleted
// it is no longer valid, and sessions it started stay.
func TestBrowserSOSCall(t *testing.T) {
	t.Parallel()
	e := newDeskEnv(t)
	ann := e.technician("ann", "Ann Archer", "sos-links")
	field := e.channel("Field service", 60, ann)
	e.site(url.Values{"sos_call": {"1"}, "survey": {"1"}, "ask_company": {"1"}, "custom_rows": {"1"}, "custom_label_0": {"Asset tag"}, "custom_max_0": {"40"}})

	tp := e.console("ann")
	if eval[string](tp, `document.getElementById("sos-channel").value`) != field {
		t.Fatalf("the SOS Call form does not offer Field service")
	}
	tp.do("name the SOS Call link", cdp.SendKeys(cdp.ID("sos-label"), "Branch office"))
	tp.clickSubmit(`form[action="/console/sos"] button[type=submit]`)
	tp.waitText("#result-title", "SOS Call link")
	sosURL := tp.text("#result-url")
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(e.d.Base) + `/sos/[A-Za-z0-9_-]{22}$`).MatchString(sosURL) {
		t.Fatalf("SOS Call link %q", sosURL)
	}
	tp.waitText(".sos-links", "Branch office → Field service")
	tp.openConsole(e.d.Base)

	// The short form: a name and the issue, nothing of the site's survey.
	cust := e.tab()
	cust.do("open the SOS Call link", cdp.Navigate(sosURL))
	cust.waitText("main h1", "Request help")
	if cust.count("#company, #custom_0") != 0 || cust.count("#name, #description") != 2 {
		t.Fatalf("the SOS Call form asks for more than a name and the issue: %q", cust.text("form"))
	}
	cust.do("ask for help",
		cdp.SendKeys(cdp.ID("name"), "Sam Sos"),
		cdp.SendKeys(cdp.ID("description"), "The till does not start"),
	)
	cust.clickSubmit(`main form button[type=submit]`)
	cust.waitText("#headline", "You are in the queue")

	queue := `[data-queue="channel-` + field + `"]`
	row := tp.waitText(queue+" .session", "Sam Sos")
	for _, want := range []string{"In the queue", "SOS Call", "in Field service", "The till does not start"} {
		if !strings.Contains(row, want) {
			t.Errorf("the queue row lacks %q: %q", want, row)
		}
	}
	tp.waitText("#toasts", "New customer in Field service: Sam Sos")

	// Paused: the customer is told so at once; a form already open keeps
	// what was typed when it is sent.
	tp.clickSubmit(`.sos-links form[action$="/pause"] button`)
	tp.waitText(".flash", "The SOS Call link is paused")
	tp.waitText(".sos-links", "Paused")
	second := e.tab()
	second.do("open the paused link", cdp.Navigate(sosURL))
	if second.askSOS("Pat Paused", "Screen is dark") {
		second.waitText("#name-err", "This help link is paused for now. Try again later")
		if name, desc := second.value("name"), second.value("description"); name != "Pat Paused" || desc != "Screen is dark" {
			t.Fatalf("the paused form lost what was typed: %q, %q", name, desc)
		}
	}
	second.waitText("main", "This help link is paused for now.")

	// Resumed: the link works again.
	tp.clickSubmit(`.sos-links form[action$="/resume"] button`)
	tp.waitText(".flash", "The SOS Call link works again")
	tp.live()
	second.do("open the resumed link", cdp.Navigate(sosURL))
	if !second.askSOS("Pat Paused", "Screen is dark") {
		t.Fatal("the resumed SOS Call link shows no form")
	}
	second.waitText("#headline", "You are in the queue")
	tp.waitText(queue+" .session:last-child", "Pat Paused")
	tp.textIs(queue+" .count", "2 waiting")

	// Deleted: the address is invalid; its sessions stay in the queue.
	tp.clickSubmit(`.sos-links form[action$="/delete"] button`)
	tp.waitText(".flash", "The SOS Call link is deleted")
	tp.waitText("#t-sos + p", "No SOS Call link yet.")
	tp.live()
	third := e.tab()
	third.do("open the deleted link", cdp.Navigate(sosURL))
	third.askSOS("Dee Deleted", "Nothing works")
	third.waitText(".error-page", "This help link is no longer valid.")
	third.waitText(".error-page", "Ask your help desk for a current link.")
	tp.textIs(queue+" .count", "2 waiting")
	if q := tp.text(queue); !strings.Contains(q, "Sam Sos") || strings.Contains(q, "Dee Deleted") {
		t.Fatalf("the channel's queue after the delete: %q", q)
	}
}

// askSOS fills in and sends the SOS Call form if the page shows it, and
// tells whether it did.
func (p page) askSOS(name, issue string) bool {
	p.t.Helper()
	if p.count("main form #name") == 0 {
		return false
	}
	p.do("fill in the SOS Call form", cdp.SetValue(cdp.ID("name"), name), cdp.SetValue(cdp.ID("description"), issue))
	p.clickSubmit(`main form button[type=submit]`)
	return true
}

// TestBrowserSupportLink: a technician creates a support link for a
// channel; the session waits for the customer; opening the link makes it
// ready on both sides; the link stays with the first browser, another one
// is told it is in use; after close the link shows that the session ended.
func TestBrowserSupportLink(t *testing.T) {
	t.Parallel()
	e := newDeskEnv(t)
	ann := e.technician("ann", "Ann Archer")
	tier1 := e.channel("Tier 1", 60, ann)
	// The site shows an agreement: a link's session takes the site's
	// rules once the customer opens it.
	e.site(url.Values{"tech_list": {"1"}, "agreement": {"We may see your screen."}})

	tp := e.console("ann")
	tp.do("choose the channel", cdp.SetValue(cdp.ID("link-queue"), "channel-"+tier1))
	tp.clickSubmit("#make-link")
	tp.waitText("#result-title", "Support link")
	link := tp.text("#result-url")
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(e.d.Base) + `/l/[A-Za-z0-9_-]{22}$`).MatchString(link) {
		t.Fatalf("support link %q", link)
	}
	tp.openConsole(e.d.Base)
	queue := `[data-queue="channel-` + tier1 + `"]`
	row := tp.waitText(queue+" .session", "Not opened yet")
	for _, want := range []string{"Support link", "in Tier 1", "Customer without a name"} {
		if !strings.Contains(row, want) {
			t.Errorf("the waiting link's row lacks %q: %q", want, row)
		}
	}
	tp.textIs(queue+" .count", "0 waiting")
	tp.textIs(queue+" .total", "1 open")
	if tp.count(queue+" button.accept") != 0 {
		t.Fatal("a session nobody opened yet can be accepted")
	}

	// The customer opens it: ready on both sides.
	cust := e.tab()
	cust.do("open the support link", cdp.Navigate(link))
	cust.waitText("main h1", "Join your support session")
	tp.textIs(queue+" .count", "0 waiting") // opening the address binds nothing
	cust.do("join", cdp.Click(cdp.ID("join")))
	cust.waitText("#headline", "You are in the queue")
	cust.textIs("#status-badge", "In the queue, not agreed yet")
	cust.waitText("#agreement", "We may see your screen.")
	tp.textIs(queue+" .session .status", "In the queue, not agreed yet")
	tp.textIs(queue+" .count", "1 waiting")
	tp.waitText("#toasts", "New customer in Tier 1: A customer")
	// Accept explains itself and waits for the agreement.
	tp.waitText(queue+" .agree-wait", "has not accepted the site's agreement yet")
	tp.truthy("accept waits", `document.querySelector('`+queue+` button.accept').disabled`)
	cust.clickSubmit(`#agreement button[value="agree"]`)
	cust.textIs("#status-badge", "In the queue")
	tp.textIs(queue+" .session .status", "In the queue")
	tp.truthy("accept is possible", `!document.querySelector('`+queue+` button.accept').disabled`)
	// The same browser may open it again; another device may not.
	cust.do("open the link again", cdp.Navigate(link))
	cust.waitText("#headline", "You are in the queue")
	other := e.tab()
	other.do("open the link elsewhere", cdp.Navigate(link))
	other.waitText(".error-page", "This support link is already in use on another device.")
	tp.textIs(queue+" .count", "1 waiting")

	// Accepted, then closed: the customer's page ends, and so does the link.
	tp.clickSubmit(queue + " button.accept")
	tp.waitText("#s-status", "In progress")
	tp.live()
	cust.textIs("#status-badge", "In progress")
	tp.clickSubmit("#close")
	tp.waitText(".flash", "The session is closed")
	cust.waitText("#headline", "This session has ended")
	cust.textIs("#status-badge", "Ended")
	if cust.count("#chat-form") != 0 {
		t.Fatal("the ended session still offers the chat")
	}
	cust.do("open the link after the close", cdp.Navigate(link))
	cust.waitText("#headline", "This session has ended")
	other.do("open the link elsewhere after the close", cdp.Navigate(link))
	other.waitText(".error-page", "already in use on another device")
	tp.openConsole(e.d.Base)
	tp.textIs(queue+" .total", "0 open")
}

// TestBrowserClassicSOSCode: a customer starts with nothing and reads the
// 9-digit code shown to a technician, who enters it in the console; the
// session moves to the technician's personal queue and the customer sees
// it waits there. A wrong or used code is refused, keeping the digits.
func TestBrowserClassicSOSCode(t *testing.T) {
	t.Parallel()
	e := newDeskEnv(t)
	ann := e.technician("ann", "Ann Archer")
	e.site(url.Values{"session_key": {"1"}})

	tp := e.console("ann")
	mine := `[data-queue="technician-` + ann + `"]`

	cust := e.tab()
	cust.do("ask for a code", cdp.Navigate(e.d.Base+"/"), cdp.SendKeys(cdp.ID("code-name"), "Carl Code"))
	cust.clickSubmit(`form[action="/start/code"] button`)
	cust.waitText("#headline", "Read this code to your technician")
	code := cust.text("#code")
	if !regexp.MustCompile(`^\d{3} \d{3} \d{3}$`).MatchString(code) {
		t.Fatalf("the customer is shown %q", code)
	}
	// Nobody's queue has it until it is claimed.
	tp.textIs(mine+" .count", "0 waiting")
	if strings.Contains(tp.text("#queues"), "Carl Code") {
		t.Fatal("an unclaimed code is in ann's console")
	}

	// A wrong code: the message, and the digits stay in the box.
	wrong := code[:len(code)-1] + fmt.Sprint((code[len(code)-1]-'0'+1)%10)
	tp.do("enter a wrong code", cdp.SendKeys(cdp.ID("code"), wrong))
	tp.clickSubmit(`form[action="/console/claim"] button`)
	tp.waitText("#code-err", "No waiting customer has this code. Check the digits with the customer.")
	if v := tp.value("code"); v != wrong {
		t.Fatalf("the claim form shows %q again, want %q", v, wrong)
	}

	// The right code, as read over the phone.
	tp.do("enter the code", cdp.SetValue(cdp.ID("code"), code))
	tp.clickSubmit(`form[action="/console/claim"] button`)
	tp.waitText("main h1", "Session with Carl Code")
	tp.waitText(".session-meta", "Classic SOS code · in My queue")
	tp.textIs("#s-status", "In the queue")
	tp.waitText("#trail", "Ann Archer claimed the classic SOS code")
	cust.waitText("#headline", "You are in the queue")
	cust.waitText("#detail", "You are number 1")
	cust.truthy("the claimed code is no longer shown", `!document.getElementById("code") || document.getElementById("code").hidden`)
	if got := cust.served("/session", "#headline"); got != "You are in the queue" {
		t.Fatalf("the customer's page from the server: %q", got)
	}

	tp.openConsole(e.d.Base)
	row := tp.waitText(mine+" .session", "Carl Code")
	if !strings.Contains(row, "Classic SOS code") || !strings.Contains(row, "In the queue") {
		t.Fatalf("the claimed session's row: %q", row)
	}
	tp.textIs(mine+" .count", "1 waiting")

	// The code is used up.
	tp.do("enter the code again", cdp.SetValue(cdp.ID("code"), code))
	tp.clickSubmit(`form[action="/console/claim"] button`)
	tp.waitText("#code-err", "No waiting customer has this code")
	tp.live()

	tp.clickSubmit(mine + " button.accept")
	tp.waitText("#s-status", "In progress")
	cust.textIs("#headline", "Ann is helping you")
}

// TestBrowserExpiry moves the appliance's clock past a channel's expiry:
// a support link nobody opened expires and leaves the console, and its
// address says the session has ended; later a customer nobody took ends
// with that message and leaves the queue. Both are in the history.
func TestBrowserExpiry(t *testing.T) {
	t.Parallel()
	e := newDeskEnv(t)
	ann := e.technician("ann", "Ann Archer")
	tier1 := e.channel("Tier 1", 30, ann)
	e.site(url.Values{"tech_list": {"1"}})

	tp := e.console("ann")
	tp.do("choose the channel", cdp.SetValue(cdp.ID("link-queue"), "channel-"+tier1))
	tp.clickSubmit("#make-link")
	link := tp.text("#result-url")
	tp.openConsole(e.d.Base)
	channel := `[data-queue="channel-` + tier1 + `"]`
	mine := `[data-queue="technician-` + ann + `"]`
	tp.waitText(channel+" .session", "Not opened yet")

	// A customer waits in Ann's queue (an hour) meanwhile.
	rita := e.tab()
	rita.do("ask ann for help", cdp.Navigate(e.d.Base+"/start/technician/"+ann), cdp.SendKeys(cdp.ID("name"), "Rita Ready"))
	rita.clickSubmit(`main form button[type=submit]`)
	rita.waitText("#headline", "You are in the queue")
	tp.waitText(mine+" .session", "Rita Ready")
	tp.textIs(mine+" .count", "1 waiting")

	// Past the channel's 30 minutes: the link expires, Rita still waits.
	e.control("clock 31m")
	e.control("expire")
	tp.truthy("the expired link leaves the console", `document.querySelectorAll('`+channel+` .session').length === 0`)
	tp.textIs(channel+" .total", "0 open")
	tp.textIs(mine+" .count", "1 waiting")
	late := e.tab()
	late.do("open the expired link", cdp.Navigate(link))
	late.waitText("#headline", "This session has ended")
	late.waitText("#detail", "Nobody could take your request in time.")
	late.textIs("#status-badge", "Expired")
	rita.textIs("#headline", "You are in the queue")

	// Past the personal queue's hour: Rita's session ends on her page.
	e.control("clock 30m")
	e.control("expire")
	rita.waitText("#headline", "This session has ended")
	rita.waitText("#detail", "Nobody could take your request in time.")
	rita.textIs("#status-badge", "Expired")
	if rita.count("#chat-form") != 0 {
		t.Fatal("the expired session still offers the chat")
	}
	tp.truthy("the expired session leaves the queue", `document.querySelectorAll('`+mine+` .session').length === 0`)
	tp.textIs(mine+" .count", "0 waiting")
	tp.truthy("the title counts nobody", `!/^\(\d+\) /.test(document.title)`)
	if got := tp.served("/console", mine+" .sessions"); got != "" {
		t.Fatalf("the console from the server still lists %q", got)
	}

	tp.do("open the history", cdp.Navigate(e.d.Base+"/console/history"))
	list := tp.text("#history")
	if strings.Count(list, "Expired") != 2 || !strings.Contains(list, "Rita Ready") {
		t.Fatalf("the history: %q", list)
	}
	tp.do("open rita's record", cdp.Click(cdp.CSS(`#history a.c-name`)))
	tp.waitText("#trail", "The session expired: nobody accepted it in time")
}

// Untrusted text: markup, template actions and template literals, which
// must reach every page as the characters typed.
const (
	evilName    = `<script>alert(1)</script> {{.}} ${7*7} Eve`
	evilCompany = `{{.Secret}} & "Sons" <img src=x onerror=alert(2)>`
	evilAsset   = `${7*7} <b>A-42</b> {{template "x"}}`
	evilDesc    = `It says <img src=x onerror=alert(3)> and {{.}} and ${7*7}`
	evilChat    = `<script>alert(4)</script><img src=x onerror=alert(5)> {{.}} ${7*7}`
	evilReply   = `Try <a href="javascript:alert(6)">this</a> {{.Name}} ${7*7}`
)

// TestBrowserUntrustedText feeds hostile text through every field a
// customer types and the chat of both sides: 10 KB is refused next to each
// field with the limit, keeping what was typed; invalid UTF-8 is refused;
// markup, {{.}} and ${7*7} appear literally in the console's queue and
// toast, the session pages of both sides, the history and its transcript,
// in the live pages and in the HTML the server sends, and no script runs.
func TestBrowserUntrustedText(t *testing.T) {
	t.Parallel()
	e := newDeskEnv(t)
	ann := e.technician("ann", "Ann Archer")
	e.site(url.Values{"tech_list": {"1"}, "ask_company": {"1"}, "ask_description": {"1"},
		"custom_rows": {"1"}, "custom_label_0": {"Asset tag"}, "custom_max_0": {"100"}})

	tp := e.console("ann")
	tpDialogs := tp.watchDialogs()
	mine := `[data-queue="technician-` + ann + `"]`
	cust := e.tab()
	custDialogs := cust.watchDialogs()

	// Invalid UTF-8 is refused before anything is stored.
	resp, body := e.d.NewClient().Post("/start/technician/"+ann, map[string]string{"name": "Ivy \xff\xfe"})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not valid UTF-8") {
		t.Fatalf("invalid UTF-8: %d %s", resp.StatusCode, body)
	}

	// 10 KB in a field is refused next to it with its limit, and the form
	// keeps it; 10 KB in all four is more than a form may send at all.
	long := strings.Repeat("<b>{{.}}${7*7}</b>", 10<<10/18+1)[:10<<10]
	start := e.d.Base + "/start/technician/" + ann
	for _, f := range []struct{ id, err, msg string }{
		{"name", "#name-err", "Please keep this under 100 characters."},
		{"company", "#company-err", "Please keep this under 100 characters."},
		{"custom_0", "#custom_0 ~ .error", "Please keep this under 100 characters."},
		{"description", "#desc-err", "Please keep this under 2000 characters."},
	} {
		cust.do("type 10 KB in "+f.id, cdp.Navigate(start), cdp.SetValue(cdp.ID("name"), "Eve"), cdp.SetValue(cdp.ID(f.id), long))
		cust.clickSubmit(`main form button[type=submit]`)
		cust.waitText(f.err, f.msg)
		if v := cust.value(f.id); v != long {
			t.Errorf("%s kept %d bytes of the 10 KB typed", f.id, len(v))
		}
	}
	cust.do("type 10 KB everywhere", cdp.Navigate(start),
		cdp.SetValue(cdp.ID("name"), long), cdp.SetValue(cdp.ID("company"), long),
		cdp.SetValue(cdp.ID("custom_0"), long), cdp.SetValue(cdp.ID("description"), long))
	cust.clickSubmit(`main form button[type=submit]`)
	cust.waitText(".error-page", "What you sent is larger than the 65536 bytes this page accepts.")
	if tp.count(mine+" .session") != 0 {
		t.Fatal("a refused form started a session")
	}

	cust.do("open the form again", cdp.Navigate(start))
	cust.do("type hostile text",
		cdp.SetValue(cdp.ID("name"), evilName),
		cdp.SetValue(cdp.ID("company"), evilCompany),
		cdp.SetValue(cdp.ID("custom_0"), evilAsset),
		cdp.SetValue(cdp.ID("description"), evilDesc),
	)
	cust.clickSubmit(`main form button[type=submit]`)
	cust.waitText("#headline", "You are in the queue")

	// The console's queue and its toast.
	tp.waitText(mine+" .session", evilName)
	tp.textIs(mine+" .c-name", evilName)
	tp.textIs(mine+" .c-company", evilCompany)
	tp.textIs(mine+" .c-desc", evilDesc)
	tp.textIs(mine+" .answers dd", evilAsset)
	tp.waitText("#toasts", "New customer in My queue: "+evilName+" ("+evilCompany+")")
	tp.noMarkup("#queues", "#toasts")
	if got := tp.served("/console", mine+" .c-name"); got != evilName {
		t.Errorf("the console from the server shows the name as %q", got)
	}

	// The technician's session page and chat both ways.
	tp.clickSubmit(mine + " button.accept")
	tp.waitText("#s-status", "In progress")
	tp.live()
	tp.textIs("main h1 .c-name", evilName)
	tp.textIs("#customer .c-company", evilCompany)
	tp.textIs("#customer .c-desc", evilDesc)
	tp.waitText("#customer", evilAsset)
	cust.textIs("#status-badge", "In progress")
	cust.do("the customer writes", cdp.SetValue(cdp.ID("text"), evilChat))
	cust.clickSubmit(`#chat-form button[type=submit]`)
	cust.textIs("#messages .msg:last-child .text", evilChat)
	tp.textIs("#messages .msg:last-child .msg-text", evilChat)
	tp.do("ann replies", cdp.SetValue(cdp.ID("text"), evilReply))
	tp.clickSubmit(`#chat-form button[type=submit]`)
	tp.textIs("#messages .msg:last-child .msg-text", evilReply)
	cust.textIs("#messages .msg:last-child .text", evilReply)
	tp.noMarkup("main")
	cust.noMarkup("#messages")
	sessionPath := strings.TrimPrefix(tp.location(), e.d.Base)
	if got := tp.served(sessionPath, "#customer .c-name"); got != evilName {
		t.Errorf("the session page from the server shows the name as %q", got)
	}
	if got := tp.served(sessionPath, "#messages .msg:last-child .msg-text"); got != evilReply {
		t.Errorf("the session page from the server shows the reply as %q", got)
	}
	if got := cust.served("/session", "#messages .msg:first-child .text"); got != evilChat {
		t.Errorf("the customer's page from the server shows its message as %q", got)
	}

	// 10 KB of chat is refused on both sides, and stays in the box.
	cust.do("the customer writes 10 KB", cdp.SetValue(cdp.ID("text"), long))
	cust.clickSubmit(`#chat-form button[type=submit]`)
	cust.waitText("#text-err", "The message could not be sent: keep it under 2000 characters of plain text.")
	if v := cust.value("text"); v != long {
		t.Errorf("the customer's chat box kept %d bytes of the 10 KB typed", len(v))
	}
	tp.do("ann writes 10 KB", cdp.SetValue(cdp.ID("text"), long))
	tp.clickSubmit(`#chat-form button[type=submit]`)
	tp.waitText("#text-err", "Keep messages under 2000 characters; send long text in parts.")
	if v := tp.value("text"); v != long {
		t.Errorf("ann's chat box kept %d bytes of the 10 KB typed", len(v))
	}
	if n := tp.count("#messages .msg"); n != 2 {
		t.Errorf("%d messages after the refused ones, want 2", n)
	}

	// Closed: the history's list, record and transcript.
	tp.clickSubmit("#close")
	tp.waitText(".flash", "The session is closed")
	cust.waitText("#headline", "This session has ended")
	cust.textIs("#messages .msg:first-child .text", evilChat)
	tp.do("search the history", cdp.Navigate(e.d.Base+"/console/history?customer=Eve"))
	tp.textIs("#history a.c-name", evilName)
	tp.noMarkup("#history")
	tp.do("open the record", cdp.Click(cdp.CSS(`#history a.c-name`)))
	tp.textIs("main h1 .c-name", evilName)
	tp.textIs("#customer .c-company", evilCompany)
	tp.textIs("#customer .c-desc", evilDesc)
	tp.waitText("#customer", evilAsset)
	tp.textIs("#messages .msg:first-child .msg-text", evilChat)
	tp.textIs("#messages .msg:last-child .msg-text", evilReply)
	tp.noMarkup("main")

	tpDialogs()
	custDialogs()
}
