package qemu_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/switchboardhq/switchboard/image"
	"github.com/switchboardhq/switchboard/tools/qemu"
	"github.com/switchboardhq/switchboard/tools/testenv"
)

// ImageEnv names the environment variable with the disk image to boot
// (`make image-test` sets it to the image `make image` built). Without it
// the test builds the image itself into out/ of the repository, reusing the
// cached base tree of an earlier build.
const ImageEnv = "SWITCHBOARD_IMAGE"

const adminPassword = "correct horse battery staple"

var (
	// switchboard-ready.service prints this once boot-complete.target is
	// reached, which requires applianced to have sent READY=1.
	readyRe    = regexp.MustCompile(`switchboard: applianced is ready`)
	runningRe  = regexp.MustCompile(`Switchboard is running\.`)
	setupRe    = regexp.MustCompile(`https://\S+?/login/setup\?token=(\w+)`)
	dataSizeRe = regexp.MustCompile(`switchboard: data partition (\d+) MiB, /var file system (\d+) MiB`)
	csrfRe     = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)
)

// TestImage boots the appliance image on a disk larger than the image,
// waits for applianced to be ready, checks HTTPS with the box's own
// certificate and HTTP/3, creates the first site administrator with the
// setup link from the serial console, drives the console menu on the
// serial port (a static address on a second network card, kept after HTTPS
// answered on it from the host; an appliance administrator's password
// reset), powers the machine off and on, and signs in again: the account,
// the certificate, the grown data partition and the confirmed network
// configuration survived. The second boot is a trial boot (the entry gets a tries
// counter, as the update installer writes it), which must end with the
// entry marked good.
func TestImage(t *testing.T) {
	img := diskImage(t)
	const diskSize = 6 << 30
	m := qemu.New(t, qemu.CopyDisk(t, img, t.TempDir(), diskSize))
	m.SecondNIC = true

	// First boot.
	m.Boot()
	m.WaitFor(readyRe)
	t.Logf("measured: QEMU start to applianced READY (first boot): %s", qemu.Seconds(time.Since(m.Started())))
	m.WaitFor(runningRe)
	token := m.WaitFor(setupRe)[1]
	c := newClient(t, m)
	cert := c.waitHTTPS()
	t.Logf("measured: QEMU start to HTTPS /login answering: %s", qemu.Seconds(time.Since(m.Started())))
	checkBoxCertificate(t, cert)
	checkHTTP3(t, m)
	// The data partition starts 3328 MiB into the disk (see the image
	// profile) and the image makes it 512 MiB.
	size := m.WaitFor(dataSizeRe)
	if part, _ := strconv.Atoi(size[1]); part < diskSize/(1<<20)-3328-2 {
		t.Errorf("data partition %s MiB on a 6 GiB disk: it did not grow to the end (console: %q)", size[1], size[0])
	}
	if fs, _ := strconv.Atoi(size[2]); fs < 2000 {
		t.Errorf("/var file system %s MiB on a 6 GiB disk: it did not grow (console: %q)", size[2], size[0])
	}
	c.setupAdmin(token)
	checkConsoleMenu(t, m, c)
	m.PowerOff()
	first := m.Console().String()
	if !strings.Contains(first, "growing the data partition") {
		t.Errorf("the first boot did not grow the data partition")
	}

	// Second boot: same disk, same firmware variables, as a trial boot:
	// the entry gets a tries counter, as the update installer writes it.
	// Once applianced is ready, systemd-bless-boot removes the counter.
	esp := espOf(t, m.Disk)
	entry := entryOf(t, img)
	esp.rename(entry+".efi", entry+"+3.efi")
	m.Boot()
	m.WaitFor(readyRe)
	t.Logf("measured: QEMU start to applianced READY (second boot): %s", qemu.Seconds(time.Since(m.Started())))
	m.WaitFor(dataSizeRe)
	c2 := newClient(t, m)
	cert2 := c2.waitHTTPS()
	if !cert2.Equal(cert) {
		t.Errorf("the box certificate changed across a reboot: %s then %s", cert.SerialNumber, cert2.SerialNumber)
	}
	c2.signIn()
	// The static address the menu kept is applied again at start.
	c3 := newClient(t, m)
	c3.base = "https://" + m.Addr2()
	if resp, err := c3.Get(c3.base + "/appliance"); err != nil {
		t.Errorf("after the reboot, HTTPS on %s (set at the console menu): %v", qemu.SecondGuestAddr, err)
	} else {
		resp.Body.Close()
	}
	m.WaitFor(regexp.MustCompile(`switchboard: trial boot of \S+ succeeded`))
	second := m.Console().String()
	if setupRe.MatchString(second) {
		t.Errorf("the second boot printed a /login setup link again: the first administrator was lost")
	}
	if strings.Contains(second, "growing the data partition") {
		t.Errorf("the second boot grew the data partition again")
	}
	m.PowerOff()
	if names := esp.list(); !slices.Contains(names, entry+".efi") {
		t.Errorf("after a good trial boot, the ESP has %v, want %s.efi (blessed)", names, entry)
	}
}

// entryOf is the boot entry's name for slot A of the image at path
// (.../switchboard-VERSION.img): switchboard-VERSION-a.
func entryOf(t *testing.T, path string) string {
	name, ok := strings.CutSuffix(filepath.Base(path), ".img")
	if !ok {
		t.Fatalf("%s: want a switchboard-VERSION.img file", path)
	}
	return name + "-a"
}

// espFiles edits the EFI system partition of a disk image with mtools.
type espFiles struct {
	t     *testing.T
	image string // disk@@offset, as mtools takes it
}

func espOf(t *testing.T, disk string) espFiles {
	testenv.RequireCommand(t, "mren")
	testenv.RequireCommand(t, "mdir")
	// The ESP starts at 1 MiB (see the image profile).
	return espFiles{t: t, image: disk + "@@1048576"}
}

func (e espFiles) mtools(name string, args ...string) string {
	e.t.Helper()
	cmd := exec.Command(name, append([]string{"-i", e.image}, args...)...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		e.t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return string(out)
}

func (e espFiles) rename(from, to string) {
	e.mtools("mren", "::/EFI/Linux/"+from, "::/EFI/Linux/"+to)
}

// list returns the file names in /EFI/Linux.
func (e espFiles) list() []string {
	var names []string
	for _, l := range strings.Split(e.mtools("mdir", "-b", "::/EFI/Linux"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, filepath.Base(strings.ReplaceAll(l, "\\", "/")))
		}
	}
	return names
}

// diskImage returns the image to boot: $SWITCHBOARD_IMAGE, or a fresh build.
func diskImage(t *testing.T) string {
	t.Helper()
	if p := os.Getenv(ImageEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", ImageEnv, p, err)
		}
		return p
	}
	qemu.Require(t)
	testenv.RequireRoot(t)
	missing := image.MissingTools()
	testenv.Require(t, "image build tools", len(missing) == 0, "missing "+strings.Join(missing, ", ")+"; run `make image-deps`")
	repo := moduleRoot(t)
	p := image.DefaultProfile("0.1.0", image.EpochFromGit(repo), repo, filepath.Join(repo, ".cache", "image"), filepath.Join(repo, "out"))
	var log strings.Builder
	if err := image.Run(context.Background(), &p, image.Options{NoCompress: true}, &log); err != nil {
		t.Fatalf("building the image: %v\n%s", err, log.String())
	}
	t.Logf("image build:\n%s", log.String())
	return p.ImagePath()
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

// client is an HTTPS client for the box on the forwarded port: it keeps
// cookies, fills in CSRF tokens and does not follow redirects.
type client struct {
	t    *testing.T
	m    *qemu.Machine
	base string
	*http.Client
}

func newClient(t *testing.T, m *qemu.Machine) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, m: m, base: "https://" + m.Addr(), Client: &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:     m.DialContext,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// waitHTTPS asks for /login until it answers (the guest may still be
// getting its address when applianced is ready) and returns the box's
// certificate.
func (c *client) waitHTTPS() *x509.Certificate {
	c.t.Helper()
	m := c.m
	deadline := m.Started().Add(qemu.BootBudget)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		resp, err := c.Get(c.base + "/login")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !strings.Contains(string(body), "Sign in") {
				c.t.Fatalf("HTTPS /login: %d\n%s", resp.StatusCode, body)
			}
			return resp.TLS.PeerCertificates[0]
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("HTTPS /login did not answer within %v of the start: %v\n%s", qemu.BootBudget, err, m.Console().Tail(4<<10))
		}
		<-tick.C
	}
}

// checkBoxCertificate checks that the box serves a self-signed certificate
// it made for itself (named after the box, not the build host or dev mode).
func checkBoxCertificate(t *testing.T, cert *x509.Certificate) {
	t.Helper()
	// Signed with its own key (it is no CA, so CheckSignatureFrom does not
	// apply).
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil ||
		cert.Issuer.String() != cert.Subject.String() {
		t.Errorf("certificate %q is not self-signed (issuer %q): %v", cert.Subject, cert.Issuer, err)
	}
	named := false
	for _, n := range cert.DNSNames {
		if n == "switchboard" {
			named = true
		}
	}
	if !named {
		t.Errorf("certificate names %v, want the box's host name switchboard", cert.DNSNames)
	}
}

// checkHTTP3 asks for /login over HTTP/3 (QUIC on the forwarded UDP port).
func checkHTTP3(t *testing.T, m *qemu.Machine) {
	t.Helper()
	udp, err := m.ListenUDP()
	if err != nil {
		t.Fatal(err)
	}
	qt := &quic.Transport{Conn: udp}
	defer qt.Close()
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		Dial: func(ctx context.Context, addr string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			ua, err := net.ResolveUDPAddr("udp", addr)
			if err != nil {
				return nil, err
			}
			return qt.DialEarly(ctx, ua, tlsCfg, cfg)
		},
	}
	defer tr.Close()
	resp, err := (&http.Client{Transport: tr, Timeout: 30 * time.Second}).Get("https://" + m.Addr() + "/login")
	if err != nil {
		t.Fatalf("HTTP/3 over the forwarded UDP port: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Proto != "HTTP/3.0" || !strings.Contains(string(body), "Sign in") {
		t.Fatalf("HTTP/3 /login: %d %s", resp.StatusCode, resp.Proto)
	}
}

func (c *client) csrf() string {
	c.t.Helper()
	resp, err := c.Get(c.base + "/")
	if err != nil {
		c.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfRe.FindSubmatch(body)
	if m == nil {
		c.t.Fatalf("no CSRF token on the public page (%d)", resp.StatusCode)
	}
	return string(m[1])
}

func (c *client) post(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	form.Set("csrf_token", c.csrf())
	resp, err := c.PostForm(c.base+path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// setupAdmin creates the first site administrator with the setup token
// the box printed on its console.
func (c *client) setupAdmin(token string) {
	c.t.Helper()
	resp, err := c.Get(c.base + "/login/setup?token=" + token)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		c.t.Fatalf("setup page: %d", resp.StatusCode)
	}
	resp, body := c.post("/login/setup", url.Values{
		"token": {token}, "username": {"admin"}, "display_name": {"First Admin"},
		"password": {adminPassword}, "confirm": {adminPassword},
	})
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("setup: %d %s", resp.StatusCode, body)
	}
}

// signIn signs the administrator in and opens the dashboard.
func (c *client) signIn() {
	c.t.Helper()
	resp, body := c.post("/login", url.Values{"username": {"admin"}, "password": {adminPassword}})
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("sign in after the reboot: %d %s", resp.StatusCode, body)
	}
	resp, err := c.Get(c.base + "/login/dashboard")
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		c.t.Fatalf("dashboard after signing in: %d", resp.StatusCode)
	}
}

var (
	boxSetupRe = regexp.MustCompile(`https://\S+?/appliance/setup\?token=(\w+)`)
	menuRe     = regexp.MustCompile(`Choose 1-\d: `)
	// The second card's line in the menu once it has its DHCP lease.
	secondNICRe = regexp.MustCompile(`(?m)^\s*(\S+)\s+up\s+10\.0\.3\.\d+/24 \(DHCP\)`)
)

const menuPassword = "a password set at the console menu"

// checkConsoleMenu drives the console menu on the serial port as the
// person racking the box would: it gives the second network card a
// static address, which HTTPS answers on from the host before the change
// is kept, and resets the appliance administrator's password, which then
// signs in.
func checkConsoleMenu(t *testing.T, m *qemu.Machine, c *client) {
	t.Helper()
	c.setupBoxAdmin(m.WaitFor(boxSetupRe)[1])
	// The menu lists the second card once it has its lease.
	var iface string
	for deadline := time.Now().Add(qemu.BootBudget); iface == ""; {
		mark := m.Mark()
		m.Type("1\r")
		m.WaitSince(menuRe, mark, 60*time.Second)
		if mm := secondNICRe.FindStringSubmatch(m.Console().String()[mark:]); mm != nil {
			iface = mm[1]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the console menu never showed the second card's lease:\n%s", m.Console().Tail(4<<10))
		}
		time.Sleep(2 * time.Second) // paces the refreshes; the lease comes from QEMU's DHCP
	}
	mark := m.Mark()
	m.Type("2\r")
	m.WaitSince(regexp.MustCompile(`Interface \(`), mark, 60*time.Second)
	m.Type(iface + "\r")
	m.WaitSince(regexp.MustCompile(`\[d/s\]: `), mark, 60*time.Second)
	m.Type("s\r")
	m.WaitSince(regexp.MustCompile(`such as 192\.0\.2\.10/24\): `), mark, 60*time.Second)
	m.Type(qemu.SecondGuestAddr + "/24\r")
	m.WaitSince(regexp.MustCompile(`Default gateway \(empty for none\): `), mark, 60*time.Second)
	m.Type("\r")
	m.WaitSince(regexp.MustCompile(`DNS servers \(empty to keep them\): `), mark, 60*time.Second)
	m.Type("\r")
	m.WaitSince(regexp.MustCompile(`Keep these settings\? \[y/N\]: `), mark, 120*time.Second)
	// From the host: HTTPS answers on the new address before it is kept.
	c2 := newClient(t, m)
	c2.base = "https://" + m.Addr2()
	var err error
	for deadline := time.Now().Add(60 * time.Second); ; {
		var resp *http.Response
		if resp, err = c2.Get(c2.base + "/appliance"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("HTTPS on %s (the new address) did not answer: %v", qemu.SecondGuestAddr, err)
		}
		time.Sleep(time.Second) // the forwarded port connects once the guest has the address
	}
	mark = m.Mark()
	m.Type("y\r")
	m.WaitSince(regexp.MustCompile(`Kept\.`), mark, 60*time.Second)

	mark = m.Mark()
	m.Type("3\r")
	m.WaitSince(regexp.MustCompile(`Username: `), mark, 60*time.Second)
	m.Type("boxadmin\r")
	m.WaitSince(regexp.MustCompile(`New password \(at least 12 characters\): `), mark, 60*time.Second)
	m.Type(menuPassword + "\r")
	m.WaitSince(regexp.MustCompile(`The same password again: `), mark, 60*time.Second)
	m.Type(menuPassword + "\r")
	m.WaitSince(regexp.MustCompile(`The password of boxadmin is set`), mark, 60*time.Second)
	if resp, body := c2.post("/appliance", url.Values{"username": {"boxadmin"}, "password": {adminPassword}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old password after the reset at the menu: %d %s", resp.StatusCode, body)
	}
	if resp, body := c2.post("/appliance", url.Values{"username": {"boxadmin"}, "password": {menuPassword}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the password set at the menu does not sign in: %d %s", resp.StatusCode, body)
	}
}

// setupBoxAdmin creates the first appliance administrator, boxadmin.
func (c *client) setupBoxAdmin(token string) {
	c.t.Helper()
	resp, err := c.Get(c.base + "/appliance/setup?token=" + token)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	resp, body := c.post("/appliance/setup", url.Values{
		"token": {token}, "username": {"boxadmin"}, "display_name": {"Box Admin"},
		"password": {adminPassword}, "confirm": {adminPassword},
	})
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("appliance setup: %d %s", resp.StatusCode, body)
	}
}
