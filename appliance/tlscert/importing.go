package tlscert

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MaxUpload bounds an uploaded certificate chain or key file.
const MaxUpload = 64 << 10

// maxChain bounds the certificates of one uploaded chain.
const maxChain = 8

// ErrRefused wraps every reason an uploaded certificate is not taken; its
// message says what to fix.
var ErrRefused = errors.New("certificate refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// Checked is an uploaded certificate that passed every check.
type Checked struct {
	Cert     *tls.Certificate
	CertPEM  []byte // the chain, leaf first, re-encoded
	KeyPEM   []byte // PKCS #8
	Names    []string
	NotAfter time.Time
	Issuer   string
}

// CheckImport checks a certificate chain and its private key uploaded for
// host: both parse (the key may also sit in the chain's file), the key
// matches the leaf, the leaf is valid now and names host (exactly or by a
// wildcard), and the chain verifies up to a root in roots or a self-signed
// root included in the upload. Intermediates may come in any order after
// the leaf. The errors wrap ErrRefused and say what to fix.
func CheckImport(host string, chainPEM, keyPEM []byte, now time.Time, roots *x509.CertPool) (*Checked, error) {
	if len(chainPEM) > MaxUpload || len(keyPEM) > MaxUpload {
		return nil, refuse("the file is larger than %d KiB; upload only the PEM certificates and key", MaxUpload>>10)
	}
	certs, key, err := readPEM(append(append([]byte(nil), chainPEM...), append([]byte("\n"), keyPEM...)...))
	if err != nil {
		return nil, err
	}
	if len(certs) == 0 {
		return nil, refuse("no certificate found: upload the certificate in PEM form (-----BEGIN CERTIFICATE-----), followed by its intermediates")
	}
	if key == nil {
		return nil, refuse("no private key found: upload the key in PEM form (-----BEGIN PRIVATE KEY-----) with the certificate")
	}
	return checkChain(host, certs, key, now, roots)
}

func checkChain(host string, certs []*x509.Certificate, key crypto.Signer, now time.Time, roots *x509.CertPool) (*Checked, error) {
	leaf := certs[0]
	if !publicKeysEqual(leaf.PublicKey, key.Public()) {
		return nil, refuse("the private key does not belong to the certificate (the first certificate in the file must be the one for %s)", host)
	}
	if err := leaf.VerifyHostname(host); err != nil {
		return nil, refuse("the certificate is for %s, not for %s", describeNames(leaf), host)
	}
	if now.After(leaf.NotAfter) {
		return nil, refuse("the certificate expired on %s: upload a current one", leaf.NotAfter.UTC().Format(time.DateOnly))
	}
	if now.Before(leaf.NotBefore) {
		return nil, refuse("the certificate is valid only from %s: check the box's clock, or upload it then", leaf.NotBefore.UTC().Format(time.DateTime+" MST"))
	}
	pool := roots
	if pool == nil {
		pool = x509.NewCertPool()
	} else {
		pool = pool.Clone()
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		if bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil {
			pool.AddCert(c) // a private CA's root, included on purpose
		} else {
			inter.AddCert(c)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{
		DNSName: host, Roots: pool, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}); err != nil {
		return nil, refuse("the chain does not verify (%s): add the intermediate certificates after the certificate, and for a private CA its root", chainProblem(err))
	}
	var chain []byte
	tc := &tls.Certificate{PrivateKey: key, Leaf: leaf}
	for _, c := range certs {
		tc.Certificate = append(tc.Certificate, c.Raw)
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, refuse("the private key's type is not supported: use RSA, ECDSA or Ed25519")
	}
	return &Checked{
		Cert: tc, CertPEM: chain,
		KeyPEM:   pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		Names:    leaf.DNSNames,
		NotAfter: leaf.NotAfter,
		Issuer:   issuerName(leaf),
	}, nil
}

// readPEM reads certificates and at most one private key, skipping text
// between blocks.
func readPEM(b []byte) ([]*x509.Certificate, crypto.Signer, error) {
	var certs []*x509.Certificate
	var key crypto.Signer
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return certs, key, nil
		}
		switch {
		case blk.Type == "CERTIFICATE":
			if len(certs) == maxChain {
				return nil, nil, refuse("more than %d certificates in the file", maxChain)
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, nil, refuse("certificate %d in the file cannot be read: %v", len(certs)+1, err)
			}
			certs = append(certs, c)
		case strings.HasSuffix(blk.Type, "PRIVATE KEY"):
			if key != nil {
				return nil, nil, refuse("more than one private key in the files")
			}
			if blk.Headers["Proc-Type"] != "" {
				return nil, nil, refuse("the private key is encrypted: upload it without a passphrase")
			}
			k, err := parseKey(blk)
			if err != nil {
				return nil, nil, err
			}
			key = k
		}
	}
}

func parseKey(blk *pem.Block) (crypto.Signer, error) {
	var k any
	var err error
	switch blk.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(blk.Bytes)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "ENCRYPTED PRIVATE KEY":
		return nil, refuse("the private key is encrypted: upload it without a passphrase")
	default:
		return nil, refuse("the private key block %q is not supported: use PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY", blk.Type)
	}
	if err != nil {
		return nil, refuse("the private key cannot be read: %v", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, refuse("the private key's type is not supported: use RSA, ECDSA or Ed25519")
	}
	if r, ok := k.(*rsa.PrivateKey); ok && r.N.BitLen() < 2048 {
		return nil, refuse("the RSA key has %d bits; use at least 2048", r.N.BitLen())
	}
	return s, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

func describeNames(c *x509.Certificate) string {
	names := c.DNSNames
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return "no host name (it has no subject alternative names)"
	}
	if len(names) > 4 {
		return strings.Join(names[:4], ", ") + fmt.Sprintf(" and %d more", len(names)-4)
	}
	return strings.Join(names, ", ")
}

func chainProblem(err error) string {
	var ua x509.UnknownAuthorityError
	var inv x509.CertificateInvalidError
	switch {
	case errors.As(err, &ua):
		return "no trusted root found for issuer " + issuerName(ua.Cert)
	case errors.As(err, &inv) && inv.Reason == x509.Expired:
		return "a certificate of the chain is expired"
	case errors.As(err, &inv):
		return "a certificate of the chain may not be used for this"
	}
	return "it could not be checked"
}

func issuerName(c *x509.Certificate) string {
	if c == nil {
		return "unknown"
	}
	if c.Issuer.CommonName != "" {
		if len(c.Issuer.Organization) > 0 {
			return c.Issuer.CommonName + " (" + c.Issuer.Organization[0] + ")"
		}
		return c.Issuer.CommonName
	}
	return c.Issuer.String()
}

// NewCSR makes a private key for host and a certificate signing request
// for it; the key stays on the box, the request goes to a CA.
func NewCSR(host string) (csrPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: host},
		DNSNames: []string{host},
	}, key)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), nil
}

// CheckSigned checks the certificate a CA signed for a CSR made by NewCSR:
// as CheckImport, with the key kept on the box. A file that also holds a
// private key is refused (the box's key is the one that counts).
func CheckSigned(host string, chainPEM, csrKeyPEM []byte, now time.Time, roots *x509.CertPool) (*Checked, error) {
	if len(chainPEM) > MaxUpload {
		return nil, refuse("the file is larger than %d KiB; upload only the PEM certificates", MaxUpload>>10)
	}
	certs, key, err := readPEM(chainPEM)
	if err != nil {
		return nil, err
	}
	if key != nil {
		return nil, refuse("the file holds a private key: the box made its own for this request; upload only the signed certificate and its intermediates")
	}
	if len(certs) == 0 {
		return nil, refuse("no certificate found: upload the signed certificate in PEM form (-----BEGIN CERTIFICATE-----)")
	}
	_, boxKey, err := readPEM(csrKeyPEM)
	if err != nil || boxKey == nil {
		return nil, fmt.Errorf("tlscert: the request's key cannot be read: %v", err)
	}
	if !publicKeysEqual(certs[0].PublicKey, boxKey.Public()) {
		return nil, refuse("the certificate was not made from this box's request for %s (its key differs): upload the certificate your CA signed for the request you downloaded last", host)
	}
	return checkChain(host, certs, boxKey, now, roots)
}
