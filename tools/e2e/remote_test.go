package e2e

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"github.com/switchboardhq/switchboard/cmd/supportclient/x11"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	cdp "github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/tools/daemon"
	"github.com/switchboardhq/switchboard/tools/testenv"
)

// customerApp is the support app a customer downloaded and started, with
// its terminal: tests read what it prints and answer its questions.
type customerApp struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *appOutput
	done  chan error
	home  string
}

type appOutput struct {
	mu sync.Mutex
	b  strings.Builder
	ch chan struct{} // closed and replaced on every write
}

func (o *appOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.b.Write(p)
	close(o.ch)
	o.ch = make(chan struct{})
	return len(p), nil
}

func (o *appOutput) snapshot() (string, chan struct{}) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String(), o.ch
}

// download fetches the stamped support app from the customer's session
// page and starts it on display with a terminal prompt.
func download(t *testing.T, cust *daemon.Client, display string) *customerApp {
	t.Helper()
	return downloadWith(t, cust, display, nil)
}

// downloadWith is download with flags for the app made from its stamp by
// flags (nil: none).
func downloadWith(t *testing.T, cust *daemon.Client, display string, flags func(stampPath string) []string) *customerApp {
	t.Helper()
	daemon.SupportClient(t)
	resp, body := cust.Post("/session/client/linux-amd64", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Disposition"), "switchboard-support-linux-amd64") {
		t.Fatalf("download: %d %s %.200q", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "switchboard-support")
	if err := os.WriteFile(bin, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	app := &customerApp{t: t, out: &appOutput{ch: make(chan struct{})}, done: make(chan error, 1), home: dir}
	// Received files land in ~/Downloads.
	if err := os.Mkdir(filepath.Join(dir, "Downloads"), 0o700); err != nil {
		t.Fatal(err)
	}
	args := []string{"-prompt", "terminal"}
	if flags != nil {
		args = append(args, flags(bin)...)
	}
	app.cmd = exec.Command(bin, args...)
	app.cmd.Dir = dir
	app.cmd.Env = []string{"DISPLAY=" + display, "HOME=" + dir, "PATH=/usr/bin:/bin"}
	app.cmd.Stdout, app.cmd.Stderr = app.out, app.out
	app.stdin, _ = app.cmd.StdinPipe()
	if err := app.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { app.done <- app.cmd.Wait() }()
	t.Cleanup(func() {
		app.cmd.Process.Kill()
		<-app.done
		if t.Failed() {
			s, _ := app.out.snapshot()
			t.Logf("support app output:\n%s", s)
		}
	})
	return app
}

// waitFor waits until the app has printed want n times in all.
func (a *customerApp) waitFor(want string, n int) {
	a.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		s, ch := a.out.snapshot()
		if strings.Count(s, want) >= n {
			return
		}
		select {
		case <-ch:
		case err := <-a.done:
			a.t.Fatalf("the support app exited (%v) before printing %q:\n%s", err, want, s)
		case <-deadline:
			a.t.Fatalf("the support app did not print %q:\n%s", want, s)
		}
	}
}

// answer waits for the app's n-th question and answers it.
func (a *customerApp) answer(n int, yes bool) {
	a.t.Helper()
	a.waitFor("[y/N]", n)
	reply := "n\n"
	if yes {
		reply = "y\n"
	}
	if _, err := io.WriteString(a.stdin, reply); err != nil {
		a.t.Fatal(err)
	}
}

// pixel reads the canvas colour at screen pixel (x, y) as 0xRRGGBB.
func (p page) pixel(x, y int) uint32 {
	return uint32(eval[int](p, fmt.Sprintf(`(() => { const c = document.getElementById("remote-canvas");
		if (!c || c.width <= %d || c.height <= %d) return -1;
		const d = c.getContext("2d").getImageData(%d, %d, 1, 1).data; return d[0] << 16 | d[1] << 8 | d[2]; })()`, x, y, x, y)))
}

// waitPixel waits until the canvas shows rgb at (x, y).
func (p page) waitPixel(what string, x, y int, rgb uint32) {
	p.t.Helper()
	p.truthy(what, fmt.Sprintf(`(() => { const c = document.getElementById("remote-canvas");
		if (!c || c.width <= %d || c.height <= %d) return false;
		const d = c.getContext("2d", {willReadFrequently: true}).getImageData(%d, %d, 1, 1).data;
		return Math.abs(d[0] - %d) < 8 && Math.abs(d[1] - %d) < 8 && Math.abs(d[2] - %d) < 8; })()`,
		x, y, x, y, rgb>>16, rgb>>8&0xff, rgb&0xff))
}

// clickScreen clicks the canvas where screen pixel (x, y) is shown.
func (p page) clickScreen(x, y int) {
	p.t.Helper()
	pos := eval[[]float64](p, fmt.Sprintf(`(() => { const c = document.getElementById("remote-canvas");
		c.scrollIntoView({block: "center"}); const r = c.getBoundingClientRect();
		return [r.left + (%d + 0.5) * r.width / c.width, r.top + (%d + 0.5) * r.height / c.height]; })()`, x, y))
	p.do("click the customer's screen", cdp.MouseClickXY(pos[0], pos[1]))
}

func TestRemoteControlUnderXvfb(t *testing.T) {
	t.Parallel()
	display := testenv.Xvfb(t)
	desktop := newXWin(t, display)
	desktop.quadrants()

	port := testenv.FreePort(t)
	d := daemon.Start(t, daemon.Options{Extra: map[string]any{"https_addr": fmt.Sprintf("127.0.0.1:%d", port)}})
	admin := setupAdmin(t, d, "/login", "admin")
	ann := consoleTechnician(t, d, admin, "ann", "Ann Archer")
	bob := consoleTechnician(t, d, admin, "bob", "Bob Baker")
	// Vera's permissions are view only: no remote-control, no file-transfer.
	vera := consoleTechnician(t, d, admin, "vera", "Vera Vance")
	if resp, body := postValues(t, d, admin, "/login/technicians/"+vera, url.Values{
		"private_name": {"Vera Vance"}, "public_name": {"Vera"}, "display_number": {vera}, "availability": {"available"},
		"role": {"technician"}, "perms": {"start-sessions", "take-from-queues", "invite"},
	}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("vera's permissions: %d %s", resp.StatusCode, body)
	}
	if resp, body := postValues(t, d, admin, "/login/sites", url.Values{"name": {"Help"}, "hostnames": {"help.example"},
		"tech_list": {"1"}, "session_key": {"1"}, "survey_mode": {"issue"}, "ask_name": {"1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create the site: %d %s", resp.StatusCode, body)
	}

	// A customer asks Ann for help; Ann accepts.
	cust := d.NewClient()
	if resp, body := cust.Post("/start/technician/"+ann, map[string]string{"name": "Cleo"}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("start: %d %s", resp.StatusCode, body)
	}
	browser := testenv.Browser(t)
	ap := page{t, testenv.NewTab(t, browser)}
	ap.signIn(d.Base, "ann", deskPassword)
	ap.do("open the console", cdp.Navigate(d.Base+"/console"))
	mine := `[data-queue="technician-` + ann + `"]`
	ap.waitText(mine+" .session", "Cleo")
	ap.clickSubmit(mine + " button.accept")
	ap.waitText("#s-status", "In progress")
	// Bob will join; inviting reloads Ann's page, so before she connects.
	ap.do("invite bob", cdp.SetValue(cdp.ID("user"), bob))
	ap.clickSubmit("#invite-go")
	ap.waitText("#trail", "invited Bob Baker") // the page after the invitation
	ap.live()
	ap.do("invite vera", cdp.SetValue(cdp.ID("user"), vera))
	ap.clickSubmit("#invite-go")
	ap.waitText("#trail", "invited Vera Vance")
	ap.live()
	sessionPath := ap.location()

	// The customer runs the downloaded app: Ann sees the computer before
	// she connects.
	app := download(t, cust, display)
	host, _ := os.Hostname()
	ap.waitText("#device-facts", host)
	ap.waitText("#device-state", "Connected")
	ap.waitText("#device-facts", fmt.Sprintf("%d×%d", desktop.w, desktop.h))

	// Ann asks to view; the customer declines: no picture arrives.
	ap.do("view the screen", cdp.Click(cdp.ID("remote-view")))
	app.answer(1, false)
	ap.waitText("#remote-status", "declined")
	ap.waitText("#trail", "The customer declined to let Ann Archer see the screen")
	if got := ap.pixel(10, 10); got == quadrantColors[0] {
		t.Fatal("the screen reached the console although the customer declined")
	}

	// She asks again; the customer allows: the console shows the desktop.
	ap.do("ask again", cdp.Click(cdp.ID("remote-view")))
	app.answer(2, true)
	w, h := desktop.w, desktop.h
	ap.waitPixel("top-left quadrant", 10, 10, quadrantColors[0])
	ap.waitPixel("top-right quadrant", w-10, 10, quadrantColors[1])
	ap.waitPixel("bottom-left quadrant", 10, h-10, quadrantColors[2])
	ap.waitPixel("bottom-right quadrant", w-10, h-10, quadrantColors[3])
	ap.screenshot("remote-view")

	// Control: asked, allowed; a click and typed text arrive as X events.
	ap.do("request control", cdp.Click(cdp.ID("remote-control-ask")))
	app.answer(3, true)
	ap.truthy("control is granted", `document.getElementById("remote-status").textContent.includes("Controlling")`)
	ap.clickScreen(200, 150)
	if ev := desktop.next("a click"); ev.kind != "button" || ev.button != 1 || abs(ev.x-200) > 1 || abs(ev.y-150) > 1 {
		t.Fatalf("first X event = %v, want button 1 at 200,150", ev)
	}
	ap.do("focus the screen", cdp.Focus(cdp.ID("remote-canvas")))
	ap.do("type", cdp.KeyEvent("hi"))
	for _, want := range []uint32{'h', 'i'} {
		if ev := desktop.next("typed text"); ev.kind != "key" || ev.keysym != want {
			t.Fatalf("X event = %v, want key %#x", ev, want)
		}
	}

	// Clipboard both ways, over the X CLIPBOARD selection: Ann's text
	// becomes the customer's clipboard (another X client reads it), and
	// what the customer copies reaches Ann.
	other, err := x11.Open(display, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ap.do("send the clipboard", cdp.SetValue(cdp.ID("remote-clip-text"), "from Ann: Grüße"), cdp.Click(cdp.ID("remote-clip-send")))
	app.waitFor("put text on your clipboard", 1)
	if got, err := other.Clipboard(1 << 20); err != nil || got != "from Ann: Grüße" {
		t.Fatalf("the customer's clipboard holds %q (%v)", got, err)
	}
	if err := other.SetClipboard("copied by Cleo"); err != nil {
		t.Fatal(err)
	}
	ap.truthy("the customer's clipboard arrives", `document.getElementById("remote-clip-in").value === "copied by Cleo"`)
	app.waitFor("The text you copied was sent to Ann", 1)

	// View only: with control off, a click does nothing; the next click
	// after turning it on is the next X event.
	ap.do("turn control off", cdp.Click(cdp.ID("remote-control-toggle")))
	ap.clickScreen(600, 500)
	ap.do("turn control on", cdp.Click(cdp.ID("remote-control-toggle")))
	ap.clickScreen(300, 250)
	if ev := desktop.next("a click after view-only"); ev.kind != "button" || abs(ev.x-300) > 1 || abs(ev.y-250) > 1 {
		t.Fatalf("X event = %v: the view-only click reached the customer", ev)
	}

	// Files. Ann sends one, the customer accepts: it arrives byte-identical.
	payload := make([]byte, 300<<10+17)
	rand.Read(payload)
	sent := filepath.Join(t.TempDir(), "report.bin")
	if err := os.WriteFile(sent, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	ap.truthy("the file input is ready", `!document.getElementById("remote-file").disabled`)
	ap.do("send a file", cdp.SetUploadFiles(cdp.ID("remote-file"), []string{sent}))
	app.answer(4, true)
	app.waitFor("Received report.bin", 1)
	got, err := os.ReadFile(filepath.Join(app.home, "Downloads", "report.bin"))
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("the customer's copy: %d bytes (want %d), %v", len(got), len(payload), err)
	}
	// Another one, refused: nothing is written, not even a partial file.
	refused := filepath.Join(t.TempDir(), "unwanted.bin")
	os.WriteFile(refused, payload[:1000], 0o600)
	ap.do("send another file", cdp.SetUploadFiles(cdp.ID("remote-file"), []string{refused}))
	app.answer(5, false)
	app.waitFor("You refused unwanted.bin", 1)
	if names, _ := filepath.Glob(filepath.Join(app.home, "Downloads", "unwanted*")); len(names) != 0 {
		t.Fatalf("a refused file left %v", names)
	}
	// Ann asks for a file; the customer picks one; she saves it.
	theirs := make([]byte, 200<<10+3)
	rand.Read(theirs)
	if err := os.WriteFile(filepath.Join(app.home, "log.txt"), theirs, 0o600); err != nil {
		t.Fatal(err)
	}
	ap.do("ask for a file", cdp.Click(cdp.ID("remote-pick")))
	app.waitFor("Type the path of the file", 1)
	io.WriteString(app.stdin, filepath.Join(app.home, "log.txt")+"\n")
	app.waitFor("log.txt was sent to", 1)
	link := `#remote-transfers a.remote-download`
	ap.truthy("the download link", fmt.Sprintf("!!document.querySelector(%q)", link))
	if b := (remoteTab{ap}).download(link, "log.txt"); !bytes.Equal(b, theirs) {
		t.Fatalf("Ann's copy holds %d bytes, not the %d the customer sent", len(b), len(theirs))
	}

	// Bob joins the session in his own browser and sees the same screen.
	bobBrowser := testenv.Browser(t)
	bp := page{t, testenv.NewTab(t, bobBrowser)}
	bp.signIn(d.Base, "bob", deskPassword)
	bp.do("open the session", cdp.Navigate(sessionPath))
	bp.live()
	// Ann's yes was for Ann: Bob's view is a new question naming him. The
	// customer declines: his canvas stays unpainted while Ann's streams.
	bp.do("bob views", cdp.Click(cdp.ID("remote-view")))
	app.waitFor("Technician Bob wants to see your screen", 1)
	app.answer(6, false)
	bp.waitText("#remote-status", "declined")
	desktop.fill(0, 0, w/2, h/2, 0x204060)
	ap.waitPixel("ann keeps streaming", 10, 10, 0x204060)
	if got := bp.pixel(10, 10); got == 0x204060 || got == quadrantColors[0] {
		t.Fatalf("Bob's canvas shows the screen (%06x) although the customer declined him", got)
	}
	bp.do("bob asks again", cdp.Click(cdp.ID("remote-view")))
	app.answer(7, true)
	bp.waitPixel("bob sees the top-left corner", 10, 10, 0x204060)
	bp.waitPixel("bob sees the bottom-right quadrant", w-10, h-10, quadrantColors[3])

	// Ann hands control to Bob: the customer is asked about Bob.
	ap.do("choose bob", cdp.SetValue(cdp.ID("remote-give"), bob))
	ap.do("give control", cdp.Click(cdp.ID("remote-give-go")))
	app.waitFor("Technician Bob wants to use your mouse and keyboard", 1)
	app.answer(8, true)
	bp.truthy("bob controls", `document.getElementById("remote-status").textContent.includes("Controlling")`)
	bp.clickScreen(400, 300)
	if ev := desktop.next("bob's click"); ev.kind != "button" || abs(ev.x-400) > 1 || abs(ev.y-300) > 1 {
		t.Fatalf("X event = %v, want Bob's click at 400,300", ev)
	}
	app.waitFor("Watching your screen now: Ann, Bob. Bob can use your mouse and keyboard.", 1)
	// The trail names whom each answer was for, and the files.
	for _, want := range []string{
		"The customer allowed Ann Archer to see the screen",
		"The customer declined to let Bob Baker see the screen",
		"The customer allowed Bob Baker to see the screen",
		"The customer allowed Bob Baker to use the mouse and keyboard",
		"Ann Archer handed control to Bob Baker",
		"Ann Archer sent the customer the file report.bin (300.0 KiB, SHA-256 ",
		"The customer sent the file log.txt (200.0 KiB, SHA-256 ",
		"Bob Baker started watching the screen page",
	} {
		bp.waitText("#trail", want)
	}

	// Vera, view only, in a tampered browser that keeps the data channel
	// to post frames herself: the customer allows her to view, but no
	// click or file of hers reaches the customer, and the customer's files
	// do not reach her.
	veraBrowser := testenv.Browser(t)
	vp := page{t, testenv.NewTab(t, veraBrowser)}
	if _, err := cdp.Call(vp.ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{Source: `(() => {
		const create = RTCPeerConnection.prototype.createDataChannel;
		RTCPeerConnection.prototype.createDataChannel = function (...a) { const ch = create.apply(this, a); window.__wire = ch; return ch; };
	})()`}); err != nil {
		t.Fatal(err)
	}
	vp.signIn(d.Base, "vera", deskPassword)
	vp.do("open the session", cdp.Navigate(sessionPath))
	vp.live()
	vp.truthy("a view-only console", `!document.getElementById("remote-viewonly").hidden && document.getElementById("remote-control-ask").hidden`)
	vp.do("vera views", cdp.Click(cdp.ID("remote-view")))
	app.waitFor("Technician Vera wants to see your screen", 1)
	app.answer(9, true)
	vp.waitPixel("vera sees the screen", w-10, h-10, quadrantColors[3])
	// Raw frames: a click at 50,50 (Input: kind 2, down, x, y, button 1)
	// and a file offer.
	vp.truthy("vera's frames are sent", `(() => {
		const f = (type, payload) => { const b = new Uint8Array(6 + payload.length); b[0] = type; new DataView(b.buffer).setUint32(2, payload.length); b.set(payload, 6); return b; };
		const input = new Uint8Array(14); const v = new DataView(input.buffer);
		v.setUint8(0, 2); v.setUint8(1, 1); v.setInt32(2, 50); v.setInt32(6, 50); v.setUint32(10, 1);
		const name = new TextEncoder().encode("evil.sh");
		const offer = new Uint8Array(4 + 2 + name.length + 8 + 2); const o = new DataView(offer.buffer);
		o.setUint32(0, 99); o.setUint16(4, name.length); offer.set(name, 6); o.setUint32(6 + name.length + 4, 3);
		window.__seen = [];
		window.__wire.addEventListener("message", (ev) => { if (ev.data instanceof ArrayBuffer) window.__seen.push(new Uint8Array(ev.data)[0]); });
		window.__wire.send(f(30, input)); window.__wire.send(f(30, input)); window.__wire.send(f(40, offer));
		window.__wire.send(f(4, new Uint8Array(8)));
		return true; })()`)
	// The relay refused the offer (FileCancel) and, after all three,
	// answered the ping: it has judged every frame before Bob clicks.
	vp.truthy("the relay judged vera's frames", `window.__seen.includes(44) && window.__seen.includes(5)`)
	// Bob's next click is the next X event: Vera's never arrived.
	bp.clickScreen(410, 310)
	if ev := desktop.next("bob's second click"); ev.kind != "button" || abs(ev.x-410) > 1 || abs(ev.y-310) > 1 {
		t.Fatalf("X event = %v: a view-only technician's click reached the customer", ev)
	}
	// Bob asks for a file: it reaches Bob, not Vera.
	bp.do("bob asks for a file", cdp.Click(cdp.ID("remote-pick")))
	app.waitFor("Type the path of the file", 2)
	io.WriteString(app.stdin, filepath.Join(app.home, "log.txt")+"\n")
	app.waitFor("log.txt was sent to", 2)
	bp.truthy("bob's download link", fmt.Sprintf("!!document.querySelector(%q)", link))
	if n := eval[int](vp, `document.querySelectorAll("#remote-transfers .remote-download").length`); n != 0 {
		t.Fatalf("the customer's file reached Vera (%d links)", n)
	}
	if out, _ := app.out.snapshot(); strings.Contains(out, "evil.sh") {
		t.Fatalf("Vera's file offer reached the customer:\n%s", out)
	}

	// Bob's browser dies (SIGKILL); Ann's picture keeps flowing.
	if err := cdp.FromContext(bobBrowser).Browser.Process().Kill(); err != nil {
		t.Fatal(err)
	}
	desktop.fill(0, 0, w/2, h/2, 0x101010)
	ap.waitPixel("ann sees the change after bob left", 10, 10, 0x101010)
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
