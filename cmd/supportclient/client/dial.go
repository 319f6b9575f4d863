package client

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/i18n"
	"github.com/switchboardhq/switchboard/cmd/supportclient/prompt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// Box is the address of a Switchboard appliance as stamped:
// host:port, optionally pinned with #sha256=<hex of the leaf certificate>.
type Box struct {
	Addr string // host:port
	Host string
	Pin  []byte // SHA-256 of the leaf certificate's DER; nil: system roots
	// Lang is the language of the customer's support page, Site the
	// public site's name, both from the stamp (&lang=fr&site=… after the
	// pin); Lang "" is English.
	Lang, Site string
}

// ParseBox parses a stamped address.
func ParseBox(s string) (Box, error) {
	addr, frag, pinned := strings.Cut(s, "#")
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return Box{}, fmt.Errorf("box address %q is not host:port", addr)
	}
	b := Box{Addr: addr, Host: host}
	if pinned {
		q, err := url.ParseQuery(frag)
		sum, herr := hex.DecodeString(q.Get("sha256"))
		if err != nil || herr != nil || len(sum) != sha256.Size {
			return Box{}, fmt.Errorf("box address %q: the pin is not sha256=<64 hex digits>", s)
		}
		b.Pin = sum
		if l := q.Get("lang"); i18n.Valid(l) {
			b.Lang = l
		}
		b.Site = prompt.Clean(q.Get("site"), 60)
	}
	return b, nil
}

// TLSConfig is the TLS configuration for dialling b: the pinned leaf
// certificate, or a certificate for b.Host from the system roots.
func (b Box) TLSConfig() *tls.Config {
	c := &tls.Config{ServerName: b.Host, NextProtos: []string{wire.ALPN}, MinVersion: tls.VersionTLS13}
	if b.Pin != nil {
		// The pin replaces the chain check; VerifyConnection runs on
		// every handshake, resumed ones included.
		c.InsecureSkipVerify = true
		pin := b.Pin
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the box sent no certificate")
			}
			sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if subtle.ConstantTimeCompare(sum[:], pin) != 1 {
				return fmt.Errorf("%w (sha256 %x)", ErrWrongCertificate, sum)
			}
			return nil
		}
	}
	return c
}

// ErrWrongCertificate is a box whose certificate is not the one the app
// was made for: another server answers at its address, or the box's
// certificate changed since the app was downloaded.
var ErrWrongCertificate = errors.New("the box's certificate is not the one this program was made for")

// keepAlive keeps QUIC (and NATs on the way) awake between frames.
const keepAlive = 15 * time.Second

// Dial connects to b and opens the session's stream.
func Dial(ctx context.Context, b Box) (*quic.Conn, *quic.Stream, error) {
	conn, err := quic.DialAddr(ctx, b.Addr, b.TLSConfig(), &quic.Config{KeepAlivePeriod: keepAlive})
	if err != nil {
		return nil, nil, fmt.Errorf("connect to %s: %w", b.Addr, err)
	}
	st, err := conn.OpenStreamSync(ctx)
	if err != nil {
		conn.CloseWithError(0, "")
		return nil, nil, fmt.Errorf("connect to %s: %w", b.Addr, err)
	}
	return conn, st, nil
}
