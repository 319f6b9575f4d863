package appliance

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/sync/errgroup"

	"github.com/switchboardhq/switchboard/appliance/config"
	"github.com/switchboardhq/switchboard/appliance/relay"
	"github.com/switchboardhq/switchboard/appliance/sysd"
	"github.com/switchboardhq/switchboard/appliance/tlscert"
	"github.com/switchboardhq/switchboard/appliance/wire"
)

// listeners are the sockets of the box: taken from systemd socket activation
// when present, bound here otherwise.
type listeners struct {
	https net.Listener   // TCP: HTTPS
	quic  net.PacketConn // UDP on the same port: HTTP/3 (and the relay later)
	http  net.Listener   // TCP: redirect to HTTPS; nil when disabled
	rest  sysd.Sockets
}

func listen(cfg config.Config) (*listeners, error) {
	act, err := sysd.Activated()
	if err != nil {
		return nil, err
	}
	ls := &listeners{rest: act}
	fail := func(err error) (*listeners, error) { ls.Close(); return nil, err }
	if ls.https = ls.rest.TCPFor(cfg.HTTPSAddr); ls.https == nil {
		if ls.https, err = net.Listen("tcp", cfg.HTTPSAddr); err != nil {
			return fail(fmt.Errorf("https: %w", err))
		}
	}
	// UDP takes the port TCP got, so ":0" in tests yields one port for both.
	_, port, _ := net.SplitHostPort(ls.https.Addr().String())
	host, _, _ := net.SplitHostPort(cfg.HTTPSAddr)
	udpAddr := net.JoinHostPort(host, port)
	if ls.quic = ls.rest.UDPFor(cfg.HTTPSAddr); ls.quic == nil {
		if ls.quic, err = net.ListenPacket("udp", udpAddr); err != nil {
			return fail(fmt.Errorf("quic: %w", err))
		}
	}
	if cfg.HTTPAddr != "" {
		if ls.http = ls.rest.TCPFor(cfg.HTTPAddr); ls.http == nil {
			if ls.http, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
				return fail(fmt.Errorf("http: %w", err))
			}
		}
	}
	// Sockets systemd passed that no listener claimed are closed now.
	ls.rest.Close()
	return ls, nil
}

// Close closes every socket; it is safe to call twice.
func (ls *listeners) Close() error {
	for _, c := range []interface{ Close() error }{ls.https, ls.quic, ls.http} {
		if c != nil && !isNil(c) {
			c.Close()
		}
	}
	return ls.rest.Close()
}

func isNil(c interface{ Close() error }) bool {
	switch v := c.(type) {
	case net.Listener:
		return v == nil
	case net.PacketConn:
		return v == nil
	}
	return false
}

// servers are the HTTPS, HTTP/3 and redirect servers over the listeners.
type servers struct {
	ls       *listeners
	https    *http.Server
	h3       *http3.Server
	redirect *http.Server
	tlsConf  *tls.Config
	qtr      *quic.Transport
	qln      *quic.EarlyListener
	// relay takes QUIC connections of the wire protocol (nil: refused).
	relay *relay.Relay
	log   *slog.Logger
	base  context.Context
	stop  context.CancelFunc
}

// acme answers ACME HTTP-01 requests on the plain-HTTP port (true when
// it did).
func newServers(h http.Handler, certs *tlscert.Manager, acme func(http.ResponseWriter, *http.Request) bool, ls *listeners, log *slog.Logger) *servers {
	base, stop := context.WithCancel(context.Background())
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	s := &servers{ls: ls, log: log, base: base, stop: stop}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(true) // kept on beside TLSNextProto
	s.https = &http.Server{
		Handler: h,
		// switchboard/1 on TCP is the relay for support apps whose
		// network blocks UDP; browsers never offer it.
		// acme-tls/1 is a CA checking a TLS-ALPN-01 challenge: the
		// handshake is all it needs, and net/http closes the connection.
		TLSConfig:         tlscert.ServerConfig(certs, []string{"h2", "http/1.1", wire.ALPN, tlscert.ACMETLS1}),
		Protocols:         &protocols,
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){wire.ALPN: s.serveRelayTLS},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		// A response must be written within a minute; the event streams and
		// the downloads move their own deadline forward as they write.
		WriteTimeout:   60 * time.Second,
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 32 << 10,
		ErrorLog:       errLog,
		BaseContext:    func(net.Listener) context.Context { return base },
	}
	s.tlsConf = tlscert.ServerConfig(certs, []string{http3.NextProtoH3, wire.ALPN})
	s.h3 = &http3.Server{Handler: h, MaxHeaderBytes: 32 << 10}
	if ls.http != nil {
		s.redirect = &http.Server{
			Handler:           acmeOrRedirect(acme, redirectToHTTPS(ls.https.Addr())),
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          errLog,
		}
	}
	return s
}

func (s *servers) start(g *errgroup.Group) {
	g.Go(func() error {
		err := s.https.Serve(tls.NewListener(s.ls.https, s.https.TLSConfig))
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("https: %w", err)
	})
	s.qtr = &quic.Transport{Conn: s.ls.quic}
	ln, err := s.qtr.ListenEarly(s.tlsConf, &quic.Config{MaxIdleTimeout: 60 * time.Second, KeepAlivePeriod: 20 * time.Second})
	if err != nil {
		g.Go(func() error { return fmt.Errorf("quic: %w", err) })
	} else {
		s.qln = ln
		g.Go(func() error { return s.acceptQUIC(ln) })
	}
	if s.redirect != nil {
		g.Go(func() error {
			err := s.redirect.Serve(s.ls.http)
			if errors.Is(err, http.ErrServerClosed) {
				return nil
			}
			return fmt.Errorf("http: %w", err)
		})
	}
}

// acceptQUIC dispatches QUIC connections by ALPN: h3 to the HTTP/3 server,
// switchboard/1 to the relay.
func (s *servers) acceptQUIC(ln *quic.EarlyListener) error {
	for {
		conn, err := ln.Accept(s.base)
		if err != nil {
			if s.base.Err() != nil || errors.Is(err, quic.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("quic: %w", err)
		}
		switch conn.ConnectionState().TLS.NegotiatedProtocol {
		case http3.NextProtoH3:
			go s.h3.ServeQUICConn(conn)
		case wire.ALPN:
			if s.relay == nil {
				conn.CloseWithError(0x100, "remote control is not running")
				continue
			}
			go s.relay.ServeConn(conn)
		default:
			conn.CloseWithError(0x100, "unsupported protocol")
		}
	}
}

// serveRelayTLS hands a TCP connection that chose ALPN switchboard/1 to
// the relay; net/http has done the handshake and closes the connection
// when this returns.
func (s *servers) serveRelayTLS(_ *http.Server, conn *tls.Conn, _ http.Handler) {
	if s.relay == nil {
		return
	}
	s.relay.ServeTLS(conn)
}

func (s *servers) shutdown(ctx context.Context) {
	s.stop() // ends long-lived requests that watch their context
	if s.relay != nil {
		// Relay connections on TCP count as active for the HTTPS server's
		// graceful stop: end them first (a second Close is a no-op).
		s.relay.Close()
	}
	var g errgroup.Group
	g.Go(func() error { return s.https.Shutdown(ctx) })
	g.Go(func() error { return s.h3.Shutdown(ctx) })
	if s.redirect != nil {
		g.Go(func() error { return s.redirect.Shutdown(ctx) })
	}
	if err := g.Wait(); err != nil {
		s.log.Warn("graceful stop cut short", "err", err)
		s.https.Close()
		s.h3.Close()
	}
	if s.qln != nil {
		s.qln.Close()
	}
	if s.qtr != nil {
		s.qtr.Close()
	}
}

// acmeOrRedirect answers ACME HTTP-01 challenges and redirects the rest.
func acmeOrRedirect(acme func(http.ResponseWriter, *http.Request) bool, redirect http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if acme != nil && acme(w, r) {
			return
		}
		redirect(w, r)
	})
}

// redirectToHTTPS sends plain-HTTP visitors to the same path over HTTPS.
func redirectToHTTPS(httpsAddr net.Addr) func(http.ResponseWriter, *http.Request) {
	_, port, _ := net.SplitHostPort(httpsAddr.String())
	return func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if host == "" || strings.ContainsAny(host, "/\\@") {
			http.Error(w, "Use HTTPS.", http.StatusBadRequest)
			return
		}
		target := "https://" + host
		if port != "443" {
			target = "https://" + net.JoinHostPort(host, port)
		}
		http.Redirect(w, r, target+r.URL.RequestURI(), http.StatusMovedPermanently)
	}
}
