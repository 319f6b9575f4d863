package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumEnv names the environment variable that points Chromium at a
// browser binary other than the Debian ones.
const ChromiumEnv = "SWITCHBOARD_CHROMIUM"

// chromiumCandidates are the browsers Chromium looks for, best first: the
// headless shell is smaller and needs no display.
var chromiumCandidates = []string{
	"/usr/bin/chromium-headless-shell",
	"chromium-headless-shell",
	"/usr/bin/chromium",
	"chromium",
}

// Chromium requires a Chromium browser and returns its path: the binary
// named by $SWITCHBOARD_CHROMIUM if set, else Debian's chromium-headless-shell,
// else chromium.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(ChromiumEnv); p != "" {
		path, err := exec.LookPath(p)
		Require(t, "chromium", err == nil, fmt.Sprintf("%s=%s: %v", ChromiumEnv, p, err))
		return path
	}
	for _, name := range chromiumCandidates {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	Require(t, "chromium", false, "neither chromium-headless-shell nor chromium is installed; run `make deps` (apt-get install chromium-headless-shell)")
	return ""
}

// closeTimeout bounds the graceful close of a browser at the end of a test.
const closeTimeout = 10 * time.Second

// Browser starts a headless Chromium for the test and returns the chromedp
// context of its first tab; run actions on it with chromedp.Run or
// chromedp.Do. The browser has a fresh profile in t.TempDir(), no background
// networking, and accepts any TLS certificate (the dev daemon's is
// self-signed). It is closed when the test ends.
//
// Tabs that need their own cookies and storage come from NewTab.
func Browser(t testing.TB) context.Context {
	t.Helper()
	return startBrowser(t)
}

// MediaFlags make Chromium capture without a person or a screen. With
// chromium-headless-shell 156 the fake UI answers the prompts of
// getUserMedia and getDisplayMedia (without it getDisplayMedia fails with
// NotSupportedError), and the fake devices supply the pictures: a fake
// screen of 800×450 with a moving pattern (without them, "NotReadableError:
// Could not start video source").
var MediaFlags = []chromedp.ExecAllocatorOption{
	chromedp.Flag("use-fake-ui-for-media-stream", true),
	chromedp.Flag("use-fake-device-for-media-stream", true),
}

// BrowserWithMedia is Browser with MediaFlags: getDisplayMedia and
// getUserMedia succeed at once, with fake devices.
func BrowserWithMedia(t testing.TB) context.Context {
	t.Helper()
	return startBrowser(t, MediaFlags...)
}

// startBrowser starts Chromium for Browser, with extra options.
func startBrowser(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := Chromium(t)
	out := new(lockedBuffer)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.IgnoreCertErrors,
		chromedp.CombinedOutput(out),
	)
	opts = append(opts, extra...)
	if os.Geteuid() == 0 {
		// Chromium's sandbox refuses to run as root.
		opts = append(opts, chromedp.NoSandbox)
	}
	// Not t.Context(): it is canceled before cleanups run, which would kill
	// the browser instead of closing it.
	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	// The first Do starts the browser and binds it to ctx.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		allocCancel()
		t.Fatalf("start %s: %v\nbrowser output:\n%s", path, err, out.tail(4096))
	}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(ctx, closeTimeout)
		defer ccancel()
		if err := chromedp.Cancel(cctx); err != nil {
			t.Logf("close browser: %v", err)
		}
		cancel()
		allocCancel() // waits for the browser process to exit
	})
	return ctx
}

// NewTab opens a tab in a new browser context of the browser that browser
// (from Browser) belongs to, and returns its chromedp context. Like an
// incognito window, the tab shares no cookies, storage or cache with the
// browser's other tabs or with other NewTab tabs, so one test can act as a
// customer and a technician at once. The tab and its browser context are
// disposed of when the test ends.
func NewTab(t testing.TB, browser context.Context) context.Context {
	t.Helper()
	if c := chromedp.FromContext(browser); c == nil || c.Browser == nil {
		t.Fatalf("testenv.NewTab: the context does not come from testenv.Browser")
	}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("open tab: %v", err)
	}
	t.Cleanup(cancel)
	return ctx
}

// lockedBuffer collects the browser's output for error messages; the
// browser writes it from another goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// maxOutput bounds what lockedBuffer keeps of a chatty browser.
const maxOutput = 64 << 10

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len()+len(p) > maxOutput {
		keep := max(maxOutput-len(p), 0)
		b.buf.Next(b.buf.Len() - min(keep, b.buf.Len()))
	}
	return b.buf.Write(p)
}

// tail returns the last n bytes written.
func (b *lockedBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	data := b.buf.Bytes()
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}
