package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdp "github.com/chromedp/chromedp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/chromedp/cdproto/emulation"
	"github.com/switchboardhq/switchboard/tools/daemon"
	"github.com/switchboardhq/switchboard/tools/testenv"
)

// page wraps a browser tab with helpers that fail the test, with the page's
// address and text, instead of hanging it.
type page struct {
	t   *testing.T
	ctx context.Context
}

func (p page) fail(what string, err error) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	url, _ := cdp.Run(ctx, cdp.Location())
	body, _ := cdp.Run(ctx, cdp.Text(cdp.CSS("body")))
	p.t.Fatalf("%s: %v\nat %s:\n%s", what, err, url, body)
}

// do runs actions with a deadline.
func (p page) do(what string, actions ...cdp.Action[cdp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := cdp.Do(ctx, actions...); err != nil {
		p.fail(what, err)
	}
}

// text waits for the element css and returns its text.
func (p page) text(css string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := cdp.Do(ctx, cdp.WaitVisible(cdp.CSS(css))); err != nil {
		p.fail("wait for "+css, err)
	}
	s, err := cdp.Run(ctx, cdp.Text(cdp.CSS(css)))
	if err != nil {
		p.fail("read "+css, err)
	}
	return strings.TrimSpace(s)
}

// waitText waits until the element css exists and its text contains want
// (the page may still be the previous one right after a submit), and
// returns the text.
func (p page) waitText(css, want string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	c, _ := json.Marshal(css)
	w, _ := json.Marshal(want)
	expr := fmt.Sprintf(`(() => { const e = document.querySelector(%s); return e && e.textContent.includes(%s) ? e.textContent : false })()`, c, w)
	for {
		s, err := cdp.Run(ctx, cdp.Poll[string](expr))
		if err == nil {
			return strings.TrimSpace(s)
		}
		// A navigation during the poll ends it; poll again on the new page.
		if ctx.Err() != nil || !strings.Contains(err.Error(), "navigated") && !strings.Contains(err.Error(), "context") {
			p.fail(fmt.Sprintf("wait for %q in %s", want, css), err)
		}
	}
}

func (p page) location() string {
	p.t.Helper()
	u, err := cdp.Run(p.ctx, cdp.Location())
	if err != nil {
		p.fail("location", err)
	}
	return u
}

func (p page) screenshot(name string) {
	dir := os.Getenv("SWITCHBOARD_SCREENSHOTS")
	if dir == "" {
		return
	}
	if png, err := cdp.Run(p.ctx, cdp.FullScreenshot(100)); err == nil {
		os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
}

func totpCode(t *testing.T, secret string, at time.Time) string {
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// TestBrowserFirstLogin walks a new user's first login in headless
// Chromium: the sign-in page, the setup link, TOTP enrolment from the QR
// page, sign-out, sign-in with a code, and the setup link gone.
func TestBrowserFirstLogin(t *testing.T) {
	t.Parallel()
	d := daemon.Start(t, daemon.Options{})
	p := page{t, testenv.NewTab(t, testenv.Browser(t))}
	link := d.SetupLinks["/login"]

	p.do("open /login", cdp.Navigate(d.Base+"/login"))
	if h, n := p.text("main h1"), p.text(".notice"); h != "Sign in" || !strings.Contains(n, "setup link") {
		t.Fatalf("sign-in page: %q / %q", h, n)
	}
	p.screenshot("signin")

	p.do("create the first admin",
		cdp.Navigate(link),
		cdp.SendKeys(cdp.ID("username"), "ada"),
		cdp.SendKeys(cdp.ID("display_name"), "Ada Admin"),
		cdp.SendKeys(cdp.ID("password"), adminPassword),
		cdp.SendKeys(cdp.ID("confirm"), adminPassword),
		cdp.Submit(cdp.ID("username")),
	)
	p.waitText(".flash", "account is ready")

	p.do("start TOTP enrolment", cdp.Click(cdp.CSS(`form[action="/login/account/totp"] button`)))
	secret := p.text("#totp-secret")
	width, err := cdp.Run(p.ctx, cdp.Evaluate[int](`document.querySelector("img.qr").naturalWidth`))
	if err != nil || width < 100 || len(secret) < 16 {
		t.Fatalf("enrolment page: QR %dpx wide (%v), secret %q", width, err, secret)
	}
	p.screenshot("totp")
	now := time.Now()
	p.do("confirm TOTP",
		cdp.SendKeys(cdp.ID("code"), totpCode(t, secret, now)),
		cdp.Submit(cdp.ID("code")),
	)
	p.waitText(".flash", "Two-step verification is on")

	p.do("sign out", cdp.Click(cdp.CSS(".who button")), cdp.WaitVisible(cdp.ID("password")))
	p.do("sign in",
		cdp.SendKeys(cdp.ID("username"), "ada"),
		cdp.SendKeys(cdp.ID("password"), adminPassword),
		cdp.Submit(cdp.ID("password")),
		cdp.WaitVisible(cdp.ID("code")),
		// The confirming step's code was used; the next step's is new.
		cdp.SendKeys(cdp.ID("code"), totpCode(t, secret, now.Add(30*time.Second))),
		cdp.Submit(cdp.ID("code")),
	)
	p.waitText("main h1", "Welcome, Ada Admin")
	if !strings.HasSuffix(p.location(), "/login/dashboard") {
		t.Fatalf("signed in, but at %s", p.location())
	}
	p.screenshot("dashboard")
	// At 1280 px wide the whole /login menu stays on the header's one row.
	if _, err := cdp.Call(p.ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 1280, Height: 800, DeviceScaleFactor: 1}); err != nil {
		t.Fatal(err)
	}
	p.truthy("the menu fits one row at 1280 px", `(() => {
		const ul = document.querySelector(".top nav ul"), a = ul.querySelector("a");
		const brand = document.querySelector(".top .brand").getBoundingClientRect(), who = document.querySelector(".top .who").getBoundingClientRect();
		return window.innerWidth === 1280 && ul.children.length >= 9 && ul.offsetHeight < a.offsetHeight * 1.5 &&
			Math.abs(ul.getBoundingClientRect().top - brand.top) < 24 && Math.abs(who.top - brand.top) < 24; })()`)

	p.do("setup link after setup", cdp.Navigate(link))
	p.waitText(".error-page .code", "Error 404")
}
