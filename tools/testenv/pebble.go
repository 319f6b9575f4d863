package testenv

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/tlscert"
)

// PebbleVersion is the pebble from the Go module proxy used where Debian's
// 2.4 falls short (profiles with short lifetimes, ARI).
const PebbleVersion = "v2.10.3"

// Pebble is Let's Encrypt's ACME test server with its DNS companion
// (pebble-challtestsrv), which answers every name with 127.0.0.1 unless
// told otherwise.
type Pebble struct {
	// Directory is the ACME directory URL.
	Directory string
	// APIRoot is the PEM certificate pebble's own HTTPS API serves: trust
	// it to talk to the directory.
	APIRoot string
	mgmt    string
	dnsMgmt string
}

// PebbleOptions say where pebble validates challenges and how long its
// certificates last.
type PebbleOptions struct {
	// Binary: empty for Debian's pebble; else a path (see Pebble2).
	Binary string
	// HTTPPort and TLSPort are where pebble's validator connects for
	// HTTP-01 and TLS-ALPN-01.
	HTTPPort, TLSPort int
	// Validity of issued certificates in seconds (pebble 2.10 profiles
	// only); 0 is pebble's default.
	Validity int
}

// Pebble2 builds pebble PebbleVersion from the Go module proxy into the
// build cache once and returns its path.
func Pebble2(t testing.TB) string {
	t.Helper()
	dir, err := cacheDir()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin", "pebble-"+PebbleVersion)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	tmp := filepath.Join(dir, "bin", "pebble-build")
	cmd := exec.Command("go", "install", "github.com/letsencrypt/pebble/v2/cmd/pebble@"+PebbleVersion)
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		Require(t, "pebble "+PebbleVersion, false, fmt.Sprintf("go install: %v: %s", err, out))
	}
	if err := os.Rename(filepath.Join(tmp, "pebble"), bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// StartPebble starts pebble -strict with authorization reuse off and
// challenge validation without its random sleeps, and its DNS server, on
// free loopback ports. Both stop when the test ends.
func StartPebble(t testing.TB, o PebbleOptions) *Pebble {
	t.Helper()
	bin := o.Binary
	if bin == "" {
		bin = RequireCommand(t, "pebble")
	}
	challtest := RequireCommand(t, "pebble-challtestsrv")
	dir := t.TempDir()
	certPEM, keyPEM, err := tlscert.SelfSigned([]string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}, time.Now().Add(-time.Hour), 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dnsPort, dnsMgmt, apiPort, mgmtPort := FreePort(t), FreePort(t), FreePort(t), FreePort(t)
	conf := map[string]any{
		"listenAddress":                  fmt.Sprintf("127.0.0.1:%d", apiPort),
		"managementListenAddress":        fmt.Sprintf("127.0.0.1:%d", mgmtPort),
		"certificate":                    write("cert.pem", certPEM),
		"privateKey":                     write("key.pem", keyPEM),
		"httpPort":                       o.HTTPPort,
		"tlsPort":                        o.TLSPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
	}
	if o.Validity > 0 {
		conf["profiles"] = map[string]any{"default": map[string]any{"description": "short-lived for tests", "validityPeriod": o.Validity}}
	}
	b, _ := json.Marshal(map[string]any{"pebble": conf})
	confPath := write("pebble.json", b)

	p := &Pebble{
		Directory: fmt.Sprintf("https://127.0.0.1:%d/dir", apiPort),
		APIRoot:   string(certPEM),
		mgmt:      fmt.Sprintf("https://127.0.0.1:%d", mgmtPort),
		dnsMgmt:   fmt.Sprintf("http://127.0.0.1:%d", dnsMgmt),
	}
	start := func(name string, cmd *exec.Cmd) {
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("%s output:\n%s", name, out.String())
			}
		})
	}
	start("pebble-challtestsrv", exec.Command(challtest,
		"-dns01", fmt.Sprintf("127.0.0.1:%d", dnsPort), "-http01", "", "-https01", "", "-tlsalpn01", "",
		"-management", fmt.Sprintf("127.0.0.1:%d", dnsMgmt), "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""))
	cmd := exec.Command(bin, "-config", confPath, "-strict", "-dnsserver", fmt.Sprintf("127.0.0.1:%d", dnsPort))
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_AUTHZREUSE=0", "PEBBLE_WFE_NONCEREJECT=0")
	start("pebble", cmd)
	waitHTTP(t, p.client(), p.Directory)
	waitHTTP(t, http.DefaultClient, p.dnsMgmt+"/")
	return p
}

func (p *Pebble) client() *http.Client {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(p.APIRoot))
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// waitHTTP waits until url answers at all (the server is up), for at most
// 20 seconds.
func waitHTTP(t testing.TB, c *http.Client, url string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s does not answer: %v", url, err)
		case <-tick.C:
		}
	}
}

// Roots returns pebble's issuing root (PEM), which it makes anew each run.
func (p *Pebble) Roots(t testing.TB) *x509.CertPool {
	t.Helper()
	resp, err := p.client().Get(p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("pebble roots: %s", b)
	}
	return pool
}

// PointAt makes pebble's DNS answer host with addr (an IPv4 address).
func (p *Pebble) PointAt(t testing.TB, host, addr string) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"host": host, "addresses": []string{addr}})
	resp, err := http.Post(p.dnsMgmt+"/add-a", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("challtestsrv add-a: %s", resp.Status)
	}
}

// PortOf returns the port of a host:port address.
func PortOf(t testing.TB, addr string) int {
	t.Helper()
	_, port, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(addr, "https://"), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
