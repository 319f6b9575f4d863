package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	cdp "github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/tools/daemon"
	"github.com/switchboardhq/switchboard/tools/testenv"
)

// postValues submits a form with repeated fields (daemon.Client.Post takes
// one value per field) and returns the response and its body.
func postValues(t *testing.T, d *daemon.Daemon, c *daemon.Client, path string, vals url.Values) (*http.Response, string) {
	t.Helper()
	vals.Set("csrf_token", c.CSRF())
	resp, err := c.PostForm(d.Base+path, vals)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// consoleTechnician adds a technician through /login: the account, then its
// technician profile (available, with the role's permissions). It returns
// the user id.
func consoleTechnician(t *testing.T, d *daemon.Daemon, admin *daemon.Client, username, name string) string {
	t.Helper()
	resp, body := admin.Post("/login/users", map[string]string{"username": username, "display_name": name, "password": deskPassword, "role": "technician"})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add %s: %d %s", username, resp.StatusCode, body)
	}
	_, page := admin.Page("/login/users")
	m := regexp.MustCompile(`href="/login/technicians/(\d+)"[^>]*>` + regexp.QuoteMeta(name) + `<`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no profile link for %s on /login/users:\n%s", name, page)
	}
	resp, body = postValues(t, d, admin, "/login/technicians/"+m[1], url.Values{
		"private_name": {name}, "public_name": {strings.Fields(name)[0]}, "display_number": {m[1]},
		"availability": {"available"}, "role": {"technician"}, "perms_default": {"1"},
	})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("profile of %s: %d %s", username, resp.StatusCode, body)
	}
	return m[1]
}

// truthy waits until the JavaScript expression is true on the page.
func (p page) truthy(what, expr string) {
	p.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		ok, err := cdp.Run(p.ctx, cdp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.fail("wait until "+what, fmt.Errorf("%s stayed false (%v)", expr, err))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// live waits until the console's event stream is open and has its state.
func (p page) live() {
	p.t.Helper()
	p.truthy("the console is live", `window.switchboardConsole && window.switchboardConsole.connected()`)
}

// offline cuts the tab off the network, or reconnects it.
func (p page) offline(off bool) {
	p.t.Helper()
	conds := []*network.Conditions{{Offline: off, DownloadThroughput: -1, UploadThroughput: -1}}
	if _, err := cdp.Call(p.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: conds}); err != nil {
		p.fail("emulate network conditions", err)
	}
	if _, err := cdp.Call(p.ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: off, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
		p.fail("override the network state", err)
	}
}

// clickSubmit submits through the button, as a person does (a script's
// submit handler runs; form.submit() would skip it). Confirmation dialogs
// are answered yes.
func (p page) clickSubmit(css string) {
	p.t.Helper()
	p.do("click "+css, cdp.Evaluate[cdp.Void](`window.confirm = () => true`), cdp.Click(cdp.CSS(css)))
}

const (
	hostileName = `<script>alert(1)</script> Cleo`
	hostileCo   = `{{.}} Corp`
	hostileDesc = "${7*7} printer is jammed"
)

// TestBrowserConsole works the queue in headless Chromium: a customer asks
// a technician for help on the public site and appears live in its
// console, with what it typed shown literally; the technician accepts,
// both chat with typing indicators, the session is transferred to a second
// technician who sees it arrive, that one invites the first, who leaves;
// the console survives the network dropping and the appliance restarting
// without losing what happened meanwhile; closing ends the customer's
// session and puts it in the history.
func TestBrowserConsole(t *testing.T) {
	t.Parallel()
	port := testenv.FreePort(t)
	d := daemon.Start(t, daemon.Options{Extra: map[string]any{"https_addr": fmt.Sprintf("127.0.0.1:%d", port)}})
	admin := setupAdmin(t, d, "/login", "admin")
	ann := consoleTechnician(t, d, admin, "ann", "Ann Archer")
	bob := consoleTechnician(t, d, admin, "bob", "Bob Baker")
	if resp, body := postValues(t, d, admin, "/login/channels", url.Values{"name": {"Tier 1"}, "expiry_minutes": {"60"}, "technicians": {ann, bob}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create Tier 1: %d %s", resp.StatusCode, body)
	}
	if resp, body := postValues(t, d, admin, "/login/sites", url.Values{"name": {"Help"}, "hostnames": {"help.example"},
		"tech_list": {"1"}, "session_key": {"1"}, "survey_mode": {"issue"}, "ask_name": {"1"}, "ask_company": {"1"}, "ask_description": {"1"},
		"custom_rows": {"1"}, "custom_label_0": {"Asset tag"}, "custom_max_0": {"100"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create the site: %d %s", resp.StatusCode, body)
	}

	browser := testenv.Browser(t)
	tp := page{t, testenv.NewTab(t, browser)}
	tp.signIn(d.Base, "ann", deskPassword)
	tp.do("open the console", cdp.Navigate(d.Base+"/console"))
	tp.waitText("#queues", "My queue")
	tp.live()
	if tp.text(`[data-queue="technician-`+ann+`"] .count`) != "0 waiting" {
		t.Fatal("ann's queue does not start empty")
	}

	// A customer asks Ann for help; she sees it without reloading.
	cust := page{t, testenv.NewTab(t, browser)}
	cust.do("ask ann for help",
		cdp.Navigate(d.Base+"/start/technician/"+ann),
		cdp.SendKeys(cdp.ID("name"), hostileName),
		cdp.SendKeys(cdp.ID("company"), hostileCo),
		cdp.SendKeys(cdp.ID("custom_0"), "A-<b>42</b>"),
		cdp.SendKeys(cdp.ID("description"), hostileDesc),
		cdp.Submit(cdp.ID("name")),
	)
	cust.truthy("the customer's session page", `location.pathname === "/session"`)
	mine := `[data-queue="technician-` + ann + `"]`
	row := tp.waitText(mine+" .session", hostileName)
	for _, want := range []string{hostileCo, hostileDesc, "A-<b>42</b>", "In the queue", "Technician list"} {
		if !strings.Contains(row, want) {
			t.Errorf("the queue row lacks %q: %q", want, row)
		}
	}
	if n := eval[int](tp, `document.querySelectorAll("#queues script, #queues b, #toasts script").length`); n != 0 {
		t.Fatalf("typed text became %d elements", n)
	}
	tp.waitText(mine+" .count", "1 waiting")
	tp.waitText("#toasts", "New customer in My queue: "+hostileName+" ("+hostileCo+")")
	tp.truthy("the title counts the waiting customer", `document.title.startsWith("(1) ")`)
	tp.screenshot("console-queue")

	// Ann accepts and they chat, each seeing the other type.
	tp.clickSubmit(mine + " button.accept")
	tp.waitText("#s-status", "In progress")
	tp.live()
	cust.waitText("#status-badge", "In progress")
	tp.do("write to the customer", cdp.SendKeys(cdp.ID("text"), "Hello, I am Ann"))
	cust.truthy("the customer sees ann typing", `!document.getElementById("typing").hidden`)
	tp.clickSubmit("#chat-form button[type=submit]")
	cust.waitText("#messages", "Hello, I am Ann")
	tp.truthy("the chat box empties once sent", `document.getElementById("text").value === ""`)
	tp.waitText("#messages", "Hello, I am Ann")
	cust.do("the customer types", cdp.SendKeys(cdp.ID("text"), "It says <img src=x onerror=alert(2)>"))
	tp.truthy("ann sees the customer typing", `!document.getElementById("typing").hidden`)
	tp.waitText("#typing", "Customer is typing…")
	cust.do("the customer sends", cdp.Click(cdp.CSS(`#chat-form button[type=submit]`)))
	tp.waitText("#messages", "It says <img src=x onerror=alert(2)>")
	tp.truthy("the typing indicator goes when the message arrives", `document.getElementById("typing").hidden`)
	if n := eval[int](tp, `document.querySelectorAll("#messages img").length`); n != 0 {
		t.Fatal("a chat message became markup")
	}
	tp.screenshot("console-session")

	// Bob opens his console; Ann transfers the session to him.
	bp := page{t, testenv.NewTab(t, browser)}
	bp.signIn(d.Base, "bob", deskPassword)
	bp.do("open bob's console", cdp.Navigate(d.Base+"/console"))
	bp.waitText("#queues", "My queue")
	bp.live()
	tp.do("transfer to bob",
		cdp.SetValue(cdp.ID("to"), "technician-"+bob),
		cdp.SendKeys(cdp.ID("note"), "Printer expert needed"),
	)
	tp.clickSubmit("#transfer-go")
	tp.waitText(".flash", "The session was transferred")
	bobs := `[data-queue="technician-` + bob + `"]`
	bp.waitText(bobs+" .session", hostileName)
	bp.waitText("#toasts", "New customer in My queue")
	if tp.text(mine+" .count") != "0 waiting" {
		t.Fatal("the transferred session is still in ann's queue")
	}

	// Bob accepts and invites Ann; she sees it under Working on, opens it
	// and leaves again.
	bp.clickSubmit(bobs + " button.accept")
	bp.waitText("#s-status", "In progress")
	bp.waitText("#trail", "Ann Archer transferred the session to Bob Baker: Printer expert needed")
	bp.do("invite ann", cdp.SetValue(cdp.ID("user"), ann))
	bp.clickSubmit("#invite-go")
	bp.waitText(".flash", "Your colleague is invited")
	tp.waitText(`[data-queue="working"] .session`, hostileName)
	tp.do("open the collaboration", cdp.Click(cdp.CSS(`[data-queue="working"] .session a`)))
	tp.waitText("#s-collab", "Ann Archer")
	tp.waitText("#messages", "Hello, I am Ann")
	tp.clickSubmit("#leave")
	tp.waitText(".flash", "You left the session")
	tp.live()
	bp.waitText("#trail", "Ann Archer left the session")

	// The network drops while a second customer arrives; back online, the
	// console catches up from the state the stream starts with.
	tp.offline(true)
	tp.truthy("the reconnecting banner", `!document.getElementById("live").hidden`)
	second := page{t, testenv.NewTab(t, browser)}
	second.do("a second customer asks ann",
		cdp.Navigate(d.Base+"/start/technician/"+ann),
		cdp.SendKeys(cdp.ID("name"), "Dora Second"),
		cdp.Submit(cdp.ID("name")),
	)
	second.truthy("the second customer's session page", `location.pathname === "/session"`)
	time.Sleep(500 * time.Millisecond)
	if strings.Contains(eval[string](tp, `document.getElementById("queues").textContent`), "Dora Second") {
		t.Fatal("the offline console received an event")
	}
	tp.offline(false)
	tp.live()
	tp.waitText(mine+" .session", "Dora Second")
	tp.waitText("#toasts", "New customer in My queue: Dora Second")

	// The appliance restarts: the consoles reconnect by themselves.
	if err := d.Stop(); err != nil {
		t.Fatalf("stop: %v\n%s", err, d.Output())
	}
	tp.truthy("the reconnecting banner", `!document.getElementById("live").hidden`)
	d.Restart()
	tp.live()
	bp.live()
	tp.waitText(mine+" .session", "Dora Second")
	bp.waitText("#s-status", "In progress")
	tp.screenshot("console-reconnected")

	// Bob closes the session: the customer's page ends, the history has it.
	bp.clickSubmit("#close")
	bp.waitText(".flash", "The session is closed")
	cust.truthy("the customer's session ended", `document.getElementById("status").dataset.status === "closed" || /ended|closed/i.test(document.getElementById("status-badge").textContent)`)
	bp.do("search the history", cdp.Navigate(d.Base+"/console/history?customer="+url.QueryEscape("cleo")))
	bp.waitText("#history", hostileName)
	bp.do("open the record", cdp.Click(cdp.CSS(`#history a.c-name`)))
	bp.waitText("#messages", "Hello, I am Ann")
	bp.waitText("#trail", "Bob Baker closed the session")
	bp.screenshot("console-history")
	// Ann took part, so it is in her history too; Dora's is not there yet.
	tp.do("ann's history", cdp.Navigate(d.Base+"/console/history"))
	if list := tp.text("main"); !strings.Contains(list, hostileName) || strings.Contains(list, "Dora Second") {
		t.Fatalf("ann's history: %q", list)
	}

	// A session key: the customer opens the address Ann hands out.
	tp.do("generate a session key", cdp.Navigate(d.Base+"/console"), cdp.SetValue(cdp.ID("lifetime"), "60"))
	tp.clickSubmit("#make-key")
	digits := tp.text("#key-digits")
	if !regexp.MustCompile(`^\d{3} \d{3} \d{3}$`).MatchString(digits) {
		t.Fatalf("session key shown as %q", digits)
	}
	if u := tp.text("#result-url"); u != d.Base+"/?key="+strings.ReplaceAll(digits, " ", "") {
		t.Fatalf("session key address %q", u)
	}
	tp.live()
	third := page{t, testenv.NewTab(t, browser)}
	third.do("start with the key",
		cdp.Navigate(tp.text("#result-url")),
		cdp.SendKeys(cdp.ID("key-name"), "Kim Key"),
		cdp.Submit(cdp.ID("key-name")),
	)
	if row := tp.waitText(mine+" .session:last-child", "Kim Key"); !strings.Contains(row, "Session key") {
		t.Fatalf("the key's session: %q", row)
	}

	// Get next takes the longest waiting (Dora); when she leaves, Ann's
	// page says the session ended and offers nothing more.
	tp.clickSubmit("#next")
	tp.waitText("main h1", "Dora Second")
	tp.live()
	second.clickSubmit(`form[action="/session/leave"] button`)
	tp.truthy("the session page shows the end", `!document.getElementById("s-ended").hidden && document.getElementById("chat-form").hidden`)
	tp.waitText("#trail", "The customer left")
}
