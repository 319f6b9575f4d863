package tlscert

import (
	"crypto/tls"
	"slices"
)

// ServerConfig returns the TLS configuration for every HTTPS and QUIC
// surface, following Mozilla's "intermediate" profile: TLS 1.2 or later,
// only ECDHE key exchange with AEAD ciphers under TLS 1.2, and the hybrid
// post-quantum X25519MLKEM768 group ahead of X25519, P-256 and P-384.
// Certificates come from m, per server name. nextProtos lists the ALPN
// protocols offered, most preferred first.
func ServerConfig(m *Manager, nextProtos []string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// TLS 1.3 suites are not configurable in Go and are all AEAD.
		CipherSuites: []uint16{
			tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
			tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
			tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
			tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
		},
		CurvePreferences: []tls.CurveID{
			tls.X25519MLKEM768,
			tls.X25519,
			tls.CurveP256,
			tls.CurveP384,
		},
		GetCertificate: m.GetCertificate,
		NextProtos:     slices.Clone(nextProtos),
	}
}
