// Package relay forwards remote-support sessions between the customer's
// client and the technicians who watch it. A client dials the appliance over
// QUIC (ALPN wire.ALPN), opens one bidirectional stream and says Hello with a
// one-time token; the relay redeems it through an Authority and from then on
// routes wire frames: screen frames (tiles and frame ends) and the client's
// device info, consent answers, clipboard and file frames fan out to every
// viewer of the session; input, clipboard, consent questions, full-frame
// requests and file frames from viewers go to the client.
//
// Viewers are in-process (Join, used by the browser gateway) or native
// technician tools that dial like a client with role technician. Each viewer
// has its own bounded queue, so a slow viewer loses screen frames (and asks
// for a full frame once it has caught up) instead of slowing the client or
// the other viewers; the client has a bounded queue too.
//
// How much is checked: every frame's header is checked against the wire
// bounds before its payload is read. Every frame except TTile and TCopy is
// decoded with wire.Decode before it is forwarded, so peers only ever
// receive frames that wire accepts; tile and copy payloads are forwarded
// without being looked at (a browser or tool decodes them and must treat
// them as untrusted: a copy may reach outside the screen).
//
// File transfers from the client go to every viewer through the viewers'
// non-screen queues: when a viewer's queue is half full, the client's next
// chunk waits (up to Config.WriteTimeout) for that viewer to catch up, so a
// transfer runs at the pace of the slowest viewer instead of disconnecting it.
// While it waits, the client's other frames wait too; a viewer that does not
// catch up within the timeout is disconnected ("viewer too slow").
package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
	"golang.org/x/time/rate"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// Grant is what a redeemed token allows.
type Grant struct {
	Session uint64 // desk session id
	Viewer  uint64 // technician id (role technician); 0 for the client
	Name    string // technician's public name (role technician), which the customer is shown
	Rights  Rights // what the technician may do (role technician)
}

// Rights is what a viewer may do beyond watching. The relay checks them on
// every frame: without Control a viewer's input and clipboard frames are
// dropped even while it holds control, and it gets none of the client's
// clipboard; without Files it can neither offer, accept nor receive a file.
type Rights struct {
	Control bool
	Files   bool
}

// Authority redeems the tokens of hellos.
type Authority interface {
	// Redeem spends a one-time token (refusing forged, replayed, expired ones and, for a
	// token already bound, another device). The error text is sent to the peer.
	Redeem(ctx context.Context, token string, role uint8, deviceID string) (Grant, error)
}

// Observer hears what happens in sessions, for their trail. Its methods are
// called from the connections and must not block for long.
type Observer interface {
	ClientUp(session uint64, info wire.DeviceInfo) // device info arrived (again)
	ClientDown(session uint64, reason string)
	// Consent is the customer's answer about technician viewer.
	Consent(session, viewer uint64, what string, granted bool)
	// Presence is technician viewer (public name) starting to watch (its
	// first viewer in the session joined) or stopping (its last left).
	Presence(session, viewer uint64, name string, joined bool)
	// Transfer is a file that went through whole, either way.
	Transfer(session uint64, t Transfer)
	// Clipboard is clipboard text that went through: its size, never the
	// text. viewer is the technician who sent it (toCustomer) or, from the
	// customer, 0.
	Clipboard(session, viewer uint64, toCustomer bool, size int)
}

// Transfer is a file that went through the relay whole.
type Transfer struct {
	ToCustomer bool
	Viewer     uint64 // the technician who sent it; 0 from the customer
	Technician string // that technician's public name
	Name       string
	Size       uint64
	SHA256     [32]byte
}

// Close codes: the Code of the wire.Close frame the relay sends before it
// ends a connection, and the QUIC application error code it closes with.
const (
	CodeNormal   = 0 // the peer said goodbye
	CodeRefused  = 1 // the hello was refused: token, device, session busy
	CodeProtocol = 2 // the peer sent something the protocol does not allow
	CodeEnded    = 3 // the session was ended
	CodeSlow     = 4 // the peer did not read what it was sent
	CodeIdle     = 5 // the client sent nothing for Config.IdleTimeout
	CodeShutdown = 6 // the appliance is stopping
	CodeLost     = 7 // the connection broke
)

// Errors of the relay.
var (
	// ErrClosed is returned by a viewer's methods once it is closed; the
	// error wrapping it says why.
	ErrClosed = errors.New("relay: viewer closed")
	// ErrRelayClosed is returned by Join after Close.
	ErrRelayClosed = errors.New("relay: closed")
)

// Config holds the relay's limits. Zero fields take the defaults.
type Config struct {
	// ViewerScreenBytes bounds the screen frames queued for one viewer
	// (default 4 MiB). On overflow they are dropped and the viewer gets a
	// full frame once it has caught up.
	ViewerScreenBytes int
	// ViewerOtherBytes bounds the other frames queued for one viewer
	// (default 8 MiB, at least 256 KiB). Over it the viewer is closed.
	ViewerOtherBytes int
	// ClientQueueBytes bounds the frames queued for the client (default
	// 8 MiB, at least 256 KiB). Viewers' frames wait for room; a client
	// that does not make room within WriteTimeout is closed.
	ClientQueueBytes int
	// SessionBitsPerSecond caps what one session's client sends to the box
	// (0: no cap). GlobalBitsPerSecond caps all clients together.
	SessionBitsPerSecond uint64
	GlobalBitsPerSecond  uint64
	// IdleTimeout closes a client that sent nothing, not even a ping, for
	// this long (default 2 minutes).
	IdleTimeout time.Duration
	// HelloTimeout bounds the wait for a peer's stream and hello (default
	// 10 s).
	HelloTimeout time.Duration
	// WriteTimeout bounds one blocked write to a peer and the wait for room
	// in a full queue (default 10 s).
	WriteTimeout time.Duration
	// CloseGrace is how long the relay waits, after writing a Close frame,
	// for the peer to hang up before it closes the connection itself
	// (default 1 s).
	CloseGrace time.Duration
	// FullFrameInterval is the least time between two full-frame requests
	// of one viewer (default 1 s); requests in between are dropped.
	FullFrameInterval time.Duration
	// Log receives connection-level events (never one line per frame).
	Log *slog.Logger
}

func (c Config) withDefaults() Config {
	def := func(v *int, d, least int) {
		if *v <= 0 {
			*v = d
		}
		*v = max(*v, least)
	}
	def(&c.ViewerScreenBytes, 4<<20, 64<<10)
	def(&c.ViewerOtherBytes, 8<<20, 256<<10)
	def(&c.ClientQueueBytes, 8<<20, 256<<10)
	dur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	dur(&c.IdleTimeout, 2*time.Minute)
	dur(&c.HelloTimeout, 10*time.Second)
	dur(&c.WriteTimeout, 10*time.Second)
	dur(&c.CloseGrace, time.Second)
	dur(&c.FullFrameInterval, time.Second)
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	return c
}

// Relay routes the frames of every live session.
type Relay struct {
	cfg    Config
	auth   Authority
	obs    Observer
	log    *slog.Logger
	global *rate.Limiter // nil: no global cap
	total  counters

	base context.Context // cancelled by Close after the grace
	stop context.CancelFunc

	mu          sync.Mutex
	closed      bool
	sessions    map[uint64]*session
	controllers map[uint64]uint64 // session → technician who may send input
	wg          sync.WaitGroup    // connections and their writers
}

// New returns a relay. It starts nothing: connections arrive through
// ServeConn and viewers through Join. obs may be nil.
func New(cfg Config, auth Authority, obs Observer) *Relay {
	cfg = cfg.withDefaults()
	if obs == nil {
		obs = nopObserver{}
	}
	base, stop := context.WithCancel(context.Background())
	return &Relay{
		cfg:         cfg,
		auth:        auth,
		obs:         obs,
		log:         cfg.Log,
		global:      newLimiter(cfg.GlobalBitsPerSecond),
		base:        base,
		stop:        stop,
		sessions:    map[uint64]*session{},
		controllers: map[uint64]uint64{},
	}
}

type nopObserver struct{}

func (nopObserver) ClientUp(uint64, wire.DeviceInfo)      {}
func (nopObserver) ClientDown(uint64, string)             {}
func (nopObserver) Consent(uint64, uint64, string, bool)  {}
func (nopObserver) Presence(uint64, uint64, string, bool) {}
func (nopObserver) Transfer(uint64, Transfer)             {}
func (nopObserver) Clipboard(uint64, uint64, bool, int)   {}

// newLimiter returns a token bucket of bitsPerSecond, or nil for no cap.
// Its burst is an eighth of a second of traffic, at least 64 KiB.
func newLimiter(bitsPerSecond uint64) *rate.Limiter {
	if bitsPerSecond == 0 {
		return nil
	}
	bytes := float64(bitsPerSecond) / 8
	return rate.NewLimiter(rate.Limit(bytes), max(64<<10, int(bytes/8)))
}

// ServeConn serves one QUIC connection of ALPN wire.ALPN: it waits for the
// peer's stream and hello, redeems the token and serves the client or
// technician until the connection ends. It returns when the connection is
// closed.
func (r *Relay) ServeConn(conn *quic.Conn) {
	if !r.enter() {
		conn.CloseWithError(CodeShutdown, "the appliance is shutting down: try again in a minute")
		return
	}
	defer r.wg.Done()
	// Close, once its grace is over, cuts whatever is left.
	defer context.AfterFunc(r.base, func() {
		conn.CloseWithError(CodeShutdown, "the appliance is shutting down")
	})()
	ctx, cancel := context.WithTimeout(conn.Context(), r.cfg.HelloTimeout)
	defer cancel()
	// A hello in 0-RTT data could be a replay: tokens are redeemed only on
	// connections whose handshake completed.
	select {
	case <-conn.HandshakeComplete():
	case <-ctx.Done():
		conn.CloseWithError(CodeProtocol, fmt.Sprintf("the handshake did not complete within %v", r.cfg.HelloTimeout))
		return
	}
	st, err := conn.AcceptStream(ctx)
	cancel()
	if err != nil {
		conn.CloseWithError(CodeProtocol, fmt.Sprintf("no stream was opened within %v", r.cfg.HelloTimeout))
		return
	}
	r.serve(conn.Context(), &quicTransport{conn: conn, st: st, grace: r.cfg.CloseGrace})
}

// ServeTLS serves one TLS connection whose handshake chose ALPN wire.ALPN
// on the box's TCP HTTPS port, as ServeConn serves QUIC: the same hello,
// tokens and session, for support apps on networks that block UDP. It
// returns when the connection is closed.
func (r *Relay) ServeTLS(conn *tls.Conn) {
	t := newTLSTransport(conn, r.cfg.CloseGrace)
	if !r.enter() {
		r.refuse(t, CodeShutdown, "the appliance is shutting down: try again in a minute")
		return
	}
	defer r.wg.Done()
	ctx, cancel := context.WithCancel(r.base)
	defer cancel()
	// Close, once its grace is over, cuts whatever is left.
	defer context.AfterFunc(r.base, func() { conn.Close() })()
	hctx, hcancel := context.WithTimeout(ctx, r.cfg.HelloTimeout)
	err := conn.HandshakeContext(hctx) // done already when net/http hands it over
	hcancel()
	if err != nil || conn.ConnectionState().NegotiatedProtocol != wire.ALPN {
		conn.Close()
		return
	}
	r.serve(ctx, t)
}

// enter registers a connection unless the relay is closed.
func (r *Relay) enter() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.wg.Add(1)
	return true
}

// serve runs the hello exchange on t and then the peer's side of the session.
func (r *Relay) serve(ctx context.Context, t transport) {
	t.SetReadDeadline(time.Now().Add(r.cfg.HelloTimeout))
	f, err := wire.ReadFrame(t, make([]byte, 0, 64))
	if err == nil && f.Type != wire.THello {
		err = fmt.Errorf("got a %s frame", typeName(f.Type))
	}
	var hello wire.Hello
	if err == nil {
		var m wire.Message
		if m, err = wire.Decode(f); err == nil {
			hello = m.(wire.Hello)
		}
	}
	if err != nil && f.Type == wire.THello && len(f.Payload) > 0 && f.Payload[0] != wire.Version {
		// The version is the hello's first byte: an app from before the
		// box was updated.
		r.refuse(t, CodeRefused, fmt.Sprintf("this support app speaks protocol version %d and the appliance version %d: download the support app again from your session page", f.Payload[0], wire.Version))
		return
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("the connection ended")
		}
		r.refuse(t, CodeProtocol, "expected a hello: "+err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.HelloTimeout)
	g, err := r.auth.Redeem(ctx, hello.Token, hello.Role, hello.DeviceID)
	cancel()
	if err != nil {
		r.refuse(t, CodeRefused, err.Error())
		return
	}
	t.SetReadDeadline(time.Time{})
	switch hello.Role {
	case wire.RoleClient:
		r.serveClient(g, t)
	case wire.RoleTechnician:
		r.serveTechnician(g, t)
	}
}

// refuse writes a Close frame and ends t.
func (r *Relay) refuse(t transport, code uint16, reason string) {
	t.SetWriteDeadline(time.Now().Add(r.cfg.CloseGrace))
	_, err := t.Write(closeFrame(code, reason))
	t.shutdown(code, reason, err != nil)
}

// Join adds an in-process viewer (technician viewer, called name) to a
// session, whether or not its client is connected. The viewer receives the
// client's last device info and consent answers, and the client is asked
// for a full frame.
func (r *Relay) Join(session, viewer uint64, name string, rights Rights) (*Viewer, error) {
	return r.join(session, viewer, name, rights)
}

// Controller returns who may send input in session (once the customer
// allowed it), and whether anyone
// set it since the session began (SetController). The relay is the only
// record of it.
func (r *Relay) Controller(session uint64) (viewer uint64, set bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	viewer, set = r.controllers[session]
	return viewer, set
}

// SetController says which technician may send input and clipboard text to
// the session's client; 0 means nobody (view only). The choice lasts until
// End.
//
// Control needs the customer's consent for that technician: on a hand-over
// (from one technician to another) to one viewing without it, the customer
// is asked, by name.
func (r *Relay) SetController(session, viewer uint64) {
	r.mu.Lock()
	r.controllers[session] = viewer
	s := r.sessions[session]
	var before uint64
	if s != nil {
		if before = s.controller.Swap(viewer); before == viewer {
			s = nil // nothing changed
		}
	}
	r.mu.Unlock()
	if s != nil {
		// From nobody to the default controller is not a hand-over: that
		// technician asks from the console when they want control.
		s.controllerChanged(before != 0)
	}
}

// End closes the session's client and viewers, telling them reason (the
// desk closed the session), and forgets its controller.
func (r *Relay) End(session uint64, reason string) {
	r.mu.Lock()
	s := r.sessions[session]
	delete(r.sessions, session)
	delete(r.controllers, session)
	r.mu.Unlock()
	if s != nil {
		s.end(CodeEnded, reason)
	}
}

// Close ends every session with a Close frame, waits a moment for the
// connections to finish and then cuts what is left. Later connections are
// refused. It is safe to call twice.
func (r *Relay) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.wg.Wait()
		return
	}
	r.closed = true
	sessions := r.sessions
	r.sessions = map[uint64]*session{}
	r.mu.Unlock()
	for _, s := range sessions {
		s.end(CodeShutdown, "the appliance is shutting down: the session continues when it is back")
	}
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * r.cfg.CloseGrace):
	}
	r.stop()
	<-done
}
