package e2e

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"

	cdp "github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/appliance/wire/stamp"
	"github.com/switchboardhq/switchboard/tools/daemon"
	"github.com/switchboardhq/switchboard/tools/testenv"
)

// udpBlocked is the box as seen from a network that drops UDP: TCP to
// its port is forwarded to the box, UDP on the same port is read and
// dropped, as a firewall's DROP rule does (no answer, no error).
func udpBlocked(t *testing.T, box string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hole, err := net.ListenPacket("udp", ln.Addr().String())
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		b := make([]byte, 2048)
		for {
			if _, _, err := hole.ReadFrom(b); err != nil {
				return
			}
		}
	})
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", box)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, up)
			mu.Unlock()
			wg.Go(func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite() })
			wg.Go(func() { io.Copy(c, up); c.(*net.TCPConn).CloseWrite() })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		hole.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// TestRemoteOverTCPUnderXvfb: the customer's network drops UDP. The
// support app falls back to TLS over TCP by itself, the session works (the
// screen, a window that moves, sent as copies), and the console says the
// app is connected over TCP.
func TestRemoteOverTCPUnderXvfb(t *testing.T) {
	t.Parallel()
	display := testenv.Xvfb(t)
	desktop := newXWin(t, display)
	desktop.quadrants()

	d, cust, ap := helpSession(t)
	boxAddr := strings.TrimPrefix(d.Base, "https://")

	// The app as downloaded, pointed at the box through the network that
	// drops UDP (the same pin, token and page settings as stamped).
	blocked := udpBlocked(t, boxAddr)
	app := downloadWith(t, cust, display, func(bin string) []string {
		token, addr, err := stamp.Read(bin)
		if err != nil {
			t.Fatal(err)
		}
		_, frag, _ := strings.Cut(addr, "#")
		return []string{"-box", blocked + "#" + frag, "-token", token}
	})
	ap.waitText("#device-state", "Connected")
	ap.waitText("#device-transport", "TCP")
	ap.waitText("#trail", "over TCP (UDP blocked)")

	ap.do("view the screen", cdp.Click(cdp.ID("remote-view")))
	app.answer(1, true)
	w, h := desktop.w, desktop.h
	ap.waitPixel("top-left quadrant", 10, 10, quadrantColors[0])
	ap.waitPixel("bottom-right quadrant", w-10, h-10, quadrantColors[3])

	// A window with text-like content is drawn, then moved: the console
	// shows it at its new place, and the app sent the move as copies.
	colours := []uint32{0x101010, 0xf0f0f0, 0x3060c0, 0xc03030}
	r := rand.New(rand.NewPCG(8, 9))
	cells := make([]uint32, 40*30)
	for i := range cells {
		cells[i] = colours[r.IntN(len(colours))]
	}
	window := func(x0, y0 int) {
		for i, c := range cells {
			desktop.fill(x0+i%40*4, y0+i/40*4, 4, 4, c)
		}
	}
	window(100, 80)
	ap.waitPixel("the window", 100+2, 80+2, cells[0])
	// Moved at once, then what it uncovered painted as desktop.
	desktop.copyArea(100, 80, 137, 103, 160, 120)
	desktop.fill(100, 80, 37, 120, quadrantColors[0])
	desktop.fill(100, 80, 160, 23, quadrantColors[0])
	ap.waitPixel("the moved window", 137+2+39*4, 103+2+29*4, cells[len(cells)-1])
	ap.waitPixel("its old place", 100+2, 80+2, quadrantColors[0])
	ap.truthy("the move went as copies", `/ [1-9][0-9]* moves/.test(document.getElementById("remote-stats").textContent)`)
}

// helpSession starts a box with a site "Help" and the technician Ann; a
// customer, Cleo, asks Ann for help and Ann accepts in the console.
func helpSession(t *testing.T) (*daemon.Daemon, *daemon.Client, page) {
	t.Helper()
	port := testenv.FreePort(t)
	d := daemon.Start(t, daemon.Options{Extra: map[string]any{"https_addr": fmt.Sprintf("127.0.0.1:%d", port)}})
	admin := setupAdmin(t, d, "/login", "admin")
	ann := consoleTechnician(t, d, admin, "ann", "Ann Archer")
	if resp, body := postValues(t, d, admin, "/login/sites", url.Values{"name": {"Help"}, "hostnames": {"help.example"},
		"tech_list": {"1"}, "session_key": {"1"}, "survey_mode": {"issue"}, "ask_name": {"1"}}); resp.StatusCode != 303 {
		t.Fatalf("create the site: %d %s", resp.StatusCode, body)
	}
	cust := d.NewClient()
	if resp, body := cust.Post("/start/technician/"+ann, map[string]string{"name": "Cleo"}); resp.StatusCode != 303 {
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
	ap.live()
	return d, cust, ap
}
