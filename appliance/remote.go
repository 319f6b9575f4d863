package appliance

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/appliance/bus"
	"github.com/switchboardhq/switchboard/appliance/clients"
	"github.com/switchboardhq/switchboard/appliance/config"
	"github.com/switchboardhq/switchboard/appliance/console"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/portal"
	"github.com/switchboardhq/switchboard/appliance/relay"
	"github.com/switchboardhq/switchboard/appliance/rtc"
	"github.com/switchboardhq/switchboard/appliance/tlscert"
	"github.com/switchboardhq/switchboard/appliance/wire"
	"github.com/switchboardhq/switchboard/appliance/wire/stamp"
)

// remote joins the remote-control engines (relay, WebRTC gateway) to the
// desk and gives the console and the public site what they need of them.
// The engines know nothing of the desk: these adapters are the only link.
type remote struct {
	relay  *relay.Relay
	rtc    *rtc.Gateway
	desk   *desk.Service
	certs  *tlscert.Manager
	builds *clients.Builds // the support app builds
	base   string          // public base URL, for presentation links
	port   string          // HTTPS (and QUIC) port
	log    *slog.Logger
	key    []byte // keys presentation-key hashes

	mu       sync.Mutex
	sharing  map[uint64]desk.Session // sessions whose customer shared from the browser, as last shared
	shows    map[string]*show        // presentations by id
	showKeys map[string]string       // keyed hash of a key or link token → id
}

// show is a running presentation.
type show struct {
	id, keyHash, linkHash string
	tech                  uint64
	started               time.Time
}

// maxShowAge ends presentations nobody stopped.
const maxShowAge = 12 * time.Hour

// newRemote starts the engines.
func newRemote(cfg config.Config, d *desk.Service, certs *tlscert.Manager, base, port string, log *slog.Logger) (*remote, error) {
	key := make([]byte, 32)
	rand.Read(key)
	rm := &remote{desk: d, certs: certs, builds: clients.New(clients.Config{Dir: cfg.ClientsDir}), base: base, port: port, log: log, key: key,
		sharing: map[uint64]desk.Session{}, shows: map[string]*show{}, showKeys: map[string]string{}}
	rm.relay = relay.New(relay.Config{
		SessionBitsPerSecond: uint64(cfg.SessionMbps) * 1_000_000,
		GlobalBitsPerSecond:  uint64(cfg.TotalMbps) * 1_000_000,
		Log:                  log.With("part", "relay"),
	}, authority{d}, observer{d, log})
	if cfg.RTCAddr != "" {
		host, _, _ := net.SplitHostPort(cfg.RTCAddr)
		ip := net.ParseIP(host)
		g, err := rtc.New(rtc.Config{
			ListenUDP: cfg.RTCAddr,
			PublicIPs: cfg.RTCPublicIPs,
			Loopback:  cfg.Dev || ip != nil && ip.IsLoopback(),
			OnRoom:    rm.roomChanged,
			Log:       log.With("part", "rtc"),
		}, hub{rm.relay})
		if err != nil {
			rm.relay.Close()
			return nil, fmt.Errorf("webrtc: %w", err)
		}
		rm.rtc = g
	}
	return rm, nil
}

func (rm *remote) Close() {
	if rm.rtc != nil {
		rm.rtc.Close()
	}
	rm.relay.Close()
}

// follow ends the remote side of sessions the desk ends, until ctx ends.
func (rm *remote) follow(ctx context.Context, b *bus.Bus) error {
	sub := b.Subscribe(func(e bus.Event) bool { return e.Kind == bus.SessionClosed || e.Kind == bus.SessionExpired }, 256)
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-sub.C:
			if !ok {
				return nil
			}
			rm.relay.End(e.Session, "the support session has ended")
			if rm.rtc != nil {
				rm.rtc.CloseRoom(shareRoom(e.Session))
			}
			rm.mu.Lock()
			delete(rm.sharing, e.Session)
			rm.mu.Unlock()
		}
	}
}

// authority lets the relay redeem the desk's one-time tokens.
type authority struct{ d *desk.Service }

func (a authority) Redeem(ctx context.Context, token string, role uint8, device string) (relay.Grant, error) {
	g, err := a.d.RedeemRemoteToken(ctx, token, role, device)
	if err != nil {
		return relay.Grant{}, err
	}
	return relay.Grant{Session: g.Session, Viewer: g.Technician, Name: g.Name,
		Rights: relay.Rights{Control: g.Rights.Control, Files: g.Rights.Files}}, nil
}

// observer records what the relay hears about clients on the session.
type observer struct {
	d   *desk.Service
	log *slog.Logger
}

func (o observer) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

func (o observer) ClientUp(session uint64, info wire.DeviceInfo) {
	ctx, cancel := o.ctx()
	defer cancel()
	d := desk.Device{OS: info.OS, Version: info.Version, Hostname: info.Hostname, User: info.User,
		Addresses: info.Addresses, Capture: info.Capture, Note: info.Note}
	for _, s := range info.Screens {
		d.Screens = append(d.Screens, fmt.Sprintf("%d×%d", s.Width, s.Height))
	}
	if _, err := o.d.DeviceUp(ctx, session, d); err != nil {
		o.log.Warn("recording the support app failed", "session", session, "err", err)
	}
}

func (o observer) ClientDown(session uint64, reason string) {
	ctx, cancel := o.ctx()
	defer cancel()
	if _, err := o.d.DeviceDown(ctx, session, reason); err != nil && !errors.Is(err, desk.ErrState) {
		o.log.Warn("recording the support app's end failed", "session", session, "err", err)
	}
}

func (o observer) Consent(session, viewer uint64, what string, granted bool) {
	ctx, cancel := o.ctx()
	defer cancel()
	if _, err := o.d.Consent(ctx, session, viewer, what, granted); err != nil {
		o.log.Warn("recording consent failed", "session", session, "err", err)
	}
}

func (o observer) Presence(session, viewer uint64, _ string, joined bool) {
	ctx, cancel := o.ctx()
	defer cancel()
	o.warn(session, o.d.Watching(ctx, session, viewer, joined))
}

func (o observer) Transfer(session uint64, t relay.Transfer) {
	ctx, cancel := o.ctx()
	defer cancel()
	o.warn(session, o.d.FileTransferred(ctx, session, t.Viewer, desk.FileRecord{
		ToCustomer: t.ToCustomer, Name: t.Name, Size: t.Size, SHA256: hex.EncodeToString(t.SHA256[:])}))
}

func (o observer) Clipboard(session, viewer uint64, toCustomer bool, size int) {
	ctx, cancel := o.ctx()
	defer cancel()
	o.warn(session, o.d.ClipboardUsed(ctx, session, viewer, toCustomer, size))
}

func (o observer) warn(session uint64, err error) {
	if err != nil && !errors.Is(err, desk.ErrNotFound) {
		o.log.Warn("recording in the trail failed", "session", session, "err", err)
	}
}

// hub seats browser viewers in the relay.
type hub struct{ r *relay.Relay }

func (h hub) Join(seat rtc.Seat) (rtc.Stream, error) {
	v, err := h.r.Join(seat.Session, seat.Viewer, seat.Name, relay.Rights{Control: seat.Control, Files: seat.Files})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// ---- console.Remote ----

func (rm *remote) Viewer(ctx context.Context, ss desk.Session, a desk.Actor, offer string) (string, error) {
	if rm.rtc == nil {
		return "", errRTCOff
	}
	r := desk.RightsIn(a, ss)
	if !r.View {
		return "", desk.ErrForbidden
	}
	rm.relay.SetController(ss.ID, rm.Controller(ctx, ss))
	return rm.rtc.Viewer(ctx, rtc.Seat{Session: ss.ID, Viewer: a.UserID, Name: a.Public(), Control: r.Control, Files: r.Files}, offer)
}

// Controller is who controls ss: the relay's record while it names someone
// still in the session, otherwise the desk's default (the owner, if its
// permissions allow control).
func (rm *remote) Controller(ctx context.Context, ss desk.Session) uint64 {
	if c, set := rm.relay.Controller(ss.ID); set && (c == 0 || desk.InSession(c, ss)) {
		return c
	}
	return rm.desk.DefaultController(ctx, ss)
}

func (rm *remote) SetController(ss desk.Session, tech uint64) { rm.relay.SetController(ss.ID, tech) }

// Sharing reports whether the customer's browser share has arrived: the
// gateway's room is the truth, so a share that ended in any way (the
// customer stopped, the tab closed, the connection failed) is not sharing.
func (rm *remote) Sharing(session uint64) bool {
	return rm.rtc != nil && rm.rtc.Live(shareRoom(session))
}

func shareRoom(session uint64) string { return "share-" + strconv.FormatUint(session, 10) }

// roomChanged tells the consoles of a session that its customer's browser
// share started or ended (they ask Sharing again). It runs in a goroutine
// of the gateway's.
func (rm *remote) roomChanged(room string, live bool) {
	digits, ok := strings.CutPrefix(room, "share-")
	if !ok {
		return // presentations end by StopPresentation, not here
	}
	id, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return
	}
	rm.mu.Lock()
	ss, ok := rm.sharing[id]
	rm.mu.Unlock()
	if ok {
		rm.desk.Announce(bus.SessionDevice, ss)
	}
}

func (rm *remote) WatchShare(ctx context.Context, session, tech uint64, offer string) (string, error) {
	if rm.rtc == nil {
		return "", errRTCOff
	}
	ans, err := rm.rtc.Subscribe(ctx, shareRoom(session), fmt.Sprintf("tech-%d-%s", tech, randomID()), offer)
	if errors.Is(err, rtc.ErrNotLive) {
		return "", console.ErrNotSharing
	}
	return ans, err
}

// errRTCOff answers media requests when rtc_udp_addr is empty.
var errRTCOff = errors.New("WebRTC is turned off on this appliance (rtc_udp_addr is empty)")

func (rm *remote) Stats(session uint64) (map[string]uint64, bool) {
	st, ok := rm.relay.Stats(session)
	if !ok {
		return nil, false
	}
	m := map[string]uint64{"viewers": uint64(st.Viewers), "bytes_in": st.BytesIn, "bytes_out": st.BytesOut,
		"frames_in": st.FramesIn, "frames_out": st.FramesOut}
	for k, v := range st.Drops {
		m["drops_"+k] = v
	}
	return m, true
}

func randomID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (rm *remote) hashKey(k string) string {
	m := hmac.New(sha256.New, rm.key)
	m.Write([]byte(k))
	return string(m.Sum(nil))
}

func (rm *remote) Present(tech uint64, name string) (console.Presentation, error) {
	if rm.rtc == nil {
		return console.Presentation{}, errRTCOff
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	now := time.Now()
	for id, s := range rm.shows {
		// One presentation per technician; forgotten ones end.
		if s.tech == tech || now.Sub(s.started) > maxShowAge {
			rm.endShowLocked(id)
		}
	}
	var key string
	for {
		key = desk.RandomKey()
		if _, taken := rm.showKeys[rm.hashKey(key)]; !taken {
			break
		}
	}
	link := randomID() + randomID()
	s := &show{id: randomID(), keyHash: rm.hashKey(key), linkHash: rm.hashKey(link), tech: tech, started: now}
	rm.shows[s.id] = s
	rm.showKeys[s.keyHash], rm.showKeys[s.linkHash] = s.id, s.id
	return console.Presentation{ID: s.id, Key: key[:3] + " " + key[3:6] + " " + key[6:], Link: rm.base + "/p/" + link}, nil
}

func (rm *remote) endShowLocked(id string) {
	s := rm.shows[id]
	if s == nil {
		return
	}
	delete(rm.shows, id)
	delete(rm.showKeys, s.keyHash)
	delete(rm.showKeys, s.linkHash)
	rm.rtc.CloseRoom("present-" + id)
}

func (rm *remote) PublishPresentation(ctx context.Context, id string, tech uint64, offer string) (string, error) {
	rm.mu.Lock()
	s := rm.shows[id]
	rm.mu.Unlock()
	if s == nil || s.tech != tech {
		return "", console.ErrPresentationEnded
	}
	ans, err := rm.rtc.Publish(ctx, "present-"+id, fmt.Sprintf("tech-%d", tech), offer)
	if err != nil {
		return "", err
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if rm.shows[id] != s {
		// Stopped while answering: nobody would close the room.
		rm.rtc.CloseRoom("present-" + id)
		return "", console.ErrPresentationEnded
	}
	return ans, nil
}

func (rm *remote) StopPresentation(id string, tech uint64) error {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if s := rm.shows[id]; s == nil || s.tech != tech {
		return console.ErrPresentationEnded
	}
	rm.endShowLocked(id)
	return nil
}

// ---- portal.Remote ----

func (rm *remote) Platforms() []portal.Platform { return rm.builds.Available() }

func (rm *remote) Client(session uint64, platform, host string, issue func() (string, error)) (*clients.Download, error) {
	return rm.builds.Open(session, platform, func() ([]byte, error) {
		addr, err := rm.boxAddr(host)
		if err != nil {
			return nil, err
		}
		tok, err := issue()
		if err != nil {
			return nil, err
		}
		return stamp.Trailer(tok, addr)
	})
}

// boxAddr is the address the support app dials (the host the customer's
// browser reached, on the QUIC port) with the SHA-256 of the certificate
// served for that name, which the app pins.
func (rm *remote) boxAddr(host string) (string, error) {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "" || len(host) > 253 {
		return "", errors.New("no host name to stamp")
	}
	sni := host
	if net.ParseIP(host) != nil {
		sni = ""
	}
	cert, err := rm.certs.GetCertificate(&tls.ClientHelloInfo{ServerName: sni})
	if err != nil || len(cert.Certificate) == 0 {
		return "", fmt.Errorf("no certificate for %q: %v", host, err)
	}
	sum := sha256.Sum256(cert.Certificate[0])
	return net.JoinHostPort(host, rm.port) + "#sha256=" + hex.EncodeToString(sum[:]), nil
}

func (rm *remote) Share(ctx context.Context, ss desk.Session, offer string) (string, error) {
	if rm.rtc == nil {
		return "", errRTCOff
	}
	// Remember whom to tell when the share arrives and ends (roomChanged).
	rm.mu.Lock()
	rm.sharing[ss.ID] = ss
	rm.mu.Unlock()
	// A new share (after a reload) replaces the old one.
	return rm.rtc.Publish(ctx, shareRoom(ss.ID), "customer", offer)
}

func (rm *remote) JoinPresentation(ctx context.Context, key, offer string) (string, error) {
	if rm.rtc == nil {
		return "", portal.ErrNotPresenting
	}
	rm.mu.Lock()
	id, ok := rm.showKeys[rm.hashKey(key)]
	rm.mu.Unlock()
	if !ok {
		return "", portal.ErrNotPresenting
	}
	ans, err := rm.rtc.Subscribe(ctx, "present-"+id, "attendee-"+randomID(), offer)
	if errors.Is(err, rtc.ErrNotLive) {
		return "", portal.ErrNotStarted
	}
	return ans, err
}
