package e2e

import (
	"bytes"
	"cmp"
	"compress/zlib"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/wire/tile"
	"html/template"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/input"
	cdp "github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/switchboardhq/switchboard/appliance/wire"
	"github.com/switchboardhq/switchboard/tools/testenv"
)

// remoteCSP is the product's Content-Security-Policy, copied from
// appliance/web/headers.go: remote.js must work under it.
const remoteCSP = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

const remoteCSRF = "csrf-token-of-the-remote-test"

// remotePage is the console's #remote container with the test hook on; the
// stub media.js stands in for the appliance's WebRTC data channel.
var remotePage = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Remote control</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{{.CSRF}}">
<link rel="stylesheet" href="/assets/app.css">
<link rel="stylesheet" href="/assets/console.css">
<link rel="stylesheet" href="/assets/remote.css">
<script src="/test/media-stub.js" defer></script>
<script src="/assets/app.js" defer></script>
<script type="module" src="/assets/remote.js"></script>
</head><body><main>
<section class="card remote-card"><h2>Customer's computer</h2>
<div id="remote" data-session="7" data-me="{{.Me}}" data-owner="{{.Owner}}" data-control="{{.Control}}" data-files="{{.Files}}" data-controller="{{.Controller}}"{{with .People}} data-collaborators="{{.}}"{{end}} data-rtc="/console/sessions/7/rtc" data-control-url="/console/sessions/7/control" data-test="1"></div>
</section></main></body></html>`))

// remoteControl is a hand-over the page posted.
type remoteControl struct {
	token  string
	ctype  string
	viewer uint64
}

// remoteServer serves the test page, the real assets and the stub, with
// the product's CSP, and records control hand-overs.
func remoteServer(t *testing.T) (string, chan remoteControl) {
	t.Helper()
	assets := filepath.Join("..", "..", "appliance", "web", "assets")
	control := make(chan remoteControl, 8)
	serveFile := func(w http.ResponseWriter, path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", mime.TypeByExtension(filepath.Ext(path)))
		w.Write(b)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		right := func(name string) string { // the technician's rights default to all
			if q.Get(name) == "false" {
				return "false"
			}
			return "true"
		}
		remotePage.Execute(w, map[string]string{
			"CSRF": remoteCSRF, "Me": q.Get("me"), "Owner": q.Get("owner"), "Controller": q.Get("controller"), "People": q.Get("people"),
			"Control": right("control"), "Files": right("files"),
		})
	})
	mux.HandleFunc("GET /assets/{name}", func(w http.ResponseWriter, r *http.Request) {
		switch name := r.PathValue("name"); name {
		case "app.js", "app.css", "console.css", "remote.js", "remote-wire.js", "remote-util.js", "remote-files.js", "remote.css":
			serveFile(w, filepath.Join(assets, name))
		default:
			http.NotFound(w, r)
		}
	})
	mux.HandleFunc("GET /test/media-stub.js", func(w http.ResponseWriter, r *http.Request) {
		serveFile(w, filepath.Join("testdata", "remote", "media-stub.js"))
	})
	mux.HandleFunc("POST /console/sessions/7/control", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Viewer uint64 `json:"viewer"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, `{"error":"bad json"}`, http.StatusBadRequest)
			return
		}
		control <- remoteControl{token: r.Header.Get("X-CSRF-Token"), ctype: r.Header.Get("Content-Type"), viewer: body.Viewer}
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", remoteCSP)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, control
}

// remoteTab is a tab on the test page.
type remoteTab struct{ page }

func openRemote(t *testing.T, chromium context.Context, base string, q url.Values) remoteTab {
	t.Helper()
	p := remoteTab{page{t, testenv.NewTab(t, chromium)}}
	p.do("open the remote test page", cdp.Navigate(base+"/?"+q.Encode()))
	p.wait("remote.js has built the viewer", `window.switchboardRemote && window.fakeWire && document.querySelector("#remote-view")`)
	return p
}

// wait polls the JavaScript expression until it is true.
func (p remoteTab) wait(what, expr string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	_, err := cdp.Run(ctx, cdp.Poll[bool]("!!("+expr+")", cdp.WithPollingInterval(10*time.Millisecond), cdp.WithPollingTimeout(15*time.Second)))
	if err != nil {
		p.fail("wait until "+what, fmt.Errorf("%s stayed false: %w", expr, err))
	}
}

func (p remoteTab) js(expr string) {
	p.t.Helper()
	p.do("run "+expr, cdp.Evaluate[cdp.Void](expr))
}

// feed delivers each message as one frame on the data channel.
func (p remoteTab) feed(msgs ...wire.Message) {
	p.t.Helper()
	for _, m := range msgs {
		f, err := wire.Encode(m)
		if err != nil {
			p.t.Fatalf("encode %T: %v", m, err)
		}
		b, err := wire.AppendFrame(nil, f)
		if err != nil {
			p.t.Fatal(err)
		}
		p.feedRaw(b)
	}
}

func (p remoteTab) feedRaw(b []byte) {
	p.t.Helper()
	p.js(fmt.Sprintf("fakeWire.deliver(%q)", base64.StdEncoding.EncodeToString(b)))
}

// count is how many frames the page has sent.
func (p remoteTab) count() int {
	p.t.Helper()
	return eval[int](p.page, "fakeWire.count()")
}

// sentSince decodes the frames sent after the first n; each message on the
// channel must be exactly one valid frame.
func (p remoteTab) sentSince(n int) []wire.Message {
	p.t.Helper()
	var msgs []wire.Message
	for i, s := range eval[[]string](p.page, fmt.Sprintf("fakeWire.sent(%d)", n)) {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			p.t.Fatal(err)
		}
		r := bytes.NewReader(b)
		f, err := wire.ReadFrame(r, nil)
		if err != nil || r.Len() != 0 {
			p.t.Fatalf("sent message %d is not one frame (%d bytes left): %v\n% x", n+i, r.Len(), err, b[:min(len(b), 64)])
		}
		m, err := wire.Decode(f)
		if err != nil {
			p.t.Fatalf("sent frame %d (type %d) does not decode: %v\n% x", n+i, f.Type, err, b[:min(len(b), 64)])
		}
		msgs = append(msgs, m)
	}
	return msgs
}

// waitSent waits until k frames were sent after the first n and returns all
// frames sent after n.
func (p remoteTab) waitSent(n, k int) []wire.Message {
	p.t.Helper()
	p.wait(fmt.Sprintf("%d frames sent", n+k), fmt.Sprintf("fakeWire.count() >= %d", n+k))
	return p.sentSince(n)
}

// mark feeds a Ping, waits for its Pong and returns the frames sent after
// the first n and before the Pong: every frame the page sent before the Ping
// arrived.
func (p remoteTab) mark(n int, nonce uint64) []wire.Message {
	p.t.Helper()
	p.feed(wire.Ping{Nonce: nonce})
	p.wait("the pong", fmt.Sprintf("fakeWire.count() > %d && fakeWire.channel.sent[fakeWire.count()-1][0] === %d", n, wire.TPong))
	msgs := p.sentSince(n)
	if pong, ok := msgs[len(msgs)-1].(wire.Pong); !ok || pong.Nonce != nonce {
		p.t.Fatalf("answer to ping %d: %#v", nonce, msgs[len(msgs)-1])
	}
	return msgs[:len(msgs)-1]
}

func (p remoteTab) click(id string) {
	p.t.Helper()
	p.do("click #"+id, cdp.Click(cdp.ID(id)))
}

// pixels reads RGBA pixels of the canvas.
func (p remoteTab) pixels(x, y, w, h int) []byte {
	p.t.Helper()
	b, err := base64.StdEncoding.DecodeString(eval[string](p.page, fmt.Sprintf("fakeWire.pixels(%d, %d, %d, %d)", x, y, w, h)))
	if err != nil {
		p.t.Fatal(err)
	}
	return b
}

// noErrors checks that the page threw nothing and broke no CSP rule.
func (p remoteTab) noErrors() {
	p.t.Helper()
	if errs := eval[[]string](p.page, "fakeWire.errors"); len(errs) > 0 {
		p.t.Errorf("the page reported errors:\n%s", strings.Join(errs, "\n"))
	}
}

// connect views the screen: the page asks for "view", the customer allows.
func (p remoteTab) connect() {
	p.t.Helper()
	p.click("remote-view")
	msgs := p.waitSent(0, 1)
	if ask, ok := msgs[0].(wire.ConsentAsk); !ok || ask.What != "view" || ask.Technician != "" {
		p.t.Fatalf("first frame: %#v, want ConsentAsk view", msgs[0])
	}
	if v := eval[int](p.page, "fakeWire.extra && fakeWire.extra.wire"); v != wire.Version {
		p.t.Errorf("the page says it draws wire version %d, want %d", v, wire.Version)
	}
	if u := eval[string](p.page, "fakeWire.url"); u != "/console/sessions/7/rtc" {
		p.t.Errorf("connected to %q, want the data-rtc URL", u)
	}
	p.waitText("#remote-status", "Waiting for the customer to allow viewing")
	p.feed(wire.ConsentReply{Granted: true, What: "view"})
	p.waitText("#remote-status", "Viewing")
}

// remoteWheel turns the mouse wheel at (x, y) by dx, dy CSS pixels. The
// protocol wants both deltas and drops zeros: a zero is sent as a sliver.
func remoteWheel(x, y, dx, dy float64) cdp.Action[cdp.Void] {
	return cdp.MouseEvent(cdp.MouseWheel, x, y, func(e *input.DispatchMouseEventParams) {
		e.DeltaX, e.DeltaY = cmp.Or(dx, 1e-6), cmp.Or(dy, 1e-6)
	})
}

// download clicks the link css, as a person saving a file does, and
// returns the file the browser saved under name.
func (p remoteTab) download(css, name string) []byte {
	p.t.Helper()
	dir := p.t.TempDir()
	_, err := cdp.CallBrowser(p.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, BrowserContextID: cdp.FromContext(p.ctx).BrowserContextID,
		DownloadPath: dir, EventsEnabled: new(true),
	})
	if err != nil {
		p.fail("allow downloads", err)
	}
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	events := cdp.BrowserEvents(ctx, browser.DownloadProgress)
	p.do("click "+css, cdp.Click(cdp.CSS(css)))
	for e, err := range events {
		if err != nil {
			p.fail("wait for the download", err)
		}
		if e.State == browser.DownloadProgressStateCanceled {
			p.fail("download", fmt.Errorf("canceled"))
		}
		if e.State == browser.DownloadProgressStateCompleted {
			break
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		p.t.Fatalf("the download: %v", err)
	}
	return b
}

// rect is a box on the page in CSS pixels.
type rect struct{ Left, Top, Width, Height float64 }

// at returns the CSS position of the centre of screen pixel (x, y) on a
// canvas showing a w×h screen.
func (r rect) at(x, y, w, h int) (float64, float64) {
	return r.Left + (float64(x)+0.5)*r.Width/float64(w), r.Top + (float64(y)+0.5)*r.Height/float64(h)
}

func (p remoteTab) canvasRect() rect {
	p.t.Helper()
	p.do("scroll to the screen", cdp.ScrollIntoView(cdp.ID("remote-canvas")))
	return eval[rect](p.page, `(() => { const r = document.querySelector("#remote-canvas").getBoundingClientRect(); return {Left: r.left, Top: r.top, Width: r.width, Height: r.height} })()`)
}

// rgbScreen is the screen a test expects, RGB.
type rgbScreen struct {
	w, h int
	pix  []byte
}

func newRGBScreen(w, h int) *rgbScreen { return &rgbScreen{w, h, make([]byte, w*h*3)} }

func (s *rgbScreen) put(x, y, w, h int, rgb []byte) {
	for row := range h {
		copy(s.pix[((y+row)*s.w+x)*3:], rgb[row*w*3:(row+1)*w*3])
	}
}

func (s *rgbScreen) fill(x, y, w, h int, c [3]byte) {
	s.put(x, y, w, h, bytes.Repeat(c[:], w*h))
}

func noise(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// gradient is a smooth w×h RGB picture, kind to JPEG.
func gradient(w, h int) []byte {
	b := make([]byte, 0, w*h*3)
	for y := range h {
		for x := range w {
			b = append(b, byte(40+x*2), byte(60+y*2), byte(200-x-y))
		}
	}
	return b
}

func zlibBytes(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	z := zlib.NewWriter(&buf)
	z.Write(b)
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// jpegTile encodes an RGB tile as JPEG and returns it with the pixels Go's
// decoder reads back from it.
func jpegTile(t *testing.T, w, h int, rgb []byte) ([]byte, []byte) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range w * h {
		img.Pix[i*4], img.Pix[i*4+1], img.Pix[i*4+2], img.Pix[i*4+3] = rgb[i*3], rgb[i*3+1], rgb[i*3+2], 255
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	dec, err := jpeg.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	back := make([]byte, 0, w*h*3)
	for y := range h {
		for x := range w {
			c := color.RGBAModel.Convert(dec.At(x, y)).(color.RGBA)
			back = append(back, c.R, c.G, c.B)
		}
	}
	return buf.Bytes(), back
}

// paletteTile encodes per-pixel colour indexes as EncPaletteRLE.
func paletteTile(palette [][3]byte, idx []byte) []byte {
	b := []byte{byte(len(palette))}
	for _, c := range palette {
		b = append(b, c[:]...)
	}
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && idx[j] == idx[i] {
			j++
		}
		b = append(b, idx[i])
		b = binary.AppendUvarint(b, uint64(j-i))
		i = j
	}
	return b
}

// TestRemoteJS drives appliance/web/assets/remote.js in headless Chromium on
// a page with the product's CSP and a stub media.js: screen tiles of every
// encoding drawn in order, input mapped to screen pixels and keysyms only
// while controlling, control hand-over, and files both ways.
func TestRemoteJS(t *testing.T) {
	t.Parallel()
	base, control := remoteServer(t)
	chromium := testenv.Browser(t)

	t.Run("Tiles", func(t *testing.T) {
		p := openRemote(t, chromium, base, url.Values{"me": {"5"}, "controller": {"0"}, "owner": {"false"}})
		p.connect()
		const W, H = 200, 136
		p.feed(wire.DeviceInfo{OS: "linux", Hostname: "desk-1", User: "cleo", Screens: []wire.Screen{{Width: W, Height: H}}, Capture: true})
		p.wait("the canvas has the screen's size", fmt.Sprintf(`(c => c.width === %d && c.height === %d && !c.hidden)(document.querySelector("#remote-canvas"))`, W, H))

		rng := rand.New(rand.NewChaCha8([32]byte{6}))
		want := newRGBScreen(W, H)
		var tiles []wire.Message
		tile := func(x, y, w, h int, enc uint8, data []byte) {
			tiles = append(tiles, wire.Tile{X: uint16(x), Y: uint16(y), W: uint16(w), H: uint16(h), Encoding: enc, Data: data})
		}
		// Raw.
		raw := noise(rng, 64*64*3)
		tile(0, 0, 64, 64, wire.EncRaw, raw)
		want.put(0, 0, 64, 64, raw)
		// Solid.
		tile(64, 0, 64, 64, wire.EncSolid, []byte{12, 200, 99})
		want.fill(64, 0, 64, 64, [3]byte{12, 200, 99})
		// Palette and RLE, with runs of one pixel and runs needing two
		// uvarint bytes (300 and 3696), one across rows.
		pal := [][3]byte{{255, 0, 0}, {0, 0, 255}, {250, 250, 250}}
		idx := make([]byte, 64*64)
		for i := 300; i < 400; i++ {
			idx[i] = byte(1 + i%2)
		}
		for i := 400; i < len(idx); i++ {
			idx[i] = 1
		}
		tile(128, 0, 64, 64, wire.EncPaletteRLE, paletteTile(pal, idx))
		palRGB := make([]byte, 0, 64*64*3)
		for _, i := range idx {
			palRGB = append(palRGB, pal[i][:]...)
		}
		want.put(128, 0, 64, 64, palRGB)
		// A narrow raw tile at the right edge.
		edge := noise(rng, 8*72*3)
		tile(192, 0, 8, 72, wire.EncRaw, edge)
		want.put(192, 0, 8, 72, edge)
		// Deflate.
		def := noise(rng, 64*64*3)
		tile(0, 64, 64, 64, wire.EncDeflate, zlibBytes(t, def))
		want.put(0, 64, 64, 64, def)
		// JPEG, then a raw tile over part of it: drawn after it although
		// the JPEG decodes asynchronously.
		jpg, jpgBack := jpegTile(t, 64, 64, gradient(64, 64))
		tile(64, 64, 64, 64, wire.EncJPEG, jpg)
		want.put(64, 64, 64, 64, jpgBack)
		over := noise(rng, 16*16*3)
		tile(112, 112, 16, 16, wire.EncRaw, over)
		want.put(112, 112, 16, 16, over)
		// Deflate, then a solid tile over part of it.
		def2 := noise(rng, 64*64*3)
		tile(128, 64, 64, 64, wire.EncDeflate, zlibBytes(t, def2))
		want.put(128, 64, 64, 64, def2)
		tile(144, 80, 32, 32, wire.EncSolid, []byte{1, 2, 3})
		want.fill(144, 80, 32, 32, [3]byte{1, 2, 3})
		// The rest: the right column and the bottom rows.
		right := noise(rng, 8*56*3)
		tile(192, 72, 8, 56, wire.EncRaw, right)
		want.put(192, 72, 8, 56, right)
		for i, x := range []int{0, 64, 128} {
			c := [3]byte{byte(90 + i), 30, byte(160 - i)}
			tile(x, 128, 64, 8, wire.EncSolid, c[:])
			want.fill(x, 128, 64, 8, c)
		}
		// Broken tiles are skipped: runs short of the tile, a raw tile
		// of the wrong length, a deflate stream that is not one.
		short := paletteTile(pal, idx[:4000])
		tile(0, 0, 64, 64, wire.EncPaletteRLE, short)
		tile(0, 0, 64, 64, wire.EncRaw, raw[:100])
		tile(0, 64, 64, 64, wire.EncDeflate, []byte("not zlib"))
		// The bottom right corner ends a second frame: once it shows,
		// the whole first frame was drawn.
		tile(192, 128, 8, 8, wire.EncSolid, []byte{7, 7, 7})
		want.fill(192, 128, 8, 8, [3]byte{7, 7, 7})
		last := len(tiles) - 1
		p.feed(tiles[:last]...)
		p.feed(wire.FrameEnd{Seq: 1}, tiles[last], wire.FrameEnd{Seq: 2})
		p.wait("the second frame is drawn", `(d => d[0] === 7 && d[1] === 7 && d[2] === 7)(switchboardRemote.canvas().getContext("2d").getImageData(199, 135, 1, 1).data)`)

		got := p.pixels(0, 0, W, H)
		inJPEG := func(x, y int) bool { return x >= 64 && x < 128 && y >= 64 && y < 128 && !(x >= 112 && y >= 112) }
		bad, worst := 0, 0
		for y := range H {
			for x := range W {
				for c := range 3 {
					g, w := int(got[(y*W+x)*4+c]), int(want.pix[(y*W+x)*3+c])
					d := max(g-w, w-g)
					if inJPEG(x, y) {
						worst = max(worst, d)
						if d <= 12 {
							continue
						}
					} else if d == 0 {
						continue
					}
					if bad++; bad <= 5 {
						t.Errorf("pixel (%d,%d) channel %d = %d, want %d", x, y, c, g, w)
					}
				}
				if a := got[(y*W+x)*4+3]; a != 255 {
					t.Fatalf("pixel (%d,%d) alpha %d", x, y, a)
				}
			}
		}
		if bad > 0 {
			t.Fatalf("%d channel values differ", bad)
		}
		t.Logf("JPEG tile: largest difference from Go's decoder %d", worst)

		// A tile past the edge grows the screen and keeps what it shows.
		p.feed(wire.Tile{X: 200, Y: 136, W: 16, H: 16, Encoding: wire.EncSolid, Data: []byte{9, 8, 7}}, wire.FrameEnd{Seq: 3})
		p.wait("the canvas grew", `(c => c.width === 216 && c.height === 152)(switchboardRemote.canvas())`)
		if g := p.pixels(205, 140, 1, 1); !bytes.Equal(g[:3], []byte{9, 8, 7}) {
			t.Errorf("grown corner: %v", g)
		}
		if g := p.pixels(0, 0, 1, 1); !bytes.Equal(g[:3], raw[:3]) {
			t.Errorf("after growing, pixel (0,0) is %v, want %v", g[:3], raw[:3])
		}
		if g := p.pixels(210, 10, 1, 1); !bytes.Equal(g, []byte{0, 0, 0, 255}) {
			t.Errorf("new area: %v, want black", g)
		}

		// Fit follows the page's width; 1:1 shows screen pixels.
		p.click("remote-actual")
		p.wait("1:1", `(c => c.getBoundingClientRect().width === c.width)(switchboardRemote.canvas())`)
		p.click("remote-fit")
		p.wait("fit", `(c => Math.abs(c.getBoundingClientRect().width - c.parentElement.clientWidth) < 1 && c.width < c.parentElement.clientWidth)(switchboardRemote.canvas())`)

		p.screenshot("remote-screen")
		p.waitText("#remote-stats", "tiles")
		if s := p.text("#remote-stats"); !strings.Contains(s, "frames/s") || !strings.Contains(s, "KiB/s") || !strings.Contains(s, "last frame") {
			t.Errorf("counters: %q", s)
		}
		// A viewer that is not the controller sends no input.
		r := p.canvasRect()
		x, y := r.at(10, 10, 216, 152)
		n := p.count()
		p.do("click the screen", cdp.MouseClickXY(x, y))
		if msgs := p.mark(n, 1); len(msgs) != 0 {
			t.Errorf("a viewer without control sent %#v", msgs)
		}
		p.noErrors()
	})

	// The golden frames of appliance/wire/tile, which the Go codec's test
	// checks too: remote.js draws each as Go decodes it (JPEG within a few
	// levels, browsers' decoders differ).
	t.Run("Golden", func(t *testing.T) {
		b, err := os.ReadFile("../../appliance/wire/tile/testdata/golden.json")
		if err != nil {
			t.Fatal(err)
		}
		var golden []struct {
			Name     string
			W, H     int
			Encoding uint8
			Data     []byte
			RGB      []byte
		}
		if err := json.Unmarshal(b, &golden); err != nil || len(golden) < 5 {
			t.Fatalf("golden frames: %d, %v", len(golden), err)
		}
		p := openRemote(t, chromium, base, url.Values{"me": {"5"}, "controller": {"0"}, "owner": {"false"}})
		p.connect()
		W, H := 64*len(golden), 65 // a row below the tiles for the marker
		p.feed(wire.DeviceInfo{OS: "linux", Screens: []wire.Screen{{Width: W, Height: H}}, Capture: true})
		p.wait("the canvas has the screen's size", fmt.Sprintf(`(c => c.width === %d)(document.querySelector("#remote-canvas"))`, W))
		var frame []wire.Message
		for i, g := range golden {
			frame = append(frame, wire.Tile{X: uint16(64 * i), W: uint16(g.W), H: uint16(g.H), Encoding: g.Encoding, Data: g.Data})
		}
		// A last solid tile marks the frame drawn: tiles are drawn in order.
		frame = append(frame, wire.Tile{X: uint16(W - 1), Y: 64, W: 1, H: 1, Encoding: wire.EncSolid, Data: []byte{1, 2, 3}}, wire.FrameEnd{Seq: 1})
		p.feed(frame...)
		p.wait("the golden frame is drawn", fmt.Sprintf(`(d => d[0] === 1 && d[1] === 2 && d[2] === 3)(switchboardRemote.canvas().getContext("2d").getImageData(%d, 64, 1, 1).data)`, W-1))
		for i, g := range golden {
			got := p.pixels(64*i, 0, g.W, g.H)
			tol, worst := 0, 0
			if g.Encoding == wire.EncJPEG {
				tol = 12
			}
			for j := range g.W * g.H {
				for c := range 3 {
					d := int(got[j*4+c]) - int(g.RGB[j*3+c])
					worst = max(worst, d, -d)
				}
			}
			if worst > tol {
				t.Errorf("%s (encoding %d): a channel differs by %d from Go's decoder (allowed %d)", g.Name, g.Encoding, worst, tol)
			}
		}
		p.noErrors()
	})

	// The golden streams of appliance/wire/tile: copies and tiles as the
	// Tiler sent them; remote.js must draw exactly the pixels recorded.
	t.Run("GoldenStreams", func(t *testing.T) {
		b, err := os.ReadFile("../../appliance/wire/tile/testdata/streams.json")
		if err != nil {
			t.Fatal(err)
		}
		var streams []tile.Stream
		if err := json.Unmarshal(b, &streams); err != nil || len(streams) == 0 {
			t.Fatalf("golden streams: %d, %v", len(streams), err)
		}
		for _, g := range streams {
			p := openRemote(t, chromium, base, url.Values{"me": {"5"}, "controller": {"0"}, "owner": {"false"}})
			p.connect()
			p.feed(wire.DeviceInfo{OS: "linux", Screens: []wire.Screen{{Width: g.W, Height: g.H}}, Capture: true})
			p.wait("the canvas has the screen's size", fmt.Sprintf(`(c => c.width === %d)(document.querySelector("#remote-canvas"))`, g.W))
			k, copies := 0, 0
			for s, n := range g.Steps {
				var step []byte
				for _, f := range g.Frames[k : k+n] {
					step = append(step, f...)
					if wire.Type(f[0]) == wire.TCopy {
						copies++
					}
				}
				k += n
				p.feedRaw(step)
				p.wait(fmt.Sprintf("step %d is drawn", s), fmt.Sprintf("switchboardRemote.frames() === %d", s+1))
				rgba := p.pixels(0, 0, g.W, g.H)
				rgb := make([]byte, 0, g.W*g.H*3)
				for i := 0; i+3 < len(rgba); i += 4 {
					rgb = append(rgb, rgba[i], rgba[i+1], rgba[i+2])
				}
				if sum := sha256.Sum256(rgb); !bytes.Equal(sum[:], g.Sums[s]) {
					t.Errorf("%s step %d: remote.js drew other pixels than the Go decoder", g.Name, s)
				}
			}
			if copies == 0 {
				t.Errorf("%s: no copy in the stream", g.Name)
			}
			p.noErrors()
		}
	})

	t.Run("Input", func(t *testing.T) {
		people, _ := json.Marshal([]map[string]any{{"id": 5, "name": "Bo"}, {"id": 9, "name": "Ann"}})
		p := openRemote(t, chromium, base, url.Values{"me": {"5"}, "controller": {"5"}, "owner": {"false"}, "people": {string(people)}})
		p.connect()
		const W, H = 480, 160
		p.feed(wire.DeviceInfo{Screens: []wire.Screen{{Width: W, Height: H}}, Capture: true},
			wire.Tile{W: W, H: H, Encoding: wire.EncSolid, Data: []byte{30, 30, 30}}, wire.FrameEnd{Seq: 1})
		p.wait("the screen shows", `switchboardRemote.canvas().width === 480`)

		// Before the customer allows control, nothing is sent.
		// at finds screen pixel (x, y) on the page, scrolled into view.
		at := func(x, y int) (float64, float64) { return p.canvasRect().at(x, y, W, H) }
		x, y := at(20, 20)
		n := p.count()
		p.do("click before control", cdp.MouseClickXY(x, y), cdp.Focus(cdp.ID("remote-canvas")), cdp.KeyEvent("a"))
		if msgs := p.mark(n, 1); len(msgs) != 0 {
			t.Fatalf("sent before control was granted: %#v", msgs)
		}
		n = p.count()
		p.click("remote-control-ask")
		if msgs := p.waitSent(n, 1); msgs[0] != (wire.ConsentAsk{What: "control"}) {
			t.Fatalf("request control sent %#v", msgs[0])
		}
		p.waitText("#remote-status", "Waiting for the customer to allow control")
		p.feed(wire.ConsentReply{Granted: true, What: "control"})
		p.waitText("#remote-status", "Controlling")

		inputs := func(msgs []wire.Message, skipMoves bool) []wire.Input {
			var in []wire.Input
			for _, m := range msgs {
				i, ok := m.(wire.Input)
				if !ok {
					t.Errorf("sent %#v among input", m)
					continue
				}
				if skipMoves && i.Kind == wire.InputMove {
					continue
				}
				in = append(in, i)
			}
			return in
		}
		check := func(what string, got, want []wire.Input) {
			t.Helper()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s sent\n%v\nwant\n%v", what, got, want)
			}
		}

		// Mouse: a move, a left and a right click, the wheel.
		n = p.count()
		x, y = at(100, 50)
		p.do("move the mouse", cdp.MouseEvent(cdp.MouseMoved, x, y))
		check("a move", inputs(p.waitSent(n, 1), false), []wire.Input{{Kind: wire.InputMove, X: 100, Y: 50}})

		x, y = at(300, 120)
		n = p.count()
		p.do("left click", cdp.MouseClickXY(x, y))
		check("a left click", inputs(p.mark(n, 2), true), []wire.Input{
			{Kind: wire.InputButton, Down: true, X: 300, Y: 120, Code: 1}, {Kind: wire.InputButton, X: 300, Y: 120, Code: 1}})

		x, y = at(479, 159)
		n = p.count()
		p.do("right click", cdp.MouseClickXY(x, y, cdp.ButtonRight))
		check("a right click", inputs(p.mark(n, 3), true), []wire.Input{
			{Kind: wire.InputButton, Down: true, X: 479, Y: 159, Code: 3}, {Kind: wire.InputButton, X: 479, Y: 159, Code: 3}})
		if menus := eval[[]bool](p.page, "fakeWire.contextMenus"); len(menus) == 0 || !menus[len(menus)-1] {
			t.Errorf("context menu events (prevented?): %v", menus)
		}

		x, y = at(200, 80)
		n = p.count()
		p.do("wheel", remoteWheel(x, y, 0, 120), remoteWheel(x, y, 0, -240), remoteWheel(x, y, 100, 0))
		check("the wheel", inputs(p.mark(n, 4), true), []wire.Input{
			{Kind: wire.InputWheel, Y: 1}, {Kind: wire.InputWheel, Y: -2}, {Kind: wire.InputWheel, X: 1}})

		// Keys: characters are their Latin-1 or Unicode keysyms.
		key := func(sym uint32) []wire.Input {
			return []wire.Input{{Kind: wire.InputKey, Down: true, Code: sym}, {Kind: wire.InputKey, Code: sym}}
		}
		n = p.count()
		p.do("type", cdp.Focus(cdp.ID("remote-canvas")), cdp.KeyEvent("a"), cdp.KeyEvent("A"), cdp.KeyEvent(kb.Enter))
		p.js(`(c => { for (const k of ["é", "€", "F5", "ArrowLeft"]) {
			c.dispatchEvent(new KeyboardEvent("keydown", {key: k, code: "K" + k, bubbles: true, cancelable: true}));
			c.dispatchEvent(new KeyboardEvent("keyup", {key: k, code: "K" + k, bubbles: true, cancelable: true})); } })(switchboardRemote.canvas())`)
		check("keys", inputs(p.mark(n, 5), false), append(append(append(append(append(append(
			key(0x61), key(0x41)...), key(0xff0d)...), key(0xe9)...), key(0x010020ac)...), key(0xffc2)...), key(0xff51)...))

		n = p.count()
		p.do("send Ctrl-Alt-Del", cdp.Click(cdp.CSS("#remote-keys summary")), cdp.Click(cdp.CSS(`[data-combo="Ctrl-Alt-Del"]`)))
		check("Ctrl-Alt-Del", inputs(p.mark(n, 6), false), []wire.Input{
			{Kind: wire.InputKey, Down: true, Code: 0xffe3}, {Kind: wire.InputKey, Down: true, Code: 0xffe9}, {Kind: wire.InputKey, Down: true, Code: 0xffff},
			{Kind: wire.InputKey, Code: 0xffff}, {Kind: wire.InputKey, Code: 0xffe9}, {Kind: wire.InputKey, Code: 0xffe3}})

		// A Windows app says it cannot send Ctrl-Alt-Del: the console says
		// so and sends nothing.
		p.feed(wire.DeviceInfo{OS: "windows", Screens: []wire.Screen{{Width: W, Height: H}}, Capture: true, Refuses: []string{"Ctrl-Alt-Del"}})
		p.wait("the combination is marked", `document.querySelector('[data-combo="Ctrl-Alt-Del"]').getAttribute("aria-disabled") === "true"`)
		n = p.count()
		p.do("send Ctrl-Alt-Del to Windows", cdp.Click(cdp.CSS("#remote-keys summary")), cdp.Click(cdp.CSS(`[data-combo="Ctrl-Alt-Del"]`)))
		if msgs := p.mark(n, 16); len(msgs) != 0 {
			t.Errorf("sent a combination the app refuses: %#v", msgs)
		}
		p.waitText(".remote-note", "does not let the support app send Ctrl-Alt-Del")

		// Clipboard text, while controlling.
		n = p.count()
		p.do("send the clipboard", cdp.SetValue(cdp.ID("remote-clip-text"), "héllo wörld\n2"), cdp.Click(cdp.ID("remote-clip-send")))
		if msgs := p.waitSent(n, 1); msgs[0] != (wire.Clipboard{Text: "héllo wörld\n2"}) {
			t.Errorf("clipboard sent %#v", msgs[0])
		}
		p.feed(wire.Clipboard{Text: "from the customer"})
		p.wait("the customer's clipboard shows", `document.querySelector("#remote-clip-in").value === "from the customer"`)
		p.screenshot("remote-controlling")

		// View only: control off, then another technician in control. (The
		// wheel turns sideways: the page has nothing to scroll that way.)
		viewOnly := func(nonce uint64) {
			t.Helper()
			x, y := at(50, 50)
			n := p.count()
			p.do("input while viewing only", cdp.MouseEvent(cdp.MouseMoved, x-3, y), cdp.MouseClickXY(x, y),
				remoteWheel(x, y, 120, 0), cdp.Focus(cdp.ID("remote-canvas")), cdp.KeyEvent("b"))
			p.js(`document.querySelector('[data-combo="Alt-Tab"]').click(); document.querySelector("#remote-clip-send").click()`)
			if msgs := p.mark(n, nonce); len(msgs) != 0 {
				t.Errorf("sent while viewing only: %#v", msgs)
			}
		}
		p.click("remote-control-toggle")
		p.waitText("#remote-status", "Your control is off")
		viewOnly(7)
		p.click("remote-control-toggle")
		p.waitText("#remote-status", "Controlling")
		p.js(`document.dispatchEvent(new CustomEvent("switchboard:controller", {detail: {controller: 9}}))`)
		p.waitText("#remote-status", "View only: Ann has control.")
		p.wait("the control toggle is gone", `document.querySelector("#remote-control-toggle").hidden`)
		viewOnly(8)
		p.js(`document.dispatchEvent(new CustomEvent("switchboard:controller", {detail: {controller: 5}}))`)
		p.waitText("#remote-status", "Controlling")
		n = p.count()
		x, y = at(1, 2)
		p.do("move with control back", cdp.MouseEvent(cdp.MouseMoved, x, y))
		check("a move with control back", inputs(p.waitSent(n, 1), false), []wire.Input{{Kind: wire.InputMove, X: 1, Y: 2}})
		p.noErrors()
	})

	t.Run("Handover", func(t *testing.T) {
		people, _ := json.Marshal([]map[string]any{{"id": 5, "name": "Bo"}, {"id": 9, "name": "Ann"}})
		p := openRemote(t, chromium, base, url.Values{"me": {"5"}, "controller": {"5"}, "owner": {"true"}, "people": {string(people)}})
		if opts := eval[[]string](p.page, `[...document.querySelectorAll("#remote-give option")].map(o => o.value + " " + o.textContent)`); fmt.Sprint(opts) != "[0 Nobody (view only) 5 Me 9 Ann]" {
			t.Errorf("hand-over choices: %q", opts)
		}
		p.do("give control to Ann", cdp.SetValue(cdp.ID("remote-give"), "9"), cdp.Click(cdp.ID("remote-give-go")))
		want := remoteControl{token: remoteCSRF, ctype: "application/json", viewer: 9}
		if got := <-control; got != want {
			t.Errorf("hand-over posted %+v, want %+v", got, want)
		}
		p.waitText("#remote-status", "Ann has control.")
		p.click("remote-take")
		if got := <-control; got.viewer != 5 || got.token != remoteCSRF {
			t.Errorf("take back posted %+v", got)
		}
		p.waitText("#remote-status", "You have control.")
		p.wait("take back is hidden", `document.querySelector("#remote-take").hidden`)
		p.noErrors()
	})

	t.Run("Files", func(t *testing.T) {
		p := openRemote(t, chromium, base, url.Values{"me": {"5"}, "controller": {"0"}, "owner": {"false"}})
		p.connect()
		rng := rand.New(rand.NewChaCha8([32]byte{7}))
		content := noise(rng, 2<<20+3)
		path := filepath.Join(t.TempDir(), "report.bin")
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(content)
		p.wait("file input enabled", `!document.querySelector("#remote-file").disabled`)

		// offer chooses the file and returns the offer sent.
		offer := func() wire.FileOffer {
			t.Helper()
			n := p.count()
			p.do("choose a file", cdp.SetUploadFiles(cdp.ID("remote-file"), []string{path}))
			o, ok := p.waitSent(n, 1)[0].(wire.FileOffer)
			if !ok || o.Name != "report.bin" || o.Size != uint64(len(content)) || o.ID == 0 || o.ID&0x80000000 != 0 {
				t.Fatalf("offer: %#v", o)
			}
			return o
		}
		// chunks checks the chunks sent after n from offset to the end,
		// and the FileDone after them.
		chunks := func(n int, id uint32, from int) {
			t.Helper()
			p.wait("the file is sent", fmt.Sprintf("fakeWire.count() > %d && fakeWire.channel.sent[fakeWire.count()-1][0] === %d", n, wire.TFileDone))
			msgs := p.sentSince(n)
			off := from
			for _, m := range msgs[:len(msgs)-1] {
				c, ok := m.(wire.FileChunk)
				if !ok || c.ID != id || int(c.Offset) != off || len(c.Data) == 0 || len(c.Data) > wire.MaxChunk || !bytes.Equal(c.Data, content[off:off+len(c.Data)]) {
					t.Fatalf("at %d: %T id %d offset %d, %d bytes", off, m, c.ID, c.Offset, len(c.Data))
				}
				off += len(c.Data)
			}
			if off != len(content) {
				t.Fatalf("chunks end at %d of %d", off, len(content))
			}
			if d := msgs[len(msgs)-1]; d != (wire.FileDone{ID: id, SHA256: sum}) {
				t.Fatalf("done: %#v, want the file's SHA-256", d)
			}
		}
		item := func(dir string, id uint32) string { return fmt.Sprintf(`[data-transfer="%s:%d"]`, dir, id) }

		// The channel buffers what is sent until drained: remote.js stops
		// once more than 512 KiB wait, and goes on when the buffer drains.
		p.js("fakeWire.channel.slow = true")
		o := offer()
		p.waitText(item("out", o.ID), "Waiting for the customer to accept")
		n := p.count()
		p.feed(wire.FileAnswer{ID: o.ID, Accept: true})
		// Frames of a full chunk are 6+12+64 KiB bytes: the eighth one
		// takes the buffer past 512 KiB.
		const full = (512<<10)/(wire.HeaderLen+12+wire.MaxChunk) + 1
		p.wait("the channel fills", fmt.Sprintf("fakeWire.count() >= %d", n+full))
		if got := p.count() - n; got != full {
			t.Errorf("%d chunks sent before the channel drained, want %d (past 512 KiB)", got, full)
		}
		p.js("fakeWire.drain(false)")
		chunks(n, o.ID, 0)
		p.waitText(item("out", o.ID), "the customer's computer is checking it")
		p.feed(wire.FileDone{ID: o.ID, SHA256: sum})
		p.waitText(item("out", o.ID), "Delivered")

		// Resume: the customer has the first part already.
		o = offer()
		n = p.count()
		p.feed(wire.FileAnswer{ID: o.ID, Accept: true, Offset: 1<<20 + 5})
		chunks(n, o.ID, 1<<20+5)

		// The customer's computer cancels and says why.
		o = offer()
		p.js("fakeWire.channel.slow = true")
		p.feed(wire.FileAnswer{ID: o.ID, Accept: true}, wire.FileCancel{ID: o.ID, Reason: "the disk is full: free some space, then send it again"})
		p.waitText(item("out", o.ID), "Stopped: the disk is full: free some space, then send it again")
		p.js("fakeWire.drain(false)")

		// Refused.
		o = offer()
		p.feed(wire.FileAnswer{ID: o.ID})
		p.waitText(item("out", o.ID), "The customer refused the file.")

		// Customer to technician: asked, offered, accepted, assembled,
		// checked, confirmed and offered as a download.
		n = p.count()
		p.click("remote-pick")
		if msgs := p.waitSent(n, 1); msgs[0] != (wire.ConsentAsk{What: "pick-file"}) {
			t.Fatalf("ask for a file sent %#v", msgs[0])
		}
		p.waitText("#remote-status", "Waiting for the customer to choose a file")
		in := noise(rng, 150_000)
		inSum := sha256.Sum256(in)
		const inID = 0x80000001
		n = p.count()
		p.feed(wire.FileOffer{ID: inID, Name: "log.txt", Size: uint64(len(in))})
		if msgs := p.waitSent(n, 1); msgs[0] != (wire.FileAnswer{ID: inID, Accept: true}) {
			t.Fatalf("answer to the customer's offer: %#v", msgs[0])
		}
		for off := 0; off < len(in); off += wire.MaxChunk {
			p.feed(wire.FileChunk{ID: inID, Offset: uint64(off), Data: in[off:min(off+wire.MaxChunk, len(in))]})
		}
		n = p.count()
		p.feed(wire.FileDone{ID: inID, SHA256: inSum})
		link := item("in", inID) + " a.remote-download"
		p.wait("the download link", fmt.Sprintf("document.querySelector(%q)", link))
		if msgs := p.waitSent(n, 1); msgs[0] != (wire.FileDone{ID: inID, SHA256: inSum}) {
			t.Errorf("confirmation: %#v", msgs[0])
		}
		if name := eval[string](p.page, fmt.Sprintf("document.querySelector(%q).download", link)); name != "log.txt" {
			t.Errorf("download name %q", name)
		}
		if b := p.download(link, "log.txt"); !bytes.Equal(b, in) {
			t.Errorf("the download holds %d bytes, not the %d sent", len(b), len(in))
		}

		// An offer nobody here asked for waits for a click; a damaged
		// file is refused with the reason.
		const badID = 0x80000002
		p.feed(wire.FileOffer{ID: badID, Name: "bad.bin", Size: 10})
		p.waitText(item("in", badID), "The customer offers this file.")
		n = p.count()
		p.do("receive", cdp.Click(cdp.CSS(item("in", badID)+" button")))
		if msgs := p.waitSent(n, 1); msgs[0] != (wire.FileAnswer{ID: badID, Accept: true}) {
			t.Fatalf("answer: %#v", msgs[0])
		}
		n = p.count()
		p.feed(wire.FileChunk{ID: badID, Data: []byte("0123456789")}, wire.FileDone{ID: badID, SHA256: inSum})
		p.waitText(item("in", badID), "damaged")
		p.screenshot("remote-files")
		if c, ok := p.waitSent(n, 1)[0].(wire.FileCancel); !ok || c.ID != badID || !strings.Contains(c.Reason, "checksum") {
			t.Errorf("damaged file answered %#v", c)
		}
		p.noErrors()
	})
}
