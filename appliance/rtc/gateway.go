// Package rtc is the appliance's browser gateway: WebRTC peer connections
// served by pion on one UDP port. It has two jobs.
//
// A viewer connection (Gateway.Viewer) carries one ordered, reliable data
// channel named "wire" that the browser creates; every message is one
// encoded wire frame, both ways, bridged to a Stream that the Hub (the
// relay) hands out for the technician's seat in a desk session.
//
// A room (Gateway.Publish, Gateway.Subscribe) is a small SFU: one publisher
// sends a video track (and perhaps audio), and the room forwards its RTP
// packets, undecoded, to every subscriber. Rooms are "share-<session>" (a
// customer's browser screen share) and "present-<id>" (a technician's
// presentation); the gateway does not interpret the names.
//
// Signalling is not trickled: the browser gathers its ICE candidates, posts
// the complete offer, and gets the complete answer back. The box is the only
// peer, so there are no STUN or TURN servers; Config.PublicIPs announces the
// box's public address when it sits behind a 1:1 NAT.
//
// Every peer connection has the same life: it takes one of Config.MaxPeers
// slots, it must open (data channel open, first video packet, or
// ICE connected) within Config.OpenTimeout, and when it fails, closes or is
// closed, one goroutine closes the PeerConnection, waits for the goroutines
// that served it and releases what it held (the Stream, the room).
package rtc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// Stream is one viewer's seat in a desk session: Next returns the next
// encoded wire frame for the viewer, Send takes one frame from the viewer.
// Close leaves the session; it must be safe to call more than once and
// must make a blocked Next return.
type Stream interface {
	Next(ctx context.Context) ([]byte, error)
	Send(frame []byte) error
	Close()
}

// Hub admits viewers to desk sessions. The relay implements it; its error
// text is sent to the browser in a wire Close frame.
type Hub interface {
	Join(seat Seat) (Stream, error)
}

// Seat is the place of one technician's browser in a desk session: who it
// is and what the desk lets it do, which the Hub hands to the relay.
type Seat struct {
	Session uint64
	Viewer  uint64 // technician id
	Name    string // the technician's public name
	Control bool   // may send input and clipboard text while holding control
	Files   bool   // may send and receive files
}

// Errors of the gateway. Front ends map them to HTTP status codes.
var (
	// ErrBadOffer is wrapped by every error about the offer itself; the
	// error text says what is wrong and can be shown to people.
	ErrBadOffer = errors.New("the offer is not valid")
	// ErrNotLive is returned by Subscribe when the room has no publisher
	// whose video has arrived.
	ErrNotLive = errors.New("nothing is being shared yet")
	// ErrRoomBusy is returned by Publish when someone else publishes in
	// the room.
	ErrRoomBusy = errors.New("someone else is already sharing here")
	// ErrTooManyPeers is returned when Config.MaxPeers connections are open.
	ErrTooManyPeers = errors.New("too many connections: try again later")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("the gateway is closed")
)

// Limits.
const (
	// MaxOffer is the largest offer accepted. Browser offers are 2–10 KiB.
	MaxOffer = 64 << 10
	// MaxMessage is the largest data-channel message either side may send:
	// the largest wire frame a viewer sends (a full clipboard). It is
	// announced in the answer (a=max-message-size), so browsers refuse to
	// send more; pion drops a channel that does.
	MaxMessage = wire.HeaderLen + wire.MaxClipboard
	// maxMediaSections bounds the m= lines of an offer.
	maxMediaSections = 8
	// maxRoomName bounds room names.
	maxRoomName = 128
)

// Config configures a Gateway. Only ListenUDP (or PacketConn) is required.
type Config struct {
	// ListenUDP is the UDP address every peer connection shares, such as
	// ":3478" or "192.0.2.10:3478". With a specific IP, one socket is bound
	// and that IP is the only host candidate. With an unspecified IP, one
	// socket per interface address (same port) is bound when New runs, so
	// addresses added later are not served.
	ListenUDP string
	// PacketConn, when not nil, is used instead of ListenUDP (socket
	// activation). The Gateway owns it and closes it.
	PacketConn net.PacketConn
	// PublicIPs are the box's public addresses behind a 1:1 NAT. They are
	// announced as host candidates in addition to the local addresses.
	PublicIPs []string
	// Loopback announces loopback candidates (tests, development).
	Loopback bool
	// Interfaces, when not nil, chooses the interfaces an unspecified
	// ListenUDP binds (keep returns true).
	Interfaces func(name string) (keep bool)
	// MaxPeers bounds the open peer connections; 0 means 1000.
	MaxPeers int
	// OpenTimeout bounds how long a new connection may take to open its
	// channel, deliver its video or connect; 0 means 30 s.
	OpenTimeout time.Duration
	// OnRoom, when not nil, is told when a room becomes live (its video
	// arrived: live is true) and when it closes (false). It runs in a
	// goroutine of its own, so it may call the Gateway; calls about one
	// room may arrive out of order, so it should ask Live for the state.
	OnRoom func(name string, live bool)
	// Log receives the gateway's log; nil discards it.
	Log *slog.Logger
}

// Defaults.
const (
	defaultMaxPeers    = 1000
	defaultOpenTimeout = 30 * time.Second
)

// Gateway serves WebRTC peer connections for browsers. Its methods are
// safe for concurrent use.
type Gateway struct {
	cfg Config
	hub Hub
	log *slog.Logger
	api *webrtc.API
	mux ice.UDPMux

	mu     sync.Mutex
	closed bool
	peers  map[*peer]struct{}
	rooms  map[string]*room
	wg     sync.WaitGroup // one per peer, done when it is torn down

	pauses atomic.Int64 // times a viewer's sending paused for flow control

	closeOnce sync.Once
	closeErr  error
}

// New returns a Gateway that serves peer connections on cfg's UDP port and
// admits viewers through hub. It binds the UDP socket, so that a port in
// use is an error at start rather than at the first connection.
func New(cfg Config, hub Hub) (*Gateway, error) {
	if cfg.MaxPeers <= 0 {
		cfg.MaxPeers = defaultMaxPeers
	}
	if cfg.OpenTimeout <= 0 {
		cfg.OpenTimeout = defaultOpenTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if hub == nil {
		return nil, errors.New("rtc: no hub")
	}
	for _, ip := range cfg.PublicIPs {
		if net.ParseIP(ip) == nil {
			return nil, fmt.Errorf("rtc: public IP %q is not an IP address", ip)
		}
	}
	logs := pionLogs{cfg.Log}
	mux, err := listen(cfg, logs)
	if err != nil {
		return nil, err
	}

	var se webrtc.SettingEngine
	se.LoggerFactory = logs
	se.SetICEUDPMux(mux)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	se.SetIncludeLoopbackCandidate(cfg.Loopback)
	// Browsers hide their host addresses behind mDNS names; the box does
	// not resolve them (one multicast socket per connection) but learns
	// the browser's address from its connectivity checks.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetSCTPMaxMessageSize(MaxMessage)
	if len(cfg.PublicIPs) > 0 {
		err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        cfg.PublicIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteAppend,
		})
		if err != nil {
			mux.Close()
			return nil, fmt.Errorf("rtc: public IPs: %w", err)
		}
	}
	me := new(webrtc.MediaEngine)
	if err := me.RegisterDefaultCodecs(); err != nil {
		mux.Close()
		return nil, fmt.Errorf("rtc: codecs: %w", err)
	}
	ir := new(interceptor.Registry)
	if err := webrtc.RegisterDefaultInterceptorsWithOptions(me, ir, webrtc.WithInterceptorLoggerFactory(logs)); err != nil {
		mux.Close()
		return nil, fmt.Errorf("rtc: interceptors: %w", err)
	}
	g := &Gateway{
		cfg:   cfg,
		hub:   hub,
		log:   cfg.Log,
		api:   webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir)),
		mux:   mux,
		peers: make(map[*peer]struct{}),
		rooms: make(map[string]*room),
	}
	return g, nil
}

// listen binds the UDP socket(s) of cfg and returns pion's mux over them.
func listen(cfg Config, logs pionLogs) (ice.UDPMux, error) {
	if cfg.PacketConn != nil {
		return ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: cfg.PacketConn, Logger: logs.NewLogger("udpmux")}), nil
	}
	host, portStr, err := net.SplitHostPort(cfg.ListenUDP)
	if err != nil {
		return nil, fmt.Errorf("rtc: listen address %q: %w", cfg.ListenUDP, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("rtc: listen address %q: bad port", cfg.ListenUDP)
	}
	ip := net.ParseIP(host)
	if host != "" && ip == nil {
		return nil, fmt.Errorf("rtc: listen address %q: the host must be an IP address", cfg.ListenUDP)
	}
	if ip != nil && !ip.IsUnspecified() {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: int(port)})
		if err != nil {
			return nil, fmt.Errorf("rtc: %w", err)
		}
		return ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn, Logger: logs.NewLogger("udpmux")}), nil
	}
	opts := []ice.UDPMuxFromPortOption{ice.UDPMuxFromPortWithLogger(logs.NewLogger("udpmux")),
		// IPv6 link-local addresses reach no browser beyond the link, and
		// right after a port comes up (applianced brings the box's ports
		// up itself) theirs is still tentative and cannot be bound.
		ice.UDPMuxFromPortWithIPFilter(func(ip net.IP) bool { return !ip.IsLinkLocalUnicast() })}
	if ip != nil && ip.To4() != nil {
		opts = append(opts, ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4))
	}
	if cfg.Loopback {
		opts = append(opts, ice.UDPMuxFromPortWithLoopback())
	}
	if cfg.Interfaces != nil {
		opts = append(opts, ice.UDPMuxFromPortWithInterfaceFilter(cfg.Interfaces))
	}
	mux, err := ice.NewMultiUDPMuxFromPort(int(port), opts...)
	// An IPv6 address still in duplicate address detection (a port that
	// just came up) cannot be bound yet: it is, a second or two later.
	for try := 0; errors.Is(err, syscall.EADDRNOTAVAIL) && try < 20; try++ {
		time.Sleep(250 * time.Millisecond)
		mux, err = ice.NewMultiUDPMuxFromPort(int(port), opts...)
	}
	if err != nil {
		return nil, fmt.Errorf("rtc: listen on port %d: %w", port, err)
	}
	if len(mux.GetListenAddresses()) == 0 {
		// No address yet (a box whose network comes up later, or has no
		// DHCP server): one socket on every address, whose candidates pion
		// gathers from the addresses the box has at each connection.
		mux.Close()
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: int(port)})
		if err != nil {
			return nil, fmt.Errorf("rtc: listen on port %d: %w", port, err)
		}
		return ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn, Logger: logs.NewLogger("udpmux")}), nil
	}
	return mux, nil
}

// roomChanged tells Config.OnRoom about the room name.
func (g *Gateway) roomChanged(name string, live bool) {
	if f := g.cfg.OnRoom; f != nil {
		go f(name, live)
	}
}

// Addrs returns the local UDP addresses the gateway serves.
func (g *Gateway) Addrs() []net.Addr { return g.mux.GetListenAddresses() }

// Peers returns the number of open peer connections.
func (g *Gateway) Peers() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.peers)
}

// Close closes every peer connection and room, waits until they are torn
// down and releases the UDP port. It is safe to call more than once.
func (g *Gateway) Close() error {
	g.closeOnce.Do(func() {
		g.mu.Lock()
		g.closed = true
		peers := make([]*peer, 0, len(g.peers))
		for p := range g.peers {
			peers = append(peers, p)
		}
		rooms := g.rooms
		g.rooms = make(map[string]*room)
		g.mu.Unlock()
		for _, r := range rooms {
			r.close()
		}
		for _, p := range peers {
			p.close("the appliance is shutting down")
		}
		g.wg.Wait()
		g.closeErr = g.mux.Close()
	})
	return g.closeErr
}
