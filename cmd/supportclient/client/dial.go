package client

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/switchboardhq/switchboard/appliance/i18n"
	"github.com/switchboardhq/switchboard/appliance/wire"
	"github.com/switchboardhq/switchboard/cmd/supportclient/prompt"
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

// quicHeadStart is how long QUIC has to connect before TLS on TCP is tried
// beside it: a network that drops UDP gives no error, only silence.
const quicHeadStart = 3 * time.Second

// A Link is the session's byte stream to the box: one QUIC stream, or TLS
// on the box's TCP HTTPS port when UDP does not get through.
type Link interface {
	io.ReadWriter
	SetWriteDeadline(time.Time) error
	// Transport is "quic" or "tcp".
	Transport() string
	// Hangup ends our side, gives the box up to wait to read what was
	// sent and hang up, and closes.
	Hangup(wait time.Duration)
}

// Dial connects to b and opens the session's stream: over QUIC, and over
// TLS on TCP (the same port, ALPN switchboard/1, the same certificate
// check) when QUIC fails or has not connected within quicHeadStart. The
// first to connect is used. A certificate that is not the pinned one ends
// both at once: it would be the same on either.
func Dial(ctx context.Context, b Box) (Link, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		l   Link
		err error
	}
	results := make(chan result, 2)
	pending := 0
	start := func(dial func(context.Context, Box) (Link, error)) {
		pending++
		go func() {
			l, err := dial(ctx, b)
			results <- result{l, err}
		}()
	}
	start(dialQUIC)
	timer := time.NewTimer(quicHeadStart)
	defer timer.Stop()
	tcp := false
	var quicErr, tcpErr error
	for {
		select {
		case <-timer.C:
		case r := <-results:
			pending--
			if r.err == nil {
				// The loser may still connect: hang it up when it does.
				go func(n int) {
					for range n {
						if r := <-results; r.l != nil {
							r.l.Hangup(0)
						}
					}
				}(pending)
				return r.l, nil
			}
			if errors.Is(r.err, ErrWrongCertificate) {
				return nil, r.err
			}
			if strings.HasPrefix(r.err.Error(), "tcp: ") {
				tcpErr = r.err
			} else {
				quicErr = r.err
			}
			if tcp && pending == 0 {
				return nil, fmt.Errorf("connect to %s: %v; %v", b.Addr, quicErr, tcpErr)
			}
		}
		if !tcp {
			tcp = true
			start(dialTCP)
		}
	}
}

// dialQUIC connects over QUIC and opens the stream.
func dialQUIC(ctx context.Context, b Box) (Link, error) {
	conn, err := quic.DialAddr(ctx, b.Addr, b.TLSConfig(), &quic.Config{KeepAlivePeriod: keepAlive})
	if err != nil {
		return nil, certOr(err, "QUIC")
	}
	st, err := conn.OpenStreamSync(ctx)
	if err != nil {
		conn.CloseWithError(0, "")
		return nil, fmt.Errorf("QUIC: %w", err)
	}
	return &quicLink{conn, st}, nil
}

// dialTCP connects with TLS over TCP to the same port.
func dialTCP(ctx context.Context, b Box) (Link, error) {
	d := tls.Dialer{Config: b.TLSConfig()}
	c, err := d.DialContext(ctx, "tcp", b.Addr)
	if err != nil {
		return nil, certOr(err, "tcp")
	}
	conn := c.(*tls.Conn)
	if p := conn.ConnectionState().NegotiatedProtocol; p != wire.ALPN {
		conn.Close()
		return nil, errors.New("tcp: the box does not take support connections over TCP (it is older than this app)")
	}
	return &tlsLink{conn}, nil
}

// certOr keeps ErrWrongCertificate recognisable and names the transport of
// other errors.
func certOr(err error, transport string) error {
	if errors.Is(err, ErrWrongCertificate) {
		return err
	}
	return fmt.Errorf("%s: %w", transport, err)
}

type quicLink struct {
	conn *quic.Conn
	st   *quic.Stream
}

func (l *quicLink) Read(p []byte) (int, error)         { return l.st.Read(p) }
func (l *quicLink) Write(p []byte) (int, error)        { return l.st.Write(p) }
func (l *quicLink) SetWriteDeadline(t time.Time) error { return l.st.SetWriteDeadline(t) }
func (l *quicLink) Transport() string                  { return "quic" }
func (l *quicLink) Hangup(wait time.Duration) {
	l.st.Close()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-l.conn.Context().Done():
	case <-timer.C:
	}
	l.conn.CloseWithError(0, "")
}

type tlsLink struct{ conn *tls.Conn }

func (l *tlsLink) Read(p []byte) (int, error)         { return l.conn.Read(p) }
func (l *tlsLink) Write(p []byte) (int, error)        { return l.conn.Write(p) }
func (l *tlsLink) SetWriteDeadline(t time.Time) error { return l.conn.SetWriteDeadline(t) }
func (l *tlsLink) Transport() string                  { return "tcp" }
func (l *tlsLink) Hangup(wait time.Duration) {
	l.conn.SetWriteDeadline(time.Now().Add(wait))
	if wait > 0 && l.conn.CloseWrite() == nil {
		// What the box still sends (its Close) is read and dropped until
		// it hangs up.
		l.conn.SetReadDeadline(time.Now().Add(wait))
		io.Copy(io.Discard, io.LimitReader(l.conn, 1<<20))
	}
	l.conn.Close()
}
