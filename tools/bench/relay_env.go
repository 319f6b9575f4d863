package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/switchboardhq/switchboard/appliance/relay"
	"github.com/switchboardhq/switchboard/appliance/tlscert"
	"github.com/switchboardhq/switchboard/appliance/wire"
)

// relayEnv is a relay and a plain QUIC server (the baseline), each on its
// own UDP socket, and a client-side QUIC transport.
type relayEnv struct {
	relay     *relay.Relay
	relayAddr net.Addr
	tcpAddr   net.Addr        // the relay's TLS-over-TCP fallback
	direct    chan *quic.Conn // connections to the baseline server
	directAdr net.Addr
	client    *quic.Transport
	clientTLS *tls.Config
	closers   []func()
	wg        sync.WaitGroup
}

// benchAuthority grants whatever a token names: "c <session>" or
// "t <session> <viewer>". Only for this benchmark.
type benchAuthority struct{}

func (benchAuthority) Redeem(_ context.Context, token string, role uint8, _ string) (relay.Grant, error) {
	var g relay.Grant
	if role == wire.RoleClient {
		_, err := fmt.Sscanf(token, "c %d", &g.Session)
		return g, err
	}
	_, err := fmt.Sscanf(token, "t %d %d", &g.Session, &g.Viewer)
	g.Name = "bench"
	g.Rights = relay.Rights{Control: true, Files: true}
	return g, err
}

func newRelayEnv() (*relayEnv, error) {
	certPEM, keyPEM, err := tlscert.SelfSigned([]string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}, time.Now(), 24*time.Hour)
	if err != nil {
		return nil, err
	}
	cert, err := tlscert.ParsePair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	server := &tls.Config{Certificates: []tls.Certificate{*cert}, NextProtos: []string{wire.ALPN}, MinVersion: tls.VersionTLS13}
	e := &relayEnv{
		relay:     relay.New(relay.Config{}, benchAuthority{}, nil),
		direct:    make(chan *quic.Conn, relayIdleClients),
		clientTLS: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{wire.ALPN}},
	}
	e.closers = append(e.closers, e.relay.Close)
	listen := func(serve func(*quic.Conn)) (net.Addr, error) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		tr := &quic.Transport{Conn: pc}
		ln, err := tr.ListenEarly(server, relayQUIC)
		if err != nil {
			pc.Close()
			return nil, err
		}
		e.closers = append(e.closers, func() { ln.Close(); tr.Close(); pc.Close() })
		e.wg.Go(func() {
			for {
				conn, err := ln.Accept(context.Background())
				if err != nil {
					return
				}
				e.wg.Go(func() { serve(conn) })
			}
		})
		return ln.Addr(), nil
	}
	if e.relayAddr, err = listen(e.relay.ServeConn); err != nil {
		return nil, err
	}
	tln, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		e.close()
		return nil, err
	}
	e.tcpAddr = tln.Addr()
	e.closers = append(e.closers, func() { tln.Close() })
	e.wg.Go(func() {
		for {
			conn, err := tln.Accept()
			if err != nil {
				return
			}
			e.wg.Go(func() { e.relay.ServeTLS(conn.(*tls.Conn)) })
		}
	})
	if e.directAdr, err = listen(func(c *quic.Conn) { e.direct <- c }); err != nil {
		e.close()
		return nil, err
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		e.close()
		return nil, err
	}
	e.client = &quic.Transport{Conn: pc}
	e.closers = append(e.closers, func() { e.client.Close(); pc.Close() })
	return e, nil
}

func (e *relayEnv) close() {
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.wg.Wait()
}

// dialRelay connects with a hello and returns the stream after the Welcome.
func (e *relayEnv) dialRelay(ctx context.Context, role uint8, token string) (*quic.Conn, *quic.Stream, error) {
	conn, st, err := e.dial(ctx, e.relayAddr)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (*quic.Conn, *quic.Stream, error) { conn.CloseWithError(0, ""); return nil, nil, err }
	if err := writeMsg(st, wire.Hello{Version: wire.Version, Role: role, Token: token, DeviceID: "bench"}); err != nil {
		return fail(err)
	}
	f, err := wire.ReadFrame(st, nil)
	if err != nil {
		return fail(err)
	}
	if f.Type != wire.TWelcome {
		m, _ := wire.Decode(f)
		return fail(fmt.Errorf("no welcome: %#v", m))
	}
	return conn, st, nil
}

// dialRelayTCP connects over TLS on TCP, as a support app whose network
// blocks UDP, and returns the connection after the Welcome.
func (e *relayEnv) dialRelayTCP(ctx context.Context, role uint8, token string) (*tls.Conn, error) {
	d := tls.Dialer{Config: e.clientTLS}
	c, err := d.DialContext(ctx, "tcp", e.tcpAddr.String())
	if err != nil {
		return nil, err
	}
	conn := c.(*tls.Conn)
	if err := writeMsg(conn, wire.Hello{Version: wire.Version, Role: role, Token: token, DeviceID: "bench"}); err != nil {
		conn.Close()
		return nil, err
	}
	f, err := wire.ReadFrame(conn, nil)
	if err != nil || f.Type != wire.TWelcome {
		conn.Close()
		return nil, fmt.Errorf("no welcome over TCP: type %d, %v", f.Type, err)
	}
	return conn, nil
}

// dialDirect connects to the baseline server and returns both ends of a
// stream.
func (e *relayEnv) dialDirect(ctx context.Context) (near, far *quic.Stream, closeFn func(), err error) {
	conn, st, err := e.dial(ctx, e.directAdr)
	if err != nil {
		return nil, nil, nil, err
	}
	// The stream is announced by its first byte: a Ping.
	if err := writeMsg(st, wire.Ping{}); err != nil {
		return nil, nil, nil, err
	}
	var sconn *quic.Conn
	select {
	case sconn = <-e.direct:
	case <-ctx.Done():
		return nil, nil, nil, ctx.Err()
	}
	sst, err := sconn.AcceptStream(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	if _, err := wire.ReadFrame(sst, nil); err != nil {
		return nil, nil, nil, err
	}
	return st, sst, func() { conn.CloseWithError(0, ""); sconn.CloseWithError(0, "") }, nil
}

func (e *relayEnv) dial(ctx context.Context, addr net.Addr) (*quic.Conn, *quic.Stream, error) {
	conn, err := e.client.Dial(ctx, addr, e.clientTLS, relayQUIC)
	if err != nil {
		return nil, nil, err
	}
	st, err := conn.OpenStream()
	if err != nil {
		conn.CloseWithError(0, "")
		return nil, nil, err
	}
	return conn, st, nil
}
