package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdp "github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/tools/daemon"
	"github.com/switchboardhq/switchboard/tools/testenv"
)

// The window of tools/wintarget: its two halves' colours (RGB).
const (
	targetLeft  = 0xc81e28 // RGB(200, 30, 40)
	targetRight = 0x146edc // RGB(20, 110, 220)
)

// winLog is the event log tools/wintarget writes.
type winLog struct {
	t    *testing.T
	path string
}

// wait waits until the log has a line for which ok is true, and returns
// it.
func (l winLog) wait(what string, ok func(line string) bool) string {
	l.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(l.path)
		for _, line := range strings.Split(string(b), "\n") {
			if ok(line) {
				return line
			}
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("the Win32 test window logged no %s; its log:\n%s", what, b)
		}
		time.Sleep(50 * time.Millisecond) // a file another process appends to: nothing to wait on
	}
}

func (l winLog) has(line string) bool {
	b, _ := os.ReadFile(l.path)
	for _, got := range strings.Split(string(b), "\n") {
		if got == line {
			return true
		}
	}
	return false
}

// TestRemoteWindowsUnderWine: the real windows/amd64 support app,
// downloaded stamped from the customer's page, runs under Wine on an Xvfb
// display. Go cannot open UDP sockets under Wine 8, so it reaches the box
// over the TCP fallback. The console shows the Win32 test window's
// colours once the customer allows it in the native dialog (a denial
// leaves the canvas unpainted); a click and typed text arrive as Win32
// messages in that window; clipboard text goes both ways.
func TestRemoteWindowsUnderWine(t *testing.T) {
	t.Parallel()
	display := testenv.Xvfb(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "wintarget.exe")
	var wg sync.WaitGroup
	var targetErr error
	wg.Go(func() {
		targetErr = testenv.GoWindows("", "build", "-o", target, "github.com/switchboardhq/switchboard/tools/wintarget")
	})
	wg.Go(func() { daemon.SupportClientFor(t, "windows-amd64") })
	wine := testenv.NewWine(t, display) // boots while the programs build
	x := testenv.NewXdo(t, wine.Env)
	wg.Wait()
	if targetErr != nil {
		t.Fatal(targetErr)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := func(name string, args ...string) {
		t.Helper()
		out := new(lockedOutput)
		cmd := wine.Command(ctx, name, args...)
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		t.Cleanup(func() {
			cancel()
			<-done
			if t.Failed() {
				t.Logf("%s under Wine wrote:\n%s", filepath.Base(name), out.String())
			}
		})
	}
	log := winLog{t, filepath.Join(dir, "target.log")}
	start(target, "-log", testenv.WinPath(log.path))
	log.wait("ready", func(l string) bool { return l == "ready" })

	_, cust, ap := helpSession(t)
	resp, body := cust.Post("/session/client/windows-amd64", nil)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Disposition"), "switchboard-support-windows-amd64.exe") {
		t.Fatalf("download: %d %s %.200q", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
	}
	app := filepath.Join(dir, "switchboard-support-windows-amd64.exe")
	if err := os.WriteFile(app, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	start(app)
	ap.waitText("#device-state", "Connected")
	ap.waitText("#device-facts", "windows/amd64")
	ap.waitText("#device-transport", "TCP")

	// The consent question is a native dialog titled by the site; Esc (or
	// Enter: Deny is the default) denies.
	const title = "Help remote support"
	// The "Stop" window that shows while a technician watches has the
	// same title: a question is a window that was not there before.
	var before []string
	ask := func(what, button string) {
		t.Helper()
		before = x.All(title)
		ap.do(what, cdp.Click(cdp.ID(button)))
	}
	answer := func(allow bool) {
		t.Helper()
		id := x.Find(title, 50, before...)
		if id == "" {
			t.FailNow()
		}
		x.Run("windowfocus", "--sync", id)
		if allow {
			x.Run("key", "--window", id, "Tab", "space") // from Deny to Allow, then press it
		} else {
			x.Run("key", "--window", id, "Escape")
		}
	}
	ask("view the screen", "remote-view")
	answer(false)
	ap.waitText("#remote-status", "declined")
	if got := ap.pixel(100, 150); got == targetLeft {
		t.Fatal("the screen reached the console although the customer declined")
	}
	ask("ask again", "remote-view")
	answer(true)
	ap.waitPixel("the test window's left half", 100, 150, targetLeft)
	ap.waitPixel("the test window's right half", 300, 150, targetRight)
	ap.screenshot("remote-windows")

	// Control: a click and typed text arrive as Win32 messages.
	// While Ann watches, the always-on-top window says so and offers Stop.
	if x.Find(title, 0, before...) == "" {
		t.Fatal("no window says the screen is being watched")
	}
	ask("request control", "remote-control-ask")
	answer(true)
	ap.truthy("control is granted", `document.getElementById("remote-status").textContent.includes("Controlling")`)
	// Where the window's client area starts on the screen (Wine draws a
	// frame): the first pixel of its left half's colour, as the console
	// shows it.
	ox, oy := -1, -1
	for i := 0; i < 100 && (ox < 0 || oy < 0); i++ {
		if ox < 0 && ap.pixel(i, 150) == targetLeft {
			ox = i
		}
		if oy < 0 && ap.pixel(100, i) == targetLeft {
			oy = i
		}
	}
	if ox < 0 || oy < 0 {
		t.Fatalf("the test window's corner is not on the console's canvas (%d, %d)", ox, oy)
	}
	ap.clickScreen(120, 140)
	click := log.wait("click", func(l string) bool { return strings.HasPrefix(l, "click ") })
	var cx, cy int
	if _, err := fmt.Sscanf(click, "click %d %d", &cx, &cy); err != nil || abs(cx-(120-ox)) > 1 || abs(cy-(140-oy)) > 1 {
		t.Fatalf("the window got %q, want a click at %d,%d (screen 120,140, client area at %d,%d)", click, 120-ox, 140-oy, ox, oy)
	}
	ap.do("focus the screen", cdp.Focus(cdp.ID("remote-canvas")))
	ap.do("type", cdp.KeyEvent("hi"))
	log.wait("typed h", func(l string) bool { return l == "char U+0068" })
	log.wait("typed i", func(l string) bool { return l == "char U+0069" })

	// Clipboard, technician to customer: the window sees it arrive.
	ap.do("send the clipboard", cdp.SetValue(cdp.ID("remote-clip-text"), "from Ann: Grüße"), cdp.Click(cdp.ID("remote-clip-send")))
	log.wait("the technician's clipboard", func(l string) bool { return l == "clipboard from Ann: Grüße" })
	// And customer to technician: another program copies text.
	start(target, "-log", testenv.WinPath(filepath.Join(dir, "copier.log")), "-set-clipboard", "copied by Cleo")
	ap.truthy("the customer's clipboard arrives", `document.getElementById("remote-clip-in").value === "copied by Cleo"`)
	if log.has("clipboard copied by Cleo") {
		t.Log("the test window saw the copy too (as it should: one clipboard)")
	}
	ap.waitText("#trail", "The customer allowed Ann Archer to use the mouse and keyboard")

	// A file: the customer is asked in a native dialog, and it lands in
	// their Downloads folder, checked by SHA-256.
	payload := make([]byte, 150<<10+7)
	rand.Read(payload)
	sent := filepath.Join(t.TempDir(), "report.bin")
	if err := os.WriteFile(sent, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	ap.truthy("the file input is ready", `!document.getElementById("remote-file").disabled`)
	before = x.All(title)
	ap.do("send a file", cdp.SetUploadFiles(cdp.ID("remote-file"), []string{sent}))
	answer(true)
	ap.waitText("#trail", "Ann Archer sent the customer the file report.bin")
	downloads := filepath.Join(wine.Prefix, "drive_c", "users", os.Getenv("USER"), "Downloads")
	if os.Getenv("USER") == "" {
		downloads = filepath.Join(wine.Prefix, "drive_c", "users", "root", "Downloads")
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := os.ReadFile(filepath.Join(downloads, "report.bin"))
		if err == nil && bytes.Equal(got, payload) {
			break
		}
		if time.Now().After(deadline) {
			names, _ := filepath.Glob(filepath.Join(downloads, "*"))
			t.Fatalf("report.bin in the customer's Downloads: %d bytes (want %d), %v; the folder holds %v", len(got), len(payload), err, names)
		}
		time.Sleep(50 * time.Millisecond) // a file another process writes: nothing to wait on
	}
}

// lockedOutput collects a process's output.
type lockedOutput struct {
	mu sync.Mutex
	b  strings.Builder
}

func (o *lockedOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *lockedOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
