package tlscert

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

func mustCert(t testing.TB, host string) *tls.Certificate {
	t.Helper()
	certPEM, keyPEM, err := SelfSigned([]string{host}, nil, testNow, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParsePair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// handshake runs a TLS handshake over an in-memory pipe and returns the
// client's view of it and both sides' errors.
func handshake(t *testing.T, server, client *tls.Config) (tls.ConnectionState, error, error) {
	t.Helper()
	sc, cc := net.Pipe()
	serr := make(chan error, 1)
	go func() {
		c := tls.Server(sc, server)
		err := c.Handshake()
		sc.Close()
		serr <- err
	}()
	c := tls.Client(cc, client)
	cerr := c.Handshake()
	state := c.ConnectionState()
	cc.Close()
	return state, cerr, <-serr
}

func TestServerConfigPicksCertificate(t *testing.T) {
	def, site, wild := mustCert(t, "box.local"), mustCert(t, "site.example.com"), mustCert(t, "*.example.org")
	m := NewManager()
	m.SetDefault(def)
	if err := m.Set("site", []string{"site.example.com", "help.example.com"}, site); err != nil {
		t.Fatal(err)
	}
	if err := m.Set("wild", []string{"*.example.org"}, wild); err != nil {
		t.Fatal(err)
	}
	cfg := ServerConfig(m, []string{"h2", "http/1.1"})

	tests := []struct {
		serverName string
		want       *tls.Certificate
	}{
		{"site.example.com", site},
		{"help.example.com", site},
		{"Site.Example.COM", site},
		{"site.example.com.", site},
		{"a.example.org", wild},
		{"example.org", def},     // a wildcard does not cover its apex
		{"a.b.example.org", def}, // nor more than one label
		{"unknown.example.net", def},
		{"", def},          // no SNI
		{"127.0.0.1", def}, // clients send no SNI for addresses
	}
	for _, tt := range tests {
		t.Run(tt.serverName, func(t *testing.T) {
			client := &tls.Config{ServerName: tt.serverName, InsecureSkipVerify: true, NextProtos: []string{"h2"}}
			state, cerr, serr := handshake(t, cfg, client)
			if cerr != nil || serr != nil {
				t.Fatalf("handshake: client %v, server %v", cerr, serr)
			}
			got := state.PeerCertificates[0].Raw
			if !bytes.Equal(got, tt.want.Leaf.Raw) {
				t.Errorf("served %q, want %q", state.PeerCertificates[0].Subject.CommonName, tt.want.Leaf.Subject.CommonName)
			}
			if state.NegotiatedProtocol != "h2" {
				t.Errorf("ALPN = %q, want h2", state.NegotiatedProtocol)
			}
		})
	}
}

func TestServerConfigRefusesWeakClients(t *testing.T) {
	m := NewManager()
	m.SetDefault(mustCert(t, "box.local"))
	cfg := ServerConfig(m, nil)
	tests := []struct {
		name   string
		client *tls.Config
		ok     bool
	}{
		{"tls1.3", &tls.Config{MinVersion: tls.VersionTLS13}, true},
		{"tls1.2 gcm", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, true},
		{"tls1.2 chacha", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}}, true},
		{"tls1.1", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, false},
		{"tls1.0", &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}, false},
		{"tls1.2 cbc only", &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
			tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
		}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.client.InsecureSkipVerify = true
			tt.client.ServerName = "box.local"
			_, cerr, serr := handshake(t, cfg, tt.client)
			if tt.ok && (cerr != nil || serr != nil) {
				t.Fatalf("handshake: client %v, server %v", cerr, serr)
			}
			if !tt.ok && (cerr == nil || serr == nil) {
				t.Fatalf("handshake accepted: client %v, server %v", cerr, serr)
			}
			// The refusal comes from the server, as an alert to the client.
			if !tt.ok && !strings.Contains(cerr.Error(), "remote error") {
				t.Errorf("client error %q is not an alert from the server", cerr)
			}
		})
	}
}

func TestServerConfigSettings(t *testing.T) {
	protos := []string{"h3", "switchboard/1"}
	cfg := ServerConfig(NewManager(), protos)
	protos[0] = "changed"
	if cfg.NextProtos[0] != "h3" || len(cfg.NextProtos) != 2 {
		t.Errorf("NextProtos = %v, want a copy of the argument", cfg.NextProtos)
	}
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x", cfg.MinVersion)
	}
	for _, id := range cfg.CipherSuites {
		name := tls.CipherSuiteName(id)
		if !strings.HasPrefix(name, "TLS_ECDHE_") || !(strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20")) {
			t.Errorf("suite %s is not ECDHE with AEAD", name)
		}
	}
	if len(cfg.CipherSuites) != 6 {
		t.Errorf("%d cipher suites, want 6", len(cfg.CipherSuites))
	}
}

func TestManagerSetRules(t *testing.T) {
	a, b := mustCert(t, "a.example"), mustCert(t, "b.example")
	m := NewManager()
	if err := m.Set("a", []string{"a.example", "*.shared.example"}, a); err != nil {
		t.Fatal(err)
	}

	err := m.Set("b", []string{"b.example", "*.SHARED.example."}, b)
	if !errors.Is(err, ErrHostnameTaken) {
		t.Fatalf("conflicting Set = %v, want ErrHostnameTaken", err)
	}
	// The failed Set changed nothing: b.example is still free and unserved.
	if _, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: "b.example"}); !errors.Is(err, ErrNoCertificate) {
		t.Fatalf("GetCertificate(b.example) after failed Set = %v, want ErrNoCertificate", err)
	}

	// Re-registering a name replaces its hostnames.
	if err := m.Set("a", []string{"a.example"}, a); err != nil {
		t.Fatal(err)
	}
	if err := m.Set("b", []string{"b.example", "*.shared.example"}, b); err != nil {
		t.Fatalf("Set after a released the wildcard: %v", err)
	}
	if got, _ := m.GetCertificate(&tls.ClientHelloInfo{ServerName: "x.shared.example"}); got != b {
		t.Error("x.shared.example not served by b")
	}

	m.Remove("b")
	m.Remove("never-set")
	if err := m.Set("a", []string{"a.example", "b.example"}, a); err != nil {
		t.Fatalf("Set after Remove: %v", err)
	}

	for _, bad := range []string{"", "*", "*.", "a..example", "a.*.example", "ex ample.com", "-a.example", "10.0.0.1", "::1", "bücher.example"} {
		if err := m.Set("c", []string{bad}, b); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
	if err := m.Set("", []string{"c.example"}, b); err == nil {
		t.Error("Set with empty name accepted")
	}
	if err := m.Set("c", []string{"c.example"}, nil); err == nil {
		t.Error("Set with nil certificate accepted")
	}
	if err := m.Set("c", nil, b); err == nil {
		t.Error("Set without hostnames accepted")
	}
}

func TestManagerNoDefault(t *testing.T) {
	m := NewManager()
	for _, name := range []string{"", "x.example"} {
		c, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
		if c != nil || !errors.Is(err, ErrNoCertificate) {
			t.Errorf("GetCertificate(%q) = %v, %v; want ErrNoCertificate", name, c, err)
		}
	}
	// The handshake fails cleanly rather than serving nothing.
	_, cerr, serr := handshake(t, ServerConfig(m, nil), &tls.Config{InsecureSkipVerify: true})
	if cerr == nil || serr == nil {
		t.Fatalf("handshake without certificates: client %v, server %v", cerr, serr)
	}
}

func TestManagerConcurrent(t *testing.T) {
	m := NewManager()
	def, site := mustCert(t, "box.local"), mustCert(t, "site.example.com")
	m.SetDefault(def)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				c, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: "site.example.com"})
				if err != nil || (c != def && c != site) {
					t.Errorf("GetCertificate = %v, %v", c, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			if err := m.Set("site", []string{"site.example.com"}, site); err != nil {
				t.Error(err)
				return
			}
			m.Remove("site")
			m.SetDefault(def)
		}
	})
	wg.Wait()
}
