package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"strings"
	"time"
)

// LocalNames returns the names a client on the network may use to reach the
// box: the host name (if it has one), "localhost", and every address of every
// local interface including 127.0.0.1 and ::1, without duplicates.
func LocalNames() (hosts []string, ips []net.IP) {
	seenHost := map[string]bool{}
	addHost := func(h string) {
		h = strings.ToLower(strings.TrimSuffix(h, "."))
		if h != "" && !seenHost[h] {
			seenHost[h] = true
			hosts = append(hosts, h)
		}
	}
	if h, err := os.Hostname(); err == nil {
		addHost(h)
	}
	addHost("localhost")

	seenIP := map[string]bool{}
	addIP := func(ip net.IP) {
		if ip4 := ip.To4(); ip4 != nil {
			ip = ip4
		}
		if len(ip) == 0 || seenIP[string(ip)] {
			return
		}
		seenIP[string(ip)] = true
		ips = append(ips, ip)
	}
	addIP(net.IPv4(127, 0, 0, 1))
	addIP(net.IPv6loopback)
	addrs, _ := net.InterfaceAddrs() // without interfaces, the loopback names still serve
	for _, a := range addrs {
		switch a := a.(type) {
		case *net.IPNet:
			addIP(a.IP)
		case *net.IPAddr:
			addIP(a.IP)
		}
	}
	return hosts, ips
}

// SelfSigned creates a self-signed server certificate for hosts and ips,
// valid from an hour before now (to tolerate clock skew) until now plus
// validity. The key is ECDSA P-256; the common name is the first host (or the
// first IP if there are no hosts). A host that is an IP literal is added as
// an IP address. It returns the certificate as a "CERTIFICATE" PEM block and
// the key as a PKCS #8 "PRIVATE KEY" PEM block.
func SelfSigned(hosts []string, ips []net.IP, now time.Time, validity time.Duration) (certPEM, keyPEM []byte, err error) {
	if validity <= 0 {
		return nil, nil, fmt.Errorf("tlscert: self-signed: validity %v is not positive", validity)
	}
	var dnsNames []string
	ipAddrs := append([]net.IP(nil), ips...)
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			ipAddrs = append(ipAddrs, ip)
			continue
		}
		if h != "" {
			dnsNames = append(dnsNames, h)
		}
	}
	var cn string
	switch {
	case len(dnsNames) > 0:
		cn = dnsNames[0]
	case len(ipAddrs) > 0:
		cn = ipAddrs[0].String()
	default:
		return nil, nil, errors.New("tlscert: self-signed: no host names or addresses")
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tlscert: self-signed: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("tlscert: self-signed: serial: %w", err)
	}
	if serial.Sign() == 0 {
		serial.SetInt64(1) // RFC 5280 asks for a positive serial
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Switchboard appliance"}},
		DNSNames:              dnsNames,
		IPAddresses:           ipAddrs,
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlscert: self-signed: create certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tlscert: self-signed: marshal key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	return certPEM, keyPEM, nil
}

// ParsePair parses a PEM certificate chain and its PEM private key, checks
// that they belong together, and returns a certificate with Leaf set.
func ParsePair(certPEM, keyPEM []byte) (*tls.Certificate, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tlscert: parse key pair: %w", err)
	}
	if cert.Leaf == nil {
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return nil, fmt.Errorf("tlscert: parse key pair: leaf: %w", err)
		}
		cert.Leaf = leaf
	}
	return &cert, nil
}
