package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/tools/daemon"
	"github.com/switchboardhq/switchboard/tools/testenv"
)

// acmeBox is a daemon with HTTP on a known port (HTTP-01), a box admin,
// and ACME pointed at a pebble started for the test.
type acmeBox struct {
	d     *daemon.Daemon
	box   *daemon.Client
	peb   *testenv.Pebble
	https string // 127.0.0.1:port
}

func startACMEBox(t *testing.T, pebble string, validity int, extra map[string]any, hosts ...string) *acmeBox {
	t.Helper()
	httpPort, httpsPort := testenv.FreePort(t), testenv.FreePort(t)
	cfg := map[string]any{"https_addr": fmt.Sprintf("127.0.0.1:%d", httpsPort), "http_addr": fmt.Sprintf("127.0.0.1:%d", httpPort)}
	for k, v := range extra {
		cfg[k] = v
	}
	d := daemon.Start(t, daemon.Options{Extra: cfg})
	peb := testenv.StartPebble(t, testenv.PebbleOptions{Binary: pebble, HTTPPort: httpPort, TLSPort: httpsPort, Validity: validity})
	box := setupAdmin(t, d, "/appliance", "boxadmin")
	site := setupAdmin(t, d, "/login", "admin")
	if resp, body := postValues(t, d, site, "/login/sites", url.Values{"name": {"Help"}, "hostnames": {strings.Join(hosts, "\n")},
		"tech_list": {"1"}, "survey_mode": {"issue"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create the site: %d %s", resp.StatusCode, body)
	}
	return &acmeBox{d: d, box: box, peb: peb, https: fmt.Sprintf("127.0.0.1:%d", httpsPort)}
}

func (a *acmeBox) settings(t *testing.T, challenges string) {
	t.Helper()
	resp, body := a.box.Post("/appliance/certificates/acme", map[string]string{
		"directory": a.peb.Directory, "email": "it@example.com", "agreed": "1",
		"challenges": challenges, "roots": a.peb.APIRoot,
	})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("ACME settings: %d %s", resp.StatusCode, body)
	}
}

func (a *acmeBox) post(t *testing.T, path string) {
	t.Helper()
	resp, body := a.box.Post(path, map[string]string{})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
	}
}

// served returns the certificate chain the box serves for host (SNI).
func (a *acmeBox) served(t *testing.T, host string) []*x509.Certificate {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", a.https, &tls.Config{ServerName: host, InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("TLS to %s: %v", host, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates
}

// verifies reports whether chain verifies for host with roots.
func verifies(chain []*x509.Certificate, host string, roots *x509.CertPool) bool {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{DNSName: host, Roots: roots, Intermediates: inter})
	return err == nil
}

// waitFor polls cond every 200 ms until it holds, for at most limit.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %s", what, limit)
		case <-tick.C:
		}
	}
}

// TestACME issues certificates for two public sites' host names from
// Debian's pebble (strict, no authorization reuse): one over HTTP-01 on
// port 80, one over TLS-ALPN-01 on 443. SNI serves each its own. Then a
// renewal whose challenge cannot succeed shows its reason in words on the
// dashboard, while the old certificate keeps serving.
func TestACME(t *testing.T) {
	t.Parallel()
	a := startACMEBox(t, "", 0, nil, "portal-a.test", "portal-b.test")
	roots := a.peb.Roots(t)
	for _, host := range []string{"portal-a.test", "portal-b.test"} {
		if verifies(a.served(t, host), host, roots) {
			t.Fatalf("%s served a pebble certificate before ACME was on", host)
		}
	}
	a.settings(t, "http-01")
	a.post(t, "/appliance/certificates/portal-a.test/acme")
	waitFor(t, "portal-a.test's certificate over HTTP-01", 60*time.Second, func() bool {
		return verifies(a.served(t, "portal-a.test"), "portal-a.test", roots)
	})
	a.settings(t, "tls-alpn-01")
	a.post(t, "/appliance/certificates/portal-b.test/acme")
	waitFor(t, "portal-b.test's certificate over TLS-ALPN-01", 60*time.Second, func() bool {
		return verifies(a.served(t, "portal-b.test"), "portal-b.test", roots)
	})
	for _, host := range []string{"portal-a.test", "portal-b.test"} {
		leaf := a.served(t, host)[0]
		if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != host {
			t.Errorf("SNI %s got a certificate for %v", host, leaf.DNSNames)
		}
	}
	// Any other name, or none, still gets the box's own certificate.
	if c := a.served(t, "other.test")[0]; verifies([]*x509.Certificate{c}, "other.test", roots) {
		t.Error("an unknown name got an ACME certificate")
	}
	_, page := a.box.Page("/appliance/certificates")
	if !strings.Contains(page, `data-host="portal-a.test"`) || strings.Count(page, "ACME") < 2 {
		t.Errorf("the certificates page does not list both names under ACME:\n%s", page)
	}

	// The name now points elsewhere: the CA cannot reach the box.
	old := a.served(t, "portal-a.test")[0]
	a.peb.PointAt(t, "portal-a.test", "127.0.0.2")
	a.post(t, "/appliance/certificates/portal-a.test/renew")
	var status string
	waitFor(t, "the failed renewal on the dashboard", 60*time.Second, func() bool {
		_, status = a.box.Page("/appliance/status")
		return strings.Contains(status, "could not get a certificate for portal-a.test")
	})
	if !strings.Contains(status, "could not connect to this box") {
		t.Errorf("the dashboard does not say why in words:\n%s", status)
	}
	if now := a.served(t, "portal-a.test")[0]; !now.Equal(old) {
		t.Error("the old certificate stopped serving after the failed renewal")
	}
	_, host := a.box.Page("/appliance/certificates/portal-a.test")
	if !strings.Contains(host, `id="cert-acme-error"`) {
		t.Errorf("the name's page does not show the error:\n%s", host)
	}
}

// TestACMERenewal has pebble 2.10 issue certificates that last 30
// seconds: the box renews on its own before expiry, with no one asking,
// and serves the new certificate.
func TestACMERenewal(t *testing.T) {
	t.Parallel()
	a := startACMEBox(t, testenv.Pebble2(t), 30, map[string]any{"cert_renew_check": "1s"}, "renew.test")
	roots := a.peb.Roots(t)
	a.settings(t, "both")
	a.post(t, "/appliance/certificates/renew.test/acme")
	var first *x509.Certificate
	waitFor(t, "the first certificate", 60*time.Second, func() bool {
		chain := a.served(t, "renew.test")
		first = chain[0]
		return verifies(chain, "renew.test", roots)
	})
	waitFor(t, "a renewed certificate", 90*time.Second, func() bool {
		chain := a.served(t, "renew.test")
		return !chain[0].Equal(first) && verifies(chain, "renew.test", roots)
	})
	if now := a.served(t, "renew.test")[0]; !now.NotAfter.After(first.NotAfter) {
		t.Errorf("the renewed certificate ends %s, not after the first (%s)", now.NotAfter, first.NotAfter)
	}
}
