package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"

	"github.com/switchboardhq/switchboard/tools/daemon"
	"github.com/switchboardhq/switchboard/tools/testenv"
)

const adminPassword = "correct horse battery staple"

// setupAdmin creates the first admin of the realm at prefix through the
// setup link and returns a client signed in as that admin.
func setupAdmin(t *testing.T, d *daemon.Daemon, prefix, username string) *daemon.Client {
	t.Helper()
	link, ok := d.SetupLinks[prefix]
	if !ok {
		t.Fatalf("no setup link for %s printed:\n%s", prefix, d.Output())
	}
	c := d.NewClient()
	link = strings.Replace(link, link[:strings.Index(link, prefix)], d.Base, 1)
	resp, err := c.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("setup page: %d", resp.StatusCode)
	}
	token := link[strings.Index(link, "token=")+6:]
	resp, body := c.Post(prefix+"/setup", map[string]string{
		"token": token, "username": username, "display_name": "First Admin",
		"password": adminPassword, "confirm": adminPassword,
	})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("setup: %d %s", resp.StatusCode, body)
	}
	return c
}

func TestReadyOnlyOnceServing(t *testing.T) {
	t.Parallel()
	d := daemon.Start(t, daemon.Options{Env: []string{"WATCHDOG_USEC=400000"}})
	if !d.ReadyAccepting {
		t.Fatal("READY=1 arrived before HTTPS accepted connections")
	}
	waitNote(t, d, "WATCHDOG=1")
	if err := d.Stop(); err != nil {
		t.Fatalf("SIGTERM: %v\n%s", err, d.Output())
	}
	waitNote(t, d, "STOPPING=1")
}

// waitNote waits for the daemon to send the sd_notify line want.
func waitNote(t *testing.T, d *daemon.Daemon, want string) {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case n := <-d.Notes:
			if n == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %s from the daemon", want)
		}
	}
}

// TestSocketActivation hands the daemon its HTTPS socket the way systemd
// does and checks it serves on it.
func TestSocketActivation(t *testing.T) {
	t.Parallel()
	tool := testenv.RequireCommand(t, "systemd-socket-activate")
	port := testenv.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	d := daemon.Start(t, daemon.Options{
		Wrap:  []string{tool, "-l", addr, "-E", "NOTIFY_SOCKET"},
		Kick:  addr,
		Extra: map[string]any{"https_addr": addr},
	})
	if d.Port != port {
		t.Fatalf("daemon serves on %d, want the activated %d", d.Port, port)
	}
	if code, _ := d.NewClient().Page("/login"); code != 200 {
		t.Fatalf("/login on the activated socket: %d", code)
	}
}

func TestSetupOnceThenEverySpellingIs404(t *testing.T) {
	t.Parallel()
	d := daemon.Start(t, daemon.Options{})
	for _, prefix := range []string{"/login", "/appliance"} {
		anon := d.NewClient()
		// Before setup only the exact route answers; variants are 404.
		if code, _ := anon.Page(prefix + "/Setup"); code != 404 {
			t.Errorf("%s/Setup before setup: %d", prefix, code)
		}
		c := setupAdmin(t, d, prefix, "first")
		if code, _ := c.Page(prefix + "/account"); code != 200 {
			t.Fatalf("%s/account after setup: %d", prefix, code)
		}
		token := d.SetupLinks[prefix][strings.Index(d.SetupLinks[prefix], "token=")+6:]
		for _, method := range []string{"GET", "POST", "HEAD", "OPTIONS", "PUT"} {
			for _, p := range []string{
				prefix + "/setup", prefix + "//setup", prefix + "/%2Fsetup", prefix + "/%2fsetup",
				prefix + "/Setup", prefix + "/SETUP", prefix + "/setup/x", prefix + "/setup;", prefix + "/setup;x=1",
				prefix + "/./setup", prefix + "/x/../setup", prefix + "/setup/", prefix + "/%73etup",
				"/setup", "//setup", "/%2Fsetup", prefix + "/setup?token=" + token,
			} {
				req, _ := http.NewRequest(method, d.Base+p, strings.NewReader("token="+token+"&username=evil&password=xxxxxxxxxxxxxxxx&confirm=xxxxxxxxxxxxxxxx"))
				req.URL.Opaque = p // send the path exactly as written
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := anon.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 404 {
					t.Errorf("%s %s after setup: %d, want 404", method, p, resp.StatusCode)
				}
			}
		}
	}
}

func TestRealmsAreSeparate(t *testing.T) {
	t.Parallel()
	d := daemon.Start(t, daemon.Options{})
	site := setupAdmin(t, d, "/login", "siteadmin")
	setupAdmin(t, d, "/appliance", "boxadmin")
	// A site session does not open /appliance.
	resp, err := site.Get(d.Base + "/appliance/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/appliance?") {
		t.Fatalf("site session on /appliance: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	// Site credentials do not sign in to /appliance.
	anon := d.NewClient()
	resp, body := anon.Post("/appliance", map[string]string{"username": "siteadmin", "password": adminPassword})
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "username or password is not right") {
		t.Fatalf("site account at /appliance: %d", resp.StatusCode)
	}
}

func TestSignInCookiesAndHeaders(t *testing.T) {
	t.Parallel()
	d := daemon.Start(t, daemon.Options{})
	setupAdmin(t, d, "/login", "admin")
	c := d.NewClient()
	resp, _ := c.Post("/login", map[string]string{"username": "admin", "password": adminPassword})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	var found bool
	for _, line := range resp.Header.Values("Set-Cookie") {
		if !strings.HasPrefix(line, "__Host-sb-site=") {
			continue
		}
		found = true
		for _, attr := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax"} {
			if !strings.Contains(line, attr) {
				t.Errorf("session cookie lacks %s: %s", attr, line)
			}
		}
		if strings.Contains(line, "Domain=") {
			t.Errorf("session cookie has a Domain: %s", line)
		}
		id := strings.TrimPrefix(strings.SplitN(line, ";", 2)[0], "__Host-sb-site=")
		if len(id) < 22 {
			t.Errorf("session id %q is shorter than 128 bits", id)
		}
	}
	if !found {
		t.Fatal("no session cookie set at sign-in")
	}
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP = %q", csp)
	}
	if !strings.Contains(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Error("no HSTS")
	}
	if !strings.Contains(resp.Header.Get("Alt-Svc"), fmt.Sprintf(`h3=":%d"`, d.Port)) {
		t.Errorf("Alt-Svc = %q", resp.Header.Get("Alt-Svc"))
	}
	// Sign-out ends the session server-side: the old cookie no longer works.
	old := c.Jar.Cookies(resp.Request.URL)
	c.Post("/login/signout", nil)
	c2 := d.NewClient()
	c2.Jar.SetCookies(resp.Request.URL, old)
	if code, _ := c2.Page("/login/account"); code != http.StatusSeeOther {
		t.Fatalf("old session after sign-out: %d", code)
	}
}

func TestSignInThrottling(t *testing.T) {
	t.Parallel()
	d := daemon.Start(t, daemon.Options{})
	admin := setupAdmin(t, d, "/login", "admin")
	c := d.NewClient()
	msg := regexp.MustCompile(`<p class="alert" role="alert">([^<]*)</p>`)
	try := func(user, pw string) (int, string) {
		resp, body := c.Post("/login", map[string]string{"username": user, "password": pw})
		m := msg.FindStringSubmatch(body)
		if m == nil {
			return resp.StatusCode, ""
		}
		return resp.StatusCode, m[1]
	}
	codeUnknown, msgUnknown := try("nobody", "wrong password 1")
	codeWrong, msgWrong := try("admin", "wrong password 1")
	if codeUnknown != codeWrong || msgUnknown != msgWrong || codeWrong != 401 {
		t.Fatalf("unknown user answered %d %q, wrong password %d %q", codeUnknown, msgUnknown, codeWrong, msgWrong)
	}
	try("admin", "wrong password 2")
	try("admin", "wrong password 3")
	code, m := try("admin", adminPassword) // right password, but throttled now
	if code != http.StatusTooManyRequests || !strings.Contains(m, "Too many sign-in attempts") {
		t.Fatalf("after 3 failures: %d %q", code, m)
	}
	// The form keeps the username.
	_, body := c.Post("/login", map[string]string{"username": "admin", "password": "x"})
	if !strings.Contains(body, `value="admin"`) {
		t.Fatal("the sign-in form lost the username")
	}
	// The lockout spray: many addresses keep the account throttled for new
	// browsers, but the owner's browser, known from an earlier sign-in,
	// still gets in with the right password at once.
	resp, _ := admin.Post("/login", map[string]string{"username": "admin", "password": adminPassword})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the owner's browser was locked out: %d", resp.StatusCode)
	}
	if code, _ := try("admin", adminPassword); code != http.StatusTooManyRequests {
		t.Fatalf("a new browser got past the account's throttle: %d", code)
	}
}

func TestHTTP3(t *testing.T) {
	t.Parallel()
	d := daemon.Start(t, daemon.Options{})
	tr := &http3.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer tr.Close()
	resp, err := (&http.Client{Transport: tr}).Get(d.Base + "/login")
	if err != nil {
		t.Fatalf("HTTP/3: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Proto != "HTTP/3.0" || !strings.Contains(string(body), "Sign in") {
		t.Fatalf("HTTP/3 /login: %d %s", resp.StatusCode, resp.Proto)
	}
}

// TestKillDurability kills the daemon with SIGKILL 20 times while a client
// keeps creating accounts; every account whose creation was acknowledged
// must be there after the restart.
func TestKillDurability(t *testing.T) {
	t.Parallel()
	d := daemon.Start(t, daemon.Options{})
	admin := setupAdmin(t, d, "/login", "admin")
	token := admin.CSRF()
	var (
		mu    sync.Mutex
		acked []string
	)
	n := 0
	for round := range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		progress := make(chan struct{}, 100)
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					name := fmt.Sprintf("u%d-%d-%d", round, w, i)
					resp, _, err := admin.TryPost(ctx, "/login/users", map[string]string{
						"username": name, "password": "a long enough password", "role": "technician",
					}, token)
					if err != nil {
						return
					}
					if resp.StatusCode == http.StatusSeeOther {
						mu.Lock()
						acked = append(acked, name)
						mu.Unlock()
						select {
						case progress <- struct{}{}:
						default:
						}
					}
				}
			}()
		}
		// Kill after a random number of acknowledged writes, mid-stream.
		for range 1 + rand.IntN(4) {
			<-progress
		}
		d.Kill()
		cancel()
		wg.Wait()
		d.Restart()
		_, page := admin.Page("/login/users")
		mu.Lock()
		for _, name := range acked {
			if !strings.Contains(page, "<code>"+name+"</code>") {
				t.Fatalf("round %d: acknowledged account %s is gone after SIGKILL", round, name)
			}
		}
		n = len(acked)
		mu.Unlock()
	}
	t.Logf("%d acknowledged writes survived 20 SIGKILLs", n)
}

func TestBackupRestoreCommands(t *testing.T) {
	t.Parallel()
	d := daemon.Start(t, daemon.Options{})
	admin := setupAdmin(t, d, "/login", "admin")
	admin.Post("/login/users", map[string]string{"username": "kept-user", "password": "a long enough password", "role": "technician"})
	backup := filepath.Join(t.TempDir(), "backup.db")
	out, err := exec.Command(d.Bin, "-dev", "-config", d.Config, "backup", backup).CombinedOutput()
	if err != nil {
		t.Fatalf("backup while running: %v\n%s", err, out)
	}
	// A wrong file is refused and writes nothing.
	junk := filepath.Join(t.TempDir(), "junk.db")
	os.WriteFile(junk, []byte("not a store"), 0o600)
	fresh := filepath.Join(t.TempDir(), "fresh")
	cfg := filepath.Join(t.TempDir(), "fresh.json")
	os.WriteFile(cfg, []byte(`{"version":1,"state_dir":"`+fresh+`","https_addr":"127.0.0.1:0","http_addr":""}`), 0o600)
	out, err = exec.Command(d.Bin, "-dev", "-config", cfg, "restore", junk).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "damaged or is not an applianced store") {
		t.Fatalf("restore of junk: %v %s", err, out)
	}
	if _, err := os.Stat(filepath.Join(fresh, "applianced.db")); err == nil {
		t.Fatal("a refused restore wrote a store")
	}
	out, err = exec.Command(d.Bin, "-dev", "-config", cfg, "restore", backup).CombinedOutput()
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	r := daemon.Start(t, daemon.Options{StateDir: fresh})
	if len(r.SetupLinks) != 1 {
		t.Fatalf("restored box offers setup for %d realms, want only /appliance", len(r.SetupLinks))
	}
	c := r.NewClient()
	resp, _ := c.Post("/login", map[string]string{"username": "admin", "password": adminPassword})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in on the restored box: %d", resp.StatusCode)
	}
	if _, page := c.Page("/login/users"); !strings.Contains(page, "kept-user") {
		t.Fatal("restored box lost a user")
	}
}

func TestBadStartupInput(t *testing.T) {
	t.Parallel()
	bin := daemon.Binary(t)
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o600)
		return p
	}
	state := filepath.Join(dir, "state")
	os.MkdirAll(state, 0o700)
	garbage := []byte(strings.Repeat("this is not bbolt ", 1000))
	os.WriteFile(filepath.Join(state, "applianced.db"), garbage, 0o600)
	fresh := filepath.Join(dir, "fresh")
	cases := []struct {
		name, config, says string
		code               int
		args               []string
	}{
		{"-net-apply on this machine's own network", `{"version":1,"state_dir":"` + fresh + `","https_addr":"127.0.0.1:0","http_addr":"","rtc_udp_addr":"127.0.0.1:0"}`,
			"this one is the machine's own: run it in a namespace of its own", 1, []string{"-net-apply"}},
		{"unknown field", `{"version":1,"listen":":1"}`, `unknown field "listen"`, 2, nil},
		{"malformed", `{"version":1,`, "not valid JSON", 2, nil},
		{"wrong version", `{"version":7}`, `field "version": 7 is not supported`, 2, nil},
		{"corrupt store", `{"version":1,"state_dir":"` + state + `","https_addr":"127.0.0.1:0","http_addr":""}`, "damaged or is not an applianced store", 1, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(bin, append(append([]string{"-dev"}, c.args...), "-config", write(c.name+".json", c.config))...)
			out, err := cmd.CombinedOutput()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != c.code || !strings.Contains(string(out), c.says) || strings.Contains(string(out), "panic") {
				t.Fatalf("exit %v, output:\n%s", err, out)
			}
		})
	}
	if after, _ := os.ReadFile(filepath.Join(state, "applianced.db")); string(after) != string(garbage) {
		t.Fatal("starting on a damaged store changed the file")
	}
}

func TestAdminEndsEverySessionOfAUser(t *testing.T) {
	t.Parallel()
	d := daemon.Start(t, daemon.Options{})
	admin := setupAdmin(t, d, "/login", "admin")
	admin.Post("/login/users", map[string]string{"username": "tech", "password": "a long enough password", "role": "technician"})
	var techs []*daemon.Client
	for range 2 {
		c := d.NewClient()
		if resp, _ := c.Post("/login", map[string]string{"username": "tech", "password": "a long enough password"}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("technician sign-in: %d", resp.StatusCode)
		}
		if code, _ := c.Page("/console"); code != 200 {
			t.Fatalf("technician console: %d", code)
		}
		techs = append(techs, c)
	}
	// A technician cannot manage users.
	if code, _ := techs[0].Page("/login/users"); code != http.StatusForbidden {
		t.Fatalf("technician on /login/users: %d", code)
	}
	_, page := admin.Page("/login/users")
	m := regexp.MustCompile(`action="/login/users/(\d+)/sessions"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no end-sessions action on the users page")
	}
	if resp, _ := admin.Post("/login/users/"+m[1]+"/sessions", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("end sessions: %d", resp.StatusCode)
	}
	for i, c := range techs {
		if code, _ := c.Page("/console"); code != http.StatusSeeOther {
			t.Fatalf("technician browser %d still signed in after the admin ended its sessions: %d", i, code)
		}
	}
	if code, _ := admin.Page("/login/users"); code != 200 {
		t.Fatal("the admin's own session ended too")
	}
}

func TestBadFormInputOnTheDaemon(t *testing.T) {
	t.Parallel()
	d := daemon.Start(t, daemon.Options{})
	admin := setupAdmin(t, d, "/login", "admin")
	cases := []struct {
		name, user string
		code       int
		says       string
	}{
		{"invalid utf8", "bad\xff\xfe", http.StatusBadRequest, "not valid UTF-8"},
		{"control characters", "bad\x00\x1b[31m", http.StatusBadRequest, "control characters"},
		{"oversized", strings.Repeat("x", 100<<10), http.StatusRequestEntityTooLarge, "larger than"},
	}
	for _, c := range cases {
		resp, body := admin.Post("/login/users", map[string]string{"username": c.user, "password": "a long enough password", "role": "technician"})
		if resp.StatusCode != c.code || !strings.Contains(body, c.says) || strings.Contains(body, "panic") {
			t.Errorf("%s: %d", c.name, resp.StatusCode)
		}
	}
	if _, page := admin.Page("/login/users"); strings.Contains(page, "<code>bad") || strings.Count(page, "<code>") != 1 {
		t.Fatal("refused input created a user")
	}
}

func TestPasswordChangeSignsOutOtherSessions(t *testing.T) {
	t.Parallel()
	d := daemon.Start(t, daemon.Options{})
	a := setupAdmin(t, d, "/login", "admin")
	other := d.NewClient()
	other.Post("/login", map[string]string{"username": "admin", "password": adminPassword})
	if code, _ := other.Page("/login/account"); code != 200 {
		t.Fatalf("second session: %d", code)
	}
	const newPassword = "an entirely new passphrase"
	resp, body := a.Post("/login/account/password", map[string]string{"current": "wrong one", "password": newPassword, "confirm": newPassword})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "not your current password") {
		t.Fatalf("wrong current password: %d", resp.StatusCode)
	}
	resp, _ = a.Post("/login/account/password", map[string]string{"current": adminPassword, "password": newPassword, "confirm": newPassword})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("password change: %d", resp.StatusCode)
	}
	if code, _ := a.Page("/login/account"); code != 200 {
		t.Fatal("the session that changed the password was signed out")
	}
	if code, _ := other.Page("/login/account"); code != http.StatusSeeOther {
		t.Fatal("another session survived the password change")
	}
	fresh := d.NewClient()
	if resp, _ := fresh.Post("/login", map[string]string{"username": "admin", "password": newPassword}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in with the new password: %d", resp.StatusCode)
	}
}

func TestControlSocketDevCommands(t *testing.T) {
	t.Parallel()
	d := daemon.Start(t, daemon.Options{})
	if out, err := d.Control("stats"); err != nil || !strings.Contains(out, "updates=") {
		t.Fatalf("stats: %q %v", out, err)
	}
	if _, err := d.Control("clock -1m"); err == nil {
		t.Fatal("the clock moved backwards")
	}
	if out, err := d.Control("clock 31m"); err != nil || !strings.Contains(out, "now=") {
		t.Fatalf("clock: %q %v", out, err)
	}
	if out, err := d.Control("expire"); err != nil || out != "OK expired=0 announced=0" {
		t.Fatalf("expire: %q %v", out, err)
	}
	if _, err := d.Control("rm -rf /"); err == nil {
		t.Fatal("an unknown command was accepted")
	}
}
