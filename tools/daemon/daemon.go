// Package daemon starts the real applianced binary for tests and benchmarks:
// it builds the binary once, writes a config on free loopback ports, listens
// on a NOTIFY_SOCKET for READY=1, reads the setup links the daemon prints,
// and gives an HTTPS client that keeps cookies and fills in CSRF tokens.
package daemon

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/clients"
	"github.com/switchboardhq/switchboard/tools/testenv"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error

	clientMu     sync.Mutex
	clientBuilds = map[string]*clientBuild{}
)

// ClientsDir is where the daemons find the support app builds (the config's
// clients_dir): next to the applianced binary.
func ClientsDir(t testing.TB) string {
	return filepath.Join(filepath.Dir(Binary(t)), "clients")
}

// SupportClient builds cmd/supportclient for linux/amd64 once per process
// into ClientsDir, where every daemon hands it out, and returns its path.
func SupportClient(t testing.TB) string {
	t.Helper()
	return SupportClientFor(t, "linux-amd64")
}

// SupportClientFor is SupportClient for platform ("windows-amd64").
func SupportClientFor(t testing.TB, platform string) string {
	t.Helper()
	goos, goarch, _ := strings.Cut(platform, "-")
	path := filepath.Join(ClientsDir(t), clients.File(platform))
	clientMu.Lock()
	b := clientBuilds[platform]
	if b == nil {
		b = &clientBuild{}
		clientBuilds[platform] = b
	}
	clientMu.Unlock()
	b.once.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			b.err = err
			return
		}
		cmd := exec.Command("go", "build", "-o", path, "./cmd/supportclient")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build ./cmd/supportclient for %s: %v\n%s", platform, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return path
}

type clientBuild struct {
	once sync.Once
	err  error
}

// RemoveBinary deletes the binary Binary built; call it from TestMain after
// m.Run.
func RemoveBinary() {
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
}

// Binary builds cmd/applianced once per process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "applianced-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "applianced")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/applianced")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// Daemon is one running applianced.
type Daemon struct {
	t        testing.TB
	Bin      string
	StateDir string
	Config   string
	Port     int
	Base     string // https://127.0.0.1:PORT
	// SetupLinks holds the one-time setup URLs printed at the last start,
	// keyed by "/login" and "/appliance".
	SetupLinks map[string]string

	cmd    *exec.Cmd
	out    *syncBuffer
	notify *net.UnixConn
	done   chan error
	// ReadyAccepting tells whether HTTPS accepted a TLS handshake at the
	// moment READY=1 arrived, at the last start.
	ReadyAccepting bool
	// Notes receives every sd_notify line the daemon sends after READY=1
	// (WATCHDOG=1, STATUS=..., STOPPING=1); extra lines are dropped when
	// nobody reads.
	Notes chan string
	env   []string
	wrap  []string
	kick  string
	args  []string
	ns    *testenv.Netns
}

// dial opens a connection where the daemon runs.
func (d *Daemon) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.ns != nil {
		return d.ns.Dial(ctx, network, addr)
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

// Options tune Start.
type Options struct {
	// StateDir reuses a state directory (restarts); empty makes a new one.
	StateDir string
	// Extra adds fields to the config file.
	Extra map[string]any
	// Env adds environment variables ("K=V").
	Env []string
	// Wrap runs the daemon under another program (e.g.
	// systemd-socket-activate): the daemon's argv is appended to Wrap.
	Wrap []string
	// Kick, if set, is a TCP address dialled once after the start, for
	// wrappers that launch the daemon on the first connection.
	Kick string
	// Args are extra flags after -dev ("-net-apply").
	Args []string
	// Netns runs the daemon inside a network namespace; Base is then its
	// loopback there, and the clients dial inside it.
	Netns *testenv.Netns
}

// Start runs applianced in dev mode on free ports and waits until it has
// sent READY=1. It stops the daemon when the test ends.
func Start(t testing.TB, opts Options) *Daemon {
	t.Helper()
	d := &Daemon{t: t, Bin: Binary(t), StateDir: opts.StateDir, env: opts.Env, wrap: opts.Wrap, kick: opts.Kick, args: opts.Args, ns: opts.Netns}
	if d.StateDir == "" {
		d.StateDir = filepath.Join(t.TempDir(), "state")
	}
	cfg := map[string]any{
		"version":    1,
		"state_dir":  d.StateDir,
		"https_addr": "127.0.0.1:0",
		"http_addr":  "",
		// WebRTC on any free loopback port; support apps from ClientsDir.
		"rtc_udp_addr": "127.0.0.1:0",
		"clients_dir":  ClientsDir(t),
		// Tests start many sessions from loopback.
		"public_starts_per_minute": 0,
	}
	for k, v := range opts.Extra {
		cfg[k] = v
	}
	b, _ := json.Marshal(cfg)
	d.Config = filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(d.Config, b, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Stop() })
	d.start()
	return d
}

// start launches the process and waits for READY=1.
func (d *Daemon) start() {
	t := d.t
	t.Helper()
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	d.notify = conn
	d.out = &syncBuffer{}
	argv := append(append(append([]string{}, d.wrap...), d.Bin, "-dev"), d.args...)
	argv = append(argv, "-config", d.Config)
	d.cmd = exec.Command(argv[0], argv[1:]...)
	d.cmd.Env = append(append(os.Environ(), "NOTIFY_SOCKET="+sock), d.env...)
	d.cmd.Stdout = d.out
	d.cmd.Stderr = d.out
	start := d.cmd.Start
	if d.ns != nil {
		start = func() error { return d.ns.Start(d.cmd) }
	}
	if err := start(); err != nil {
		t.Fatal(err)
	}
	d.done = make(chan error, 1)
	go func() { d.done <- d.cmd.Wait() }()
	if d.kick != "" {
		go func() {
			// The wrapper listens already; the connection waits in its
			// backlog until the daemon accepts it.
			for range 100 {
				if c, err := net.Dial("tcp", d.kick); err == nil {
					c.Close()
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}

	ready := make(chan struct{})
	notes := make(chan string, 64)
	d.Notes = notes
	go func() {
		buf := make([]byte, 4096)
		isReady := false
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			for _, line := range strings.Split(string(buf[:n]), "\n") {
				switch {
				case line == "READY=1" && !isReady:
					isReady = true
					close(ready)
				case isReady:
					select {
					case notes <- line:
					default:
					}
				}
			}
		}
	}()
	select {
	case <-ready:
	case err := <-d.done:
		d.done <- err
		t.Fatalf("applianced exited before READY=1: %v\n%s", err, d.out.String())
	case <-time.After(60 * time.Second):
		d.Kill()
		t.Fatalf("applianced sent no READY=1 within 60s\n%s", d.out.String())
	}
	// The moment READY=1 arrives, HTTPS must already accept.
	d.Port = d.portFromOutput()
	d.Base = fmt.Sprintf("https://127.0.0.1:%d", d.Port)
	if raw, err := d.dial(context.Background(), "tcp", fmt.Sprintf("127.0.0.1:%d", d.Port)); err == nil {
		c := tls.Client(raw, &tls.Config{InsecureSkipVerify: true})
		d.ReadyAccepting = c.Handshake() == nil
		c.Close()
	}
	d.SetupLinks = map[string]string{}
	for _, m := range setupRe.FindAllStringSubmatch(d.out.String(), -1) {
		d.SetupLinks[m[2]] = m[1]
	}
}

var (
	setupRe = regexp.MustCompile(`(https://\S+?(/login|/appliance)/setup\?token=\w+)`)
	portRe  = regexp.MustCompile(`Site administration https://\S+?:(\d+)/login`)
)

func (d *Daemon) portFromOutput() int {
	// The daemon prints its URLs before READY=1, but the pipe may lag.
	m := d.out.waitFor(portRe, d.done, 30*time.Second)
	if m == nil {
		d.t.Fatalf("applianced printed no URL:\n%s", d.out.String())
	}
	var p int
	fmt.Sscan(m[1], &p)
	return p
}

// Output is everything the daemon printed so far.
func (d *Daemon) Output() string { return d.out.String() }

// Stop sends SIGTERM and waits for the exit; it returns the exit error.
func (d *Daemon) Stop() error {
	if d.cmd == nil || d.cmd.Process == nil {
		return nil
	}
	select {
	case err := <-d.done:
		d.done <- err
		return err
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.done:
		d.done <- err
		d.notify.Close()
		if err == nil && len(d.wrap) > 0 {
			return nil
		}
		return err
	case <-time.After(30 * time.Second):
		d.cmd.Process.Kill()
		return fmt.Errorf("applianced ignored SIGTERM for 30s")
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (d *Daemon) Kill() {
	d.cmd.Process.Kill()
	err := <-d.done
	d.done <- err
	d.notify.Close()
}

// Restart starts the daemon again on the same state directory and config.
// The port may change (the config asks for any free port).
func (d *Daemon) Restart() {
	d.t.Helper()
	d.start()
}

// Client is an HTTPS client with a cookie jar that trusts the daemon's
// self-signed certificate and does not follow redirects.
type Client struct {
	*http.Client
	d    *Daemon
	base string
}

// NewClient returns a fresh client (its own cookies).
// It follows the daemon across restarts (a new port each time).
func (d *Daemon) NewClient() *Client { return d.NewClientVia("", d.dial) }

// NewClientVia is NewClient reaching the daemon at base through dial (from
// another network namespace, at one of the box's addresses); an empty
// base is the daemon's Base at each request.
func (d *Daemon) NewClientVia(base string, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *Client {
	jar, _ := cookiejar.New(nil)
	return &Client{d: d, base: base, Client: &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
			DialContext:     dial,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

var csrfRe = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// Page GETs path and returns status and body.
func (c *Client) Page(path string) (int, string) {
	c.d.t.Helper()
	resp, err := c.Get(c.baseURL() + path)
	if err != nil {
		c.d.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *Client) baseURL() string {
	if c.base != "" {
		return c.base
	}
	return c.d.Base
}

// CSRF loads a page of the daemon and returns the CSRF token it carries.
func (c *Client) CSRF() string {
	c.d.t.Helper()
	_, body := c.Page("/")
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		c.d.t.Fatal("no csrf token on the public page")
	}
	return m[1]
}

// Post submits a form (adding the CSRF token) and returns the response,
// with its body read into a string.
func (c *Client) Post(path string, form map[string]string) (*http.Response, string) {
	c.d.t.Helper()
	resp, body, err := c.TryPost(context.Background(), path, form, c.CSRF())
	if err != nil {
		c.d.t.Fatal(err)
	}
	return resp, body
}

// TryPost is Post with an explicit token that reports errors instead of
// failing the test (for kill tests, where the daemon may vanish mid-request).
func (c *Client) TryPost(ctx context.Context, path string, form map[string]string, token string) (*http.Response, string, error) {
	vals := make([]string, 0, len(form)+1)
	for k, v := range form {
		vals = append(vals, urlEncode(k)+"="+urlEncode(v))
	}
	if token != "" {
		vals = append(vals, "csrf_token="+urlEncode(token))
	}
	req, err := http.NewRequestWithContext(ctx, "POST", c.baseURL()+path, strings.NewReader(strings.Join(vals, "&")))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

func urlEncode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	return s.b.Write(p)
}

// waitFor waits until re matches the output, or the process exits, or the
// timeout passes, and returns the match.
func (s *syncBuffer) waitFor(re *regexp.Regexp, done chan error, timeout time.Duration) []string {
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		m := re.FindStringSubmatch(s.b.String())
		ch := make(chan struct{})
		s.changed = ch
		s.mu.Unlock()
		if m != nil {
			return m
		}
		select {
		case <-ch:
		case err := <-done:
			done <- err // leave the exit status for Stop and Kill
			s.mu.Lock()
			defer s.mu.Unlock()
			return re.FindStringSubmatch(s.b.String())
		case <-deadline:
			return nil
		}
	}
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Control sends one command to the daemon's control socket ("stats",
// "clock 31m", "expire") and returns its one-line answer.
func (d *Daemon) Control(cmd string) (string, error) {
	conn, err := net.Dial("unix", filepath.Join(d.StateDir, "control.sock"))
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "%s\n", cmd); err != nil {
		return "", err
	}
	b := make([]byte, 256)
	n, _ := io.ReadFull(conn, b)
	line := strings.TrimSpace(string(b[:n]))
	if !strings.HasPrefix(line, "OK") {
		return line, fmt.Errorf("control %q: %s", cmd, line)
	}
	return line, nil
}

// RSS returns the daemon's resident memory in bytes (VmRSS of
// /proc/PID/status).
func (d *Daemon) RSS() int64 {
	d.t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.cmd.Process.Pid))
	if err != nil {
		d.t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" && f[2] == "kB" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				d.t.Fatal(err)
			}
			return kb << 10
		}
	}
	d.t.Fatal("no VmRSS in /proc/PID/status")
	return 0
}
