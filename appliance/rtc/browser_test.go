package rtc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cdp "github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/appliance/rtc"
	"github.com/switchboardhq/switchboard/tools/testenv"
)

// mediaFlags are the Chromium flags for capture without a person or a
// screen. With chromium-headless-shell 156, the fake UI answers the
// prompts of getUserMedia and getDisplayMedia (without it getDisplayMedia
// is "NotSupportedError"), and the fake devices supply the pictures: a
// fake screen "screen:-3:0" of 800x450 (without them, "NotReadableError:
// Could not start video source"). Neither --auto-select-desktop-capture-
// source nor --auto-accept-this-tab-capture is needed, nor a user gesture.
var mediaFlags = []cdp.ExecAllocatorOption{
	cdp.Flag("use-fake-ui-for-media-stream", true),
	cdp.Flag("use-fake-device-for-media-stream", true),
}

// mediaBrowser starts headless Chromium like testenv.Browser, plus
// mediaFlags, and returns a function opening isolated tabs.
func mediaBrowser(t *testing.T) func() context.Context {
	t.Helper()
	path := testenv.Chromium(t)
	opts := append(cdp.DefaultExecAllocatorOptions[:],
		cdp.ExecPath(path),
		cdp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		cdp.Headless,
		cdp.DisableGPU,
		cdp.NoFirstRun,
		cdp.Flag("disable-background-networking", true),
		cdp.Flag("disable-component-update", true),
		cdp.Flag("disable-sync", true),
		cdp.IgnoreCertErrors,
	)
	opts = append(opts, mediaFlags...)
	if os.Geteuid() == 0 {
		opts = append(opts, cdp.NoSandbox)
	}
	allocCtx, allocCancel := cdp.NewExecAllocator(context.Background(), opts...)
	browser, cancel := cdp.NewContext(allocCtx)
	if err := cdp.Do(browser); err != nil {
		cancel()
		allocCancel()
		t.Fatalf("start %s: %v", path, err)
	}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(browser, 10*time.Second)
		defer ccancel()
		cdp.Cancel(cctx)
		cancel()
		allocCancel()
	})
	return func() context.Context {
		tab, cancel := cdp.NewContext(browser, cdp.WithNewBrowserContext())
		if err := cdp.Do(tab); err != nil {
			cancel()
			t.Fatalf("open tab: %v", err)
		}
		t.Cleanup(cancel)
		return tab
	}
}

const testCSRF = "csrf-token-for-the-test"

// testPage loads media.js under a strict CSP, as the console does.
const testPage = `<!doctype html>
<html><head><meta charset="utf-8">
<meta name="csrf-token" content="` + testCSRF + `">
<title>media.js test</title>
<script src="/media.js" defer></script>
</head><body><p id="ready">media test</p></body></html>`

// mediaServer serves the test page, media.js and JSON endpoints that call
// g: POST /viewer, /publish and /subscribe take {"sdp", "room"?} and
// answer {"sdp"} or {"error"}.
func mediaServer(t *testing.T, g *rtc.Gateway) *httptest.Server {
	t.Helper()
	js, err := os.ReadFile("../web/assets/media.js")
	if err != nil {
		t.Fatal(err)
	}
	var subscribers atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, testPage)
	})
	mux.HandleFunc("GET /media.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write(js)
	})
	signal := func(answer func(ctx context.Context, room, sdp string) (string, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			reply := func(code int, v any) {
				w.WriteHeader(code)
				json.NewEncoder(w).Encode(v)
			}
			if r.Header.Get("X-CSRF-Token") != testCSRF || r.Header.Get("Content-Type") != "application/json" {
				reply(http.StatusForbidden, map[string]string{"error": "missing CSRF token or JSON content type"})
				return
			}
			var req struct{ SDP, Room string }
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 128<<10)).Decode(&req); err != nil {
				reply(http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
			sdp, err := answer(r.Context(), req.Room, req.SDP)
			switch {
			case errors.Is(err, rtc.ErrNotLive):
				reply(http.StatusConflict, map[string]string{"error": err.Error()})
			case err != nil:
				reply(http.StatusBadRequest, map[string]string{"error": err.Error()})
			default:
				reply(http.StatusOK, map[string]string{"sdp": sdp})
			}
		}
	}
	mux.Handle("POST /viewer", signal(func(ctx context.Context, _, sdp string) (string, error) {
		return g.Viewer(ctx, rtc.Seat{Session: 1, Viewer: 2, Name: "Ada"}, sdp)
	}))
	mux.Handle("POST /publish", signal(func(ctx context.Context, room, sdp string) (string, error) {
		return g.Publish(ctx, room, "customer", sdp)
	}))
	mux.Handle("POST /subscribe", signal(func(ctx context.Context, room, sdp string) (string, error) {
		return g.Subscribe(ctx, room, fmt.Sprintf("tech-%d", subscribers.Add(1)), sdp)
	}))
	srv := httptest.NewTLSServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// browserGateway serves on every interface: Chromium gathers no loopback
// candidates, so it must reach the gateway on the host's own address.
func browserGateway(t *testing.T, hub rtc.Hub) *rtc.Gateway {
	return newGateway(t, hub, rtc.Config{ListenUDP: ":0", Loopback: true})
}

// eval runs an async expression in tab and returns its result.
func eval[T any](t *testing.T, tab context.Context, what, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	v, err := cdp.Run(c, cdp.Evaluate[T](expr, cdp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// open loads the test page in tab and waits for media.js.
func open(t *testing.T, tab context.Context, base string) {
	t.Helper()
	c, cancel := context.WithTimeout(tab, 30*time.Second)
	defer cancel()
	if err := cdp.Do(c, cdp.Navigate(base+"/")); err != nil {
		t.Fatalf("open the test page: %v", err)
	}
	if _, err := cdp.Run(c, cdp.Poll[bool](`!!window.switchboardMedia`)); err != nil {
		t.Fatalf("media.js did not load: %v", err)
	}
}

// TestBrowserViewerEcho: the page's "wire" channel reaches the hub, and a
// frame it sends comes back byte for byte.
func TestBrowserViewerEcho(t *testing.T) {
	g := browserGateway(t, newHub(true))
	srv := mediaServer(t, g)
	tab := mediaBrowser(t)()
	open(t, tab, srv.URL)
	got := eval[string](t, tab, "echo a frame", `(async () => {
		const c = await switchboardMedia.viewerConnection("/viewer");
		if (c.channel.label !== "wire" || !c.channel.ordered || c.channel.binaryType !== "arraybuffer") {
			throw new Error("bad channel " + c.channel.label);
		}
		if (c.channel.readyState !== "open") {
			await new Promise((resolve, reject) => {
				c.channel.addEventListener("open", resolve, {once: true});
				c.channel.addEventListener("close", () => reject(new Error("the channel closed")), {once: true});
			});
		}
		const frame = new Uint8Array(70000);
		for (let i = 0; i < frame.length; i++) frame[i] = (i * 7) & 255;
		const echoed = new Promise((resolve) => {
			c.channel.addEventListener("message", (ev) => resolve(new Uint8Array(ev.data)), {once: true});
		});
		c.channel.send("text is ignored");
		c.channel.send(frame);
		const back = await echoed;
		c.pc.close();
		return back.length === frame.length && back.every((b, i) => b === frame[i]) ? "same" : "differs: " + back.length;
	})()`)
	if got != "same" {
		t.Fatalf("echoed frame %s", got)
	}
	waitFor(t, "the viewer's peer to close", func() bool { return g.Peers() == 0 })
}

// TestBrowserShare: a page shares its screen with getDisplayMedia and three
// other pages watch it in <video> elements that play a picture.
func TestBrowserShare(t *testing.T) {
	g := browserGateway(t, newHub(false))
	srv := mediaServer(t, g)
	newTab := mediaBrowser(t)
	const room = "share-1"

	watcher := newTab()
	open(t, watcher, srv.URL)
	// Before anything is shared, the appliance's message reaches the page.
	msg := eval[string](t, watcher, "subscribe early", `(async () => {
		const v = document.createElement("video");
		try {
			await switchboardMedia.subscribe("/subscribe", v, {room: "`+room+`"});
			return "subscribed";
		} catch (e) {
			return e.message;
		}
	})()`)
	if msg != rtc.ErrNotLive.Error() {
		t.Fatalf("early subscribe: %q, want %q", msg, rtc.ErrNotLive.Error())
	}

	sharer := newTab()
	open(t, sharer, srv.URL)
	label := eval[string](t, sharer, "share the screen", `(async () => {
		const stream = await navigator.mediaDevices.getDisplayMedia({video: true, audio: false});
		window.share = await switchboardMedia.publish("/publish", stream, {room: "`+room+`"});
		return stream.getVideoTracks()[0].label;
	})()`)
	t.Logf("shared track %q", label)
	waitFor(t, "the room to be live", func() bool { return g.Live(room) })

	tabs := []context.Context{watcher, newTab(), newTab()}
	var wg sync.WaitGroup
	sizes := make([]string, len(tabs))
	for i, tab := range tabs {
		if i > 0 {
			open(t, tab, srv.URL)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, cancel := context.WithTimeout(tab, 30*time.Second)
			defer cancel()
			size, err := cdp.Run(c, cdp.Evaluate[string](`(async () => {
				const v = document.createElement("video");
				document.body.append(v);
				window.watch = await switchboardMedia.subscribe("/subscribe", v, {room: "`+room+`"});
				await new Promise((resolve, reject) => {
					const timer = setTimeout(() => reject(new Error("no picture: readyState " + v.readyState + ", " + window.watch.pc.connectionState)), 20000);
					const check = () => {
						if (v.videoWidth > 0 && !v.paused && v.readyState >= 2) {
							clearTimeout(timer);
							resolve();
						}
					};
					for (const e of ["loadeddata", "playing", "resize", "timeupdate"]) v.addEventListener(e, check);
					check();
				});
				return v.videoWidth + "x" + v.videoHeight;
			})()`, cdp.EvalAwaitPromise))
			if err != nil {
				t.Errorf("watcher %d: %v", i+1, err)
				return
			}
			sizes[i] = size
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("watchers see %s", strings.Join(sizes, ", "))
	if n := g.Peers(); n != 1+len(tabs) {
		t.Errorf("%d peers, want a publisher and %d subscribers", n, len(tabs))
	}

	// Stopping the share closes the room.
	eval[bool](t, sharer, "stop sharing", `(() => { window.share.close(); return true; })()`)
	waitFor(t, "the room to close", func() bool { return !g.Live(room) })
	waitFor(t, "no peers", func() bool { return g.Peers() == 0 })
}
