package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

	cdp "github.com/chromedp/chromedp"
	"github.com/vishvananda/netlink"

	"github.com/switchboardhq/switchboard/tools/daemon"
	"github.com/switchboardhq/switchboard/tools/testenv"
)

// TestNetworkTrialInBrowser runs the daemon in an "appliance" network
// namespace with -net-apply and drives /appliance/network from Chromium in
// a "client" namespace joined to it by a veth pair: bad input is refused
// and kept; a trial shows its countdown, refuses a confirmation over the
// old address and is kept when confirmed from the new one; a trial that
// takes the page's address away says so, and once its time runs out the
// box is back and the page says the change was undone.
func TestNetworkTrialInBrowser(t *testing.T) {
	t.Parallel()
	box, cli := testenv.NewNetns(t), testenv.NewNetns(t)
	box.Veth(t, "eth0", cli, "peer0")
	box.Addr(t, "eth0", "192.0.2.1/24")
	cli.Addr(t, "peer0", "192.0.2.100/24")
	cli.Addr(t, "peer0", "198.51.100.100/24") // the client is on both subnets
	d := daemon.Start(t, daemon.Options{Netns: box, Args: []string{"-net-apply"}, Extra: map[string]any{"https_addr": ":0"}})
	setupAdmin(t, d, "/appliance", "root")

	p := page{t, testenv.BrowserIn(t, cli)}
	old := fmt.Sprintf("https://192.0.2.1:%d", d.Port)
	p.do("sign in to /appliance",
		cdp.Navigate(old+"/appliance"),
		cdp.SendKeys(cdp.ID("username"), "root"),
		cdp.SendKeys(cdp.ID("password"), adminPassword),
		cdp.Submit(cdp.ID("password")),
	)
	p.waitText("main h1", "Appliance status")
	p.waitText("#health-data", "free of")
	p.waitText("#health-memory", "available of")
	p.do("open the network page", cdp.Navigate(old+"/appliance/network"))
	p.waitText("#observed", "192.0.2.1/24")

	// An address without its prefix length is refused, and kept.
	p.do("type an address without a prefix length",
		cdp.SetValue(cdp.ID("if-0-mode"), "static"),
		cdp.SetValue(cdp.ID("if-0-addresses"), "192.0.2.1/24 198.51.100.1"),
		cdp.SetValue(cdp.ID("trial"), "60"),
	)
	p.clickSubmit("#network-apply")
	p.waitText("#if-0-addresses-err", "198.51.100.1 needs its prefix length")
	if v := eval[string](p, `document.getElementById("if-0-addresses").value`); v != "192.0.2.1/24 198.51.100.1" {
		t.Fatalf("the form lost what was typed: %q", v)
	}

	// Add the new address: the trial starts with its countdown.
	p.do("fix the address", cdp.SetValue(cdp.ID("if-0-addresses"), "192.0.2.1/24 198.51.100.1/24"))
	p.clickSubmit("#network-apply")
	p.waitText("#trial", "undone in")
	if s := strings.TrimSuffix(p.text("#trial-countdown"), " s"); !inRange(s, 1, 60) {
		t.Fatalf("countdown shows %q, want 1 to 60 seconds", s)
	}
	link := eval[string](p, `document.querySelector("#trial-links a").href`)
	wantPrefix := fmt.Sprintf("https://198.51.100.1:%d/appliance/network/confirm?t=", d.Port)
	if !strings.HasPrefix(link, wantPrefix) {
		t.Fatalf("confirmation link %q, want %s…", link, wantPrefix)
	}

	// The same link over the old address proves nothing and is refused.
	p.do("open the link at the old address", cdp.Navigate(strings.Replace(link, "198.51.100.1", "192.0.2.1", 1)))
	p.clickSubmit("#confirm-keep")
	p.waitText("#confirm-problem", "reached over the old configuration")

	p.do("open the link at the new address", cdp.Navigate(link))
	p.waitText("#confirm-trial", "undone in")
	p.clickSubmit("#confirm-keep")
	p.waitText("#confirm-kept", "keeps the new network configuration")

	p.do("back to the network page", cdp.Navigate(old+"/appliance/network"))
	p.waitText("#last-change", "kept")
	p.waitText("#observed", "198.51.100.1/24")

	// Move the box off the address this page uses: the page says so.
	p.do("replace 192.0.2.1",
		cdp.SetValue(cdp.ID("if-0-mode"), "static"),
		cdp.SetValue(cdp.ID("if-0-addresses"), "192.0.2.50/24 198.51.100.1/24"),
	)
	p.clickSubmit("#network-apply")
	p.waitText("#trial", "undone in")
	p.waitText("#trial-gone", "This address no longer answers")
	p.truthy("the notice is shown", `!document.getElementById("trial-gone").hidden`)

	// Nobody confirms: once the deadline passes the box is back, and the
	// page, which keeps asking, says what happened.
	if out, err := d.Control("clock 5m"); err != nil {
		t.Fatal(out, err)
	}
	if out, err := d.Control("net-expire"); err != nil || !strings.Contains(out, "reverted=true") {
		t.Fatalf("net-expire: %q %v", out, err)
	}
	p.waitText("#last-change", "undone because it was not confirmed in time")
	p.waitText("#last-restored", "back exactly as it was")
	p.waitText("#observed", "192.0.2.1/24")
	p.waitText("#network-log", "kept")
}

func inRange(s string, lo, hi int) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= lo && n <= hi
}

// TestConsoleMenu drives `applianced console` as the person at the box's
// serial port would: a static address on eth0, kept from the menu (the
// kernel has it, the change log says who), then an appliance
// administrator's password reset, after which the old password is refused
// and the new one signs in. Typed garbage changes nothing.
func TestConsoleMenu(t *testing.T) {
	t.Parallel()
	box, cli := testenv.NewNetns(t), testenv.NewNetns(t)
	box.Veth(t, "eth0", cli, "peer0")
	box.Addr(t, "eth0", "192.0.2.1/24")
	d := daemon.Start(t, daemon.Options{Netns: box, Args: []string{"-net-apply"}, Extra: map[string]any{"https_addr": ":0"}})
	setupAdmin(t, d, "/appliance", "root")

	const newPassword = "a new password from the console"
	script := strings.Join([]string{
		"9",         // not on the menu
		"2", "eth9", // no such interface
		"2", "eth0", "s", "192.0.2.20", // no prefix length: refused
		"2", "eth0", "s", "192.0.2.20/24", "192.0.2.254", "192.0.2.53", "y",
		"3", "root", newPassword, "not the same",
		"3", "root", newPassword, newPassword,
		"1",
	}, "\n") + "\n"
	cmd := exec.Command(d.Bin, "-dev", "-config", d.Config, "console")
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("applianced console: %v\n%s", err, out)
	}
	text := string(out)
	for _, want := range []string{
		"Open the appliance administration at https://192.0.2.1:",
		`"9" is not on the menu`,
		`The box has no interface "eth9".`,
		"192.0.2.20 needs its prefix length, such as 192.0.2.20/24. Nothing was changed.",
		"Applied. From your network, check that the box answers:",
		"https://192.0.2.20:" + fmt.Sprint(d.Port) + "/appliance",
		"Kept.",
		"The two passwords differ. Nothing was changed.",
		"The password of root is set, and root is signed out everywhere.",
		"eth0       up       192.0.2.20/24",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the menu did not say %q:\n%s", want, text)
		}
	}
	addrs, err := box.Handle.AddrList(mustLink(t, box, "eth0"), netlink.FAMILY_V4)
	if err != nil || len(addrs) != 1 || addrs[0].IPNet.String() != "192.0.2.20/24" {
		t.Fatalf("eth0 has %v, %v", addrs, err)
	}
	routes, _ := box.Handle.RouteList(nil, netlink.FAMILY_V4)
	if !slices.ContainsFunc(routes, func(r netlink.Route) bool { return r.Gw.String() == "192.0.2.254" }) {
		t.Errorf("no default route via 192.0.2.254: %v", routes)
	}

	c := d.NewClient()
	if resp, _ := c.Post("/appliance", map[string]string{"username": "root", "password": adminPassword}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the old password after the reset: %d", resp.StatusCode)
	}
	if resp, body := c.Post("/appliance", map[string]string{"username": "root", "password": newPassword}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the new password: %d %s", resp.StatusCode, body)
	}
	if _, body := c.Page("/appliance/network"); !strings.Contains(body, "the console menu") {
		t.Errorf("the change log does not name the console menu:\n%s", body)
	}

	// Factory reset: a wrong word erases nothing; ERASE erases the store
	// at the next start, which prints the setup links again.
	cmd = exec.Command(d.Bin, "-dev", "-config", d.Config, "console")
	cmd.Stdin = strings.NewReader("7\nerase\n7\nERASE\n")
	if out, err = cmd.CombinedOutput(); err != nil {
		t.Fatalf("applianced console: %v\n%s", err, out)
	}
	for _, want := range []string{"Nothing was erased.", "Rebooting…", "development mode: this machine is not rebooted"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the menu did not say %q:\n%s", want, out)
		}
	}
	d.Restart()
	if _, ok := d.SetupLinks["/appliance"]; !ok {
		t.Fatalf("after the factory reset the box printed no setup link:\n%s", d.Output())
	}
	if resp, _ := d.NewClient().Post("/appliance", map[string]string{"username": "root", "password": newPassword}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("root still signs in after the factory reset: %d", resp.StatusCode)
	}
}

func mustLink(t *testing.T, ns *testenv.Netns, name string) netlink.Link {
	t.Helper()
	l, err := ns.Handle.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestAllowLists sets the allow-lists of /login and /console and of
// /appliance as a trial, from one client address, and checks who reaches
// what from two client addresses once kept; an allow-list that leaves out
// the admin's own address is refused with nothing changed, and one nobody
// confirms is undone.
func TestAllowLists(t *testing.T) {
	t.Parallel()
	box, cli := testenv.NewNetns(t), testenv.NewNetns(t)
	box.Veth(t, "eth0", cli, "peer0")
	box.Addr(t, "eth0", "192.0.2.1/24")
	cli.Addr(t, "peer0", "192.0.2.100/24")
	cli.Addr(t, "peer0", "192.0.2.101/24")
	d := daemon.Start(t, daemon.Options{Netns: box, Args: []string{"-net-apply"}, Extra: map[string]any{"https_addr": ":0"}})
	setupAdmin(t, d, "/appliance", "root")
	base := fmt.Sprintf("https://192.0.2.1:%d", d.Port)
	ann, bob := d.NewClientVia(base, cli.DialFrom("192.0.2.100")), d.NewClientVia(base, cli.DialFrom("192.0.2.101"))
	if resp, body := ann.Post("/appliance", map[string]string{"username": "root", "password": adminPassword}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d %s", resp.StatusCode, body)
	}
	form := func(site, box string) map[string]string {
		return map[string]string{"if-0-name": "eth0", "if-0-kind": "ether", "if-0-mode": "keep", "if-1-kind": "vlan", "if-2-kind": "bond",
			"trial": "60", "allow_site": site, "allow_box": box}
	}
	reach := func(c *daemon.Client, path string) int {
		t.Helper()
		code, _ := c.Page(path)
		return code
	}

	resp, body := ann.Post("/appliance/network", form("192.0.2.101", "192.0.2.101/32"))
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "leaves out your own address 192.0.2.100") {
		t.Fatalf("an allow-list without the admin: %d\n%s", resp.StatusCode, body)
	}
	if reach(bob, "/appliance") == http.StatusForbidden {
		t.Fatal("the refused allow-list was applied")
	}

	if resp, body = ann.Post("/appliance/network", form("192.0.2.101", "192.0.2.100")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("allow-lists: %d\n%s", resp.StatusCode, body)
	}
	if code := reach(ann, "/login"); code != http.StatusForbidden {
		t.Errorf("/login from 192.0.2.100 during the trial: %d, want 403", code)
	}
	token := trialToken(t, ann, base)
	if resp, body = ann.Post("/appliance/network/confirm", map[string]string{"t": token}); resp.StatusCode != http.StatusOK || !strings.Contains(body, "confirm-kept") {
		t.Fatalf("confirm: %d\n%s", resp.StatusCode, body)
	}
	for _, c := range []struct {
		who  *daemon.Client
		name string
		path string
		want int
	}{
		{ann, "192.0.2.100", "/appliance", http.StatusSeeOther}, // to its sign-in or its page
		{ann, "192.0.2.100", "/login", http.StatusForbidden},
		{ann, "192.0.2.100", "/console", http.StatusForbidden},
		{bob, "192.0.2.101", "/appliance", http.StatusForbidden},
		{bob, "192.0.2.101", "/appliance/network/confirm", http.StatusForbidden},
		{bob, "192.0.2.101", "/login", http.StatusOK},
		{bob, "192.0.2.101", "/", http.StatusOK},
		{ann, "192.0.2.100", "/", http.StatusOK}, // the public site is never restricted
	} {
		code := reach(c.who, c.path)
		if c.want == http.StatusSeeOther && (code == http.StatusOK || code == http.StatusSeeOther) {
			continue
		}
		if code != c.want {
			t.Errorf("%s from %s: %d, want %d", c.path, c.name, code, c.want)
		}
	}
	if _, body := bob.Page("/appliance"); !strings.Contains(body, "Your address, 192.0.2.101, may not open this part of the box.") {
		t.Errorf("the refusal does not say why:\n%s", body)
	}

	// A change nobody confirms is undone: bob reaches /login again.
	if resp, body = ann.Post("/appliance/network", form("203.0.113.0/24", "192.0.2.100")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("allow-lists: %d\n%s", resp.StatusCode, body)
	}
	if code := reach(bob, "/login"); code != http.StatusForbidden {
		t.Errorf("/login from 192.0.2.101 during the second trial: %d", code)
	}
	if out, err := d.Control("clock 5m"); err != nil {
		t.Fatal(out, err)
	}
	if out, err := d.Control("net-expire"); err != nil || !strings.Contains(out, "reverted=true") {
		t.Fatalf("net-expire: %q %v", out, err)
	}
	if code := reach(bob, "/login"); code != http.StatusOK {
		t.Errorf("/login from 192.0.2.101 after the undo: %d", code)
	}

	// Locked out: the console menu lets everyone in again.
	if code := reach(bob, "/appliance"); code != http.StatusForbidden {
		t.Fatalf("/appliance from 192.0.2.101 before the menu: %d", code)
	}
	cmd := exec.Command(d.Bin, "-dev", "-config", d.Config, "console")
	cmd.Stdin = strings.NewReader("8\ny\n")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Kept.") {
		t.Fatalf("applianced console: %v\n%s", err, out)
	}
	if code := reach(bob, "/appliance"); code == http.StatusForbidden {
		t.Errorf("/appliance from 192.0.2.101 after the menu cleared the allow-lists: %d", code)
	}
}

// trialToken is the confirmation token the network page left in c's
// cookies.
func trialToken(t *testing.T, c *daemon.Client, base string) string {
	t.Helper()
	u, _ := url.Parse(base + "/appliance/network")
	for _, k := range c.Jar.Cookies(u) {
		if k.Name == "__Host-netcfg-trial" {
			return k.Value
		}
	}
	t.Fatal("no trial cookie")
	return ""
}
