package relay

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// testAuthority hands out grants for tokens with one-time semantics:
// a "once" token works one time; a "bound" token binds to the first device
// that uses it and then works only for that device.
type testAuthority struct {
	mu     sync.Mutex
	tokens map[string]*testToken
}

type testToken struct {
	grant   Grant
	role    uint8
	once    bool   // spent by its first use
	bound   bool   // binds to the first device
	device  string // the device it is bound to
	used    bool
	expires time.Time
}

func newAuthority() *testAuthority { return &testAuthority{tokens: map[string]*testToken{}} }

func (a *testAuthority) add(token string, tok testToken) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens[token] = &tok
}

func (a *testAuthority) Redeem(ctx context.Context, token string, role uint8, deviceID string) (Grant, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	tok := a.tokens[token]
	switch {
	case tok == nil || tok.role != role:
		return Grant{}, errors.New("this token is not valid: download the client again from the support page")
	case !tok.expires.IsZero() && time.Now().After(tok.expires):
		return Grant{}, errors.New("this token has expired: download the client again from the support page")
	case tok.once && tok.used:
		return Grant{}, errors.New("this token was already used: download the client again from the support page")
	case tok.bound && tok.device != "" && tok.device != deviceID:
		return Grant{}, errors.New("this token belongs to another device")
	}
	tok.used = true
	if tok.bound {
		tok.device = deviceID
	}
	return tok.grant, nil
}

// testObserver records what the relay reports.
type testObserver struct {
	up      chan wire.DeviceInfo
	consent chan string
	trail   chan string // presence, transfers and clipboard, in words

	mu    sync.Mutex
	downs map[uint64]chan string
}

func newObserver() *testObserver {
	return &testObserver{up: make(chan wire.DeviceInfo, 64), consent: make(chan string, 64), trail: make(chan string, 64), downs: map[uint64]chan string{}}
}

// down returns the reasons the clients of session left for.
func (o *testObserver) down(session uint64) chan string {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.downs[session]
	if c == nil {
		c = make(chan string, 64)
		o.downs[session] = c
	}
	return c
}

func (o *testObserver) ClientUp(session uint64, info wire.DeviceInfo) { o.up <- info }
func (o *testObserver) ClientDown(session uint64, reason string)      { o.down(session) <- reason }
func (o *testObserver) Consent(session, viewer uint64, what string, granted bool) {
	o.consent <- fmt.Sprintf("%d %s=%v", viewer, what, granted)
}
func (o *testObserver) Presence(session, viewer uint64, name string, joined bool) {
	o.trail <- fmt.Sprintf("%s joined=%v", name, joined)
}
func (o *testObserver) Transfer(session uint64, t Transfer) {
	o.trail <- fmt.Sprintf("file %s %d bytes to customer=%v by %q sha %x", t.Name, t.Size, t.ToCustomer, t.Technician, t.SHA256[:2])
}
func (o *testObserver) Clipboard(session, viewer uint64, toCustomer bool, size int) {
	o.trail <- fmt.Sprintf("clipboard %d bytes to customer=%v by %d", size, toCustomer, viewer)
}

// grant sends the customer's answer about viewer from client c and waits
// for the relay to take it in.
func (tr *testRelay) grant(t testing.TB, c *peer, viewer uint64, what string) {
	t.Helper()
	c.send(wire.ConsentReply{Granted: true, What: what, Viewer: viewer})
	if got, want := recv(t, tr.obs.consent, "consent"), fmt.Sprintf("%d %s=true", viewer, what); got != want {
		t.Fatalf("consent %q, want %q", got, want)
	}
}

// wait is how long a test waits for something that must happen before it
// fails; it never paces a test.
const wait = 20 * time.Second

func recv[T any](t testing.TB, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(wait):
		t.Fatalf("no %s within %v", what, wait)
		panic("unreachable")
	}
}

// testRelay is a relay behind a QUIC listener and a TLS listener (the
// TCP fallback) on loopback.
type testRelay struct {
	*Relay
	addr    string // QUIC
	tcpAddr string // TLS over TCP
	auth    *testAuthority
	obs     *testObserver
}

func startRelay(t testing.TB, cfg Config) *testRelay {
	t.Helper()
	auth, obs := newAuthority(), newObserver()
	r := New(cfg, auth, obs)
	conf := serverTLS(t)
	ln, err := quic.ListenAddr("127.0.0.1:0", conf, &quic.Config{MaxIdleTimeout: 60 * time.Second, KeepAlivePeriod: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	tln, err := tls.Listen("tcp", "127.0.0.1:0", conf)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept(context.Background())
			if err != nil {
				return
			}
			wg.Go(func() { r.ServeConn(conn) })
		}
	})
	wg.Go(func() {
		for {
			conn, err := tln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { r.ServeTLS(conn.(*tls.Conn)) })
		}
	})
	t.Cleanup(func() {
		r.Close()
		ln.Close()
		tln.Close()
		wg.Wait()
	})
	return &testRelay{Relay: r, addr: ln.Addr().String(), tcpAddr: tln.Addr().String(), auth: auth, obs: obs}
}

func serverTLS(t testing.TB) *tls.Config {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		NextProtos:   []string{wire.ALPN},
	}
}

// peer is a client or technician tool on the far side of QUIC, or of TLS
// over TCP (conn nil).
type peer struct {
	t    testing.TB
	conn *quic.Conn
	tc   *tls.Conn
	rw   interface {
		io.ReadWriter
		SetReadDeadline(time.Time) error
	}
	hdr [wire.HeaderLen]byte
}

func dialRaw(t testing.TB, addr string, qc *quic.Config) *peer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, err := quic.DialAddr(ctx, addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{wire.ALPN}}, qc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := conn.OpenStream()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseWithError(0, "test over") })
	return &peer{t: t, conn: conn, rw: st}
}

// dialTCP connects over TLS on TCP, as the support app does when UDP is
// blocked.
func dialTCP(t testing.TB, addr string) *peer {
	t.Helper()
	d := &net.Dialer{Timeout: wait}
	conn, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{wire.ALPN}})
	if err != nil {
		t.Fatal(err)
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p != wire.ALPN {
		t.Fatalf("ALPN %q", p)
	}
	t.Cleanup(func() { conn.Close() })
	return &peer{t: t, tc: conn, rw: conn}
}

// hangup ends the peer's connection without a goodbye.
func (p *peer) hangup() {
	if p.conn != nil {
		p.conn.CloseWithError(0, "bye")
	} else {
		p.tc.Close()
	}
}

// dial connects and says hello; the answer is for the caller to read.
func dial(t testing.TB, addr string, role uint8, token, device string) *peer {
	t.Helper()
	p := dialRaw(t, addr, nil)
	p.send(wire.Hello{Version: wire.Version, Role: role, Token: token, DeviceID: device})
	return p
}

// welcome reads the Welcome and fails with the relay's reason otherwise.
func (p *peer) welcome() wire.Welcome {
	p.t.Helper()
	m := p.msg()
	w, ok := m.(wire.Welcome)
	if !ok {
		p.t.Fatalf("got %#v, want a Welcome", m)
	}
	return w
}

func (p *peer) send(m wire.Message) {
	p.t.Helper()
	p.sendRaw(encode(m))
}

func (p *peer) sendRaw(b []byte) {
	p.t.Helper()
	if _, err := p.rw.Write(b); err != nil {
		p.t.Fatal(err)
	}
}

// next reads one encoded frame.
func (p *peer) next() ([]byte, error) {
	p.rw.SetReadDeadline(time.Now().Add(wait))
	return readFrame(p.rw, &p.hdr, nil)
}

func (p *peer) raw() []byte {
	p.t.Helper()
	b, err := p.next()
	if err != nil {
		p.t.Fatal(err)
	}
	return b
}

func (p *peer) msg() wire.Message {
	p.t.Helper()
	return decode(p.t, p.raw())
}

// expect reads frames until one of type typ, skipping full-frame requests
// and pongs.
func (p *peer) expect(typ wire.Type) wire.Message {
	p.t.Helper()
	for {
		m := p.msg()
		if m.Type() == typ {
			return m
		}
		if m.Type() != wire.TFullFrame && m.Type() != wire.TPong && m.Type() != wire.TPresence {
			p.t.Fatalf("got %#v, want a frame of type %d", m, typ)
		}
	}
}

// closeReason reads until the relay says goodbye and returns its reason:
// from the Close frame if it arrives, else from the connection's error.
func (p *peer) closeReason() string {
	p.t.Helper()
	for {
		b, err := p.next()
		if err != nil {
			var app *quic.ApplicationError
			if errors.As(err, &app) {
				return app.ErrorMessage
			}
			p.t.Fatalf("connection ended without a reason: %v", err)
		}
		if m := decode(p.t, b); m.Type() == wire.TClose {
			p.hangup()
			return m.(wire.Close).Reason
		}
	}
}

func decode(t testing.TB, b []byte) wire.Message {
	t.Helper()
	m, err := wire.Decode(wire.Frame{Type: wire.Type(b[0]), Flags: b[1], Payload: b[wire.HeaderLen:]})
	if err != nil {
		t.Fatalf("relay sent a frame wire does not accept: %v", err)
	}
	return m
}

// nextMsg takes the next frame of an in-process viewer.
func nextFrame(t testing.TB, v *Viewer) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	b, err := v.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func contains(t testing.TB, got, want string) {
	t.Helper()
	if !strings.Contains(got, want) {
		t.Fatalf("reason %q does not say %q", got, want)
	}
}

// addClient registers a client token for session and connects it.
func (tr *testRelay) addClient(t testing.TB, session uint64) *peer {
	t.Helper()
	tok := fmt.Sprintf("client-%d-%d", session, time.Now().UnixNano())
	tr.auth.add(tok, testToken{grant: Grant{Session: session}, role: wire.RoleClient, once: true})
	p := dial(t, tr.addr, wire.RoleClient, tok, "dev-1")
	if w := p.welcome(); w.Session != session {
		t.Fatalf("welcome for session %d, want %d", w.Session, session)
	}
	return p
}

// addTechnician connects a native technician tool to session.
func (tr *testRelay) addTechnician(t testing.TB, session, id uint64, name string) *peer {
	t.Helper()
	tok := fmt.Sprintf("tech-%d-%d-%d", session, id, time.Now().UnixNano())
	tr.auth.add(tok, testToken{grant: Grant{Session: session, Viewer: id, Name: name, Rights: full}, role: wire.RoleTechnician, once: true})
	p := dial(t, tr.addr, wire.RoleTechnician, tok, "")
	p.welcome()
	return p
}

func tile(x, y uint16, data []byte) []byte {
	return encode(wire.Tile{X: x, Y: y, W: 64, H: 64, Encoding: wire.EncRaw, Data: data})
}

// full are the rights of a technician who may control and transfer files.
var full = Rights{Control: true, Files: true}
