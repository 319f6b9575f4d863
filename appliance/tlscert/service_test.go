package tlscert

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/store"
)

// testCA issues leaf certificates for the import tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, now time.Time) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &testCA{cert: c, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// leaf returns a certificate for host valid from..until and its key (PEM).
func (ca *testCA) leaf(t *testing.T, host string, from, until time.Time) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: host},
		DNSNames: []string{host}, NotBefore: from, NotAfter: until, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

func newTestService(t *testing.T, now time.Time, roots *x509.CertPool) (*Service, *Manager) {
	t.Helper()
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	m := NewManager()
	s := NewService(db, m, Options{Now: func() time.Time { return now }, Roots: roots})
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s, m
}

func servedFor(t *testing.T, m *Manager, host string) *tls.Certificate {
	t.Helper()
	c, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: host})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestImportRefuses: a mismatched key, an expired certificate, a chain
// that does not verify and a certificate for another name are each
// refused with a message, and the certificate imported before keeps
// serving.
func TestImportRefuses(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	ca := newTestCA(t, now)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	s, m := newTestService(t, now, roots)
	ctx := context.Background()
	const host = "support.example.com"

	goodCert, goodKey := ca.leaf(t, host, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	if _, err := s.Import(ctx, host, goodCert, goodKey, "admin"); err != nil {
		t.Fatalf("good import: %v", err)
	}
	before := servedFor(t, m, host)

	_, otherKey := ca.leaf(t, host, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	expired, expiredKey := ca.leaf(t, host, now.Add(-48*time.Hour), now.Add(-time.Hour))
	otherName, otherNameKey := ca.leaf(t, "other.example.com", now.Add(-time.Hour), now.Add(90*24*time.Hour))
	stranger := newTestCA(t, now)
	unknown, unknownKey := stranger.leaf(t, host, now.Add(-time.Hour), now.Add(90*24*time.Hour))
	for _, tc := range []struct {
		name       string
		cert, key  []byte
		wantInText string
	}{
		{"mismatched key", goodCert, otherKey, "does not belong to the certificate"},
		{"expired", expired, expiredKey, "expired on"},
		{"chain does not verify", unknown, unknownKey, "chain does not verify"},
		{"another name", otherName, otherNameKey, "is for other.example.com, not for support.example.com"},
		{"no key", goodCert, nil, "no private key found"},
		{"not PEM", []byte("hello"), goodKey, "no certificate found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Import(ctx, host, tc.cert, tc.key, "admin")
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tc.wantInText) {
				t.Fatalf("got %v, want a refusal saying %q", err, tc.wantInText)
			}
			if now := servedFor(t, m, host); now != before {
				t.Error("the old certificate no longer serves")
			}
		})
	}
	// A private CA's root included after the leaf makes the chain verify.
	withRoot := append(append([]byte(nil), unknown...), stranger.pem...)
	if _, err := s.Import(ctx, host, withRoot, unknownKey, "admin"); err != nil {
		t.Fatalf("chain with its root: %v", err)
	}
}

// TestCSR: the request names the host, the signed certificate installs
// with the key kept on the box, and a certificate for another key is
// refused.
func TestCSR(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	ca := newTestCA(t, now)
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	s, m := newTestService(t, now, roots)
	ctx := context.Background()
	const host = "box.example.com"
	csrPEM, err := s.MakeCSR(ctx, host, "admin")
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(csrPEM)
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil || csr.CheckSignature() != nil || len(csr.DNSNames) != 1 || csr.DNSNames[0] != host {
		t.Fatalf("request: %v %v", err, csr)
	}
	wrong, _ := ca.leaf(t, host, now.Add(-time.Hour), now.Add(24*time.Hour))
	if _, err := s.CompleteCSR(ctx, host, wrong, "admin"); !errors.Is(err, ErrRefused) {
		t.Fatalf("a certificate for another key: %v", err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), DNSNames: csr.DNSNames, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, csr.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CompleteCSR(ctx, host, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), "admin"); err != nil {
		t.Fatalf("signed certificate: %v", err)
	}
	if c := servedFor(t, m, host); c.Leaf == nil || c.Leaf.SerialNumber.Int64() != 7 {
		t.Fatal("the signed certificate does not serve")
	}
	if w, _ := s.Warnings(ctx, nil); len(w) != 1 || !strings.Contains(w[0].Text, "expires on") {
		t.Errorf("a certificate that ends in a day gives no warning: %v", w)
	}
}

func FuzzCheckImport(f *testing.F) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	cert, key, _ := SelfSigned([]string{"a.example.com"}, nil, now, time.Hour)
	f.Add(cert, key)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), []byte("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"))
	f.Fuzz(func(t *testing.T, chain, key []byte) {
		c, err := CheckImport("a.example.com", chain, key, now, nil)
		if err == nil && c.Cert == nil {
			t.Fatal("accepted without a certificate")
		}
	})
}
