package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"slices"
	"testing"
	"time"
)

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func TestSelfSigned(t *testing.T) {
	hosts := []string{"box.example.net", "localhost", "10.1.2.3"}
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	certPEM, keyPEM, err := SelfSigned(hosts, ips, testNow, 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	block, rest := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 {
		t.Fatalf("certificate PEM: block %v, %d bytes left", block, len(rest))
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	kblock, _ := pem.Decode(keyPEM)
	if kblock == nil || kblock.Type != "PRIVATE KEY" {
		t.Fatalf("key PEM block %v, want PRIVATE KEY", kblock)
	}
	key, err := x509.ParsePKCS8PrivateKey(kblock.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ek, ok := key.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		t.Fatalf("key is %T, want ECDSA P-256", key)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() || !pub.Equal(&ek.PublicKey) {
		t.Fatalf("certificate key %T does not match the P-256 private key", cert.PublicKey)
	}

	if cert.Subject.CommonName != "box.example.net" {
		t.Errorf("CN = %q", cert.Subject.CommonName)
	}
	if want := []string{"box.example.net", "localhost"}; !slices.Equal(cert.DNSNames, want) {
		t.Errorf("DNSNames = %v, want %v", cert.DNSNames, want)
	}
	wantIPs := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, net.ParseIP("10.1.2.3")}
	if !slices.EqualFunc(cert.IPAddresses, wantIPs, net.IP.Equal) {
		t.Errorf("IPAddresses = %v, want %v", cert.IPAddresses, wantIPs)
	}
	if !cert.NotBefore.Equal(testNow.Add(-time.Hour)) || !cert.NotAfter.Equal(testNow.Add(90*24*time.Hour)) {
		t.Errorf("validity %v – %v", cert.NotBefore, cert.NotAfter)
	}
	if cert.SerialNumber.Sign() <= 0 || cert.SerialNumber.BitLen() > 128 {
		t.Errorf("serial %v is not a positive 128-bit number", cert.SerialNumber)
	}
	if cert.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("KeyUsage = %v", cert.KeyUsage)
	}
	if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("ExtKeyUsage = %v", cert.ExtKeyUsage)
	}
	if !cert.BasicConstraintsValid || cert.IsCA {
		t.Errorf("BasicConstraintsValid=%v IsCA=%v", cert.BasicConstraintsValid, cert.IsCA)
	}
	if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
		t.Errorf("not self-signed: %v", err)
	}

	// A client that pins the certificate accepts it for each name.
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	for _, name := range []string{"box.example.net", "localhost", "127.0.0.1", "::1", "10.1.2.3"} {
		_, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, CurrentTime: testNow})
		if err != nil {
			t.Errorf("verify for %s: %v", name, err)
		}
	}

	// Serials differ between certificates.
	other, _, err := SelfSigned(hosts, ips, testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ob, _ := pem.Decode(other)
	oc, err := x509.ParseCertificate(ob.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if oc.SerialNumber.Cmp(cert.SerialNumber) == 0 {
		t.Error("two certificates share a serial")
	}
}

func TestSelfSignedIPOnly(t *testing.T) {
	certPEM, keyPEM, err := SelfSigned(nil, []net.IP{net.ParseIP("192.0.2.7")}, testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParsePair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if c.Leaf.Subject.CommonName != "192.0.2.7" {
		t.Errorf("CN = %q, want the IP", c.Leaf.Subject.CommonName)
	}
}

func TestSelfSignedRejects(t *testing.T) {
	tests := map[string]struct {
		hosts    []string
		ips      []net.IP
		validity time.Duration
	}{
		"no names":      {nil, nil, time.Hour},
		"zero validity": {[]string{"a.example"}, nil, 0},
	}
	for name, tt := range tests {
		if _, _, err := SelfSigned(tt.hosts, tt.ips, testNow, tt.validity); err == nil {
			t.Errorf("%s: got nil error", name)
		}
	}
}

func TestLocalNames(t *testing.T) {
	hosts, ips := LocalNames()
	if !slices.Contains(hosts, "localhost") {
		t.Errorf("hosts %v lack localhost", hosts)
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		if hosts[0] == "localhost" && h != "localhost" {
			t.Errorf("hosts %v lack the host name %q", hosts, h)
		}
	}
	for _, want := range []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback} {
		if !slices.ContainsFunc(ips, want.Equal) {
			t.Errorf("ips %v lack %v", ips, want)
		}
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		if seen[h] {
			t.Errorf("duplicate host %q", h)
		}
		seen[h] = true
	}
	for _, ip := range ips {
		if seen[ip.String()] {
			t.Errorf("duplicate ip %v", ip)
		}
		seen[ip.String()] = true
	}
	// The result is usable as is.
	if _, _, err := SelfSigned(hosts, ips, testNow, time.Hour); err != nil {
		t.Fatal(err)
	}
}

func TestParsePair(t *testing.T) {
	certPEM, keyPEM, err := SelfSigned([]string{"a.example"}, nil, testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	otherCert, otherKey, err := SelfSigned([]string{"b.example"}, nil, testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ParsePair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if c.Leaf == nil || c.Leaf.Subject.CommonName != "a.example" {
		t.Fatalf("Leaf = %v", c.Leaf)
	}

	bad := map[string][2][]byte{
		"empty":          {nil, nil},
		"garbage":        {[]byte("not a certificate"), []byte("\x00\xff garbage")},
		"key as cert":    {keyPEM, keyPEM},
		"cert as key":    {certPEM, certPEM},
		"mismatched key": {certPEM, otherKey},
		"truncated":      {certPEM[:len(certPEM)/2], keyPEM},
		"wrong block":    {pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")}), keyPEM},
		"other pair mix": {otherCert, keyPEM},
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			c, err := ParsePair(in[0], in[1])
			if err == nil || c != nil {
				t.Fatalf("ParsePair = %v, %v; want an error", c, err)
			}
		})
	}
}

func FuzzParsePair(f *testing.F) {
	certPEM, keyPEM, err := SelfSigned([]string{"a.example"}, nil, testNow, time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(certPEM, keyPEM)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), keyPEM)
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, c, k []byte) {
		cert, err := ParsePair(c, k)
		if err == nil && (cert == nil || cert.Leaf == nil) {
			t.Fatal("ParsePair succeeded without a leaf")
		}
	})
}
