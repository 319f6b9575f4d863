package appliance

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/text"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/appliance/bus"
	"github.com/switchboardhq/switchboard/appliance/clients"
	"github.com/switchboardhq/switchboard/appliance/config"
	"github.com/switchboardhq/switchboard/appliance/console"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/portal"
	"github.com/switchboardhq/switchboard/appliance/relay"
	"github.com/switchboardhq/switchboard/appliance/rtc"
	"github.com/switchboardhq/switchboard/appliance/tlscert"
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
}

// newRemote starts the engines.
func newRemote(cfg config.Config, d *desk.Service, certs *tlscert.Manager, base, port string, log *slog.Logger) (*remote, error) {
	rm := &remote{desk: d, certs: certs, builds: clients.New(clients.Config{Dir: cfg.ClientsDir}), base: base, port: port, log: log}
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
		}
	}
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

func (rm *remote) WatchShare(ctx context.Context, session, tech uint64, offer string) (string, error) {
	if rm.rtc == nil {
		return "", errRTCOff
	}
	ans, err := rm.rtc.Subscribe(ctx, shareRoom(session), fmt.Sprintf("tech-%d-%s", tech, rand.Text()), offer)
	if errors.Is(err, rtc.ErrNotLive) {
		return "", console.ErrNotSharing
	}
	return ans, err
}

// errRTCOff answers media requests when rtc_udp_addr is empty.
var errRTCOff = errors.New("WebRTC is turned off on this appliance (rtc_udp_addr is empty)")

func (rm *remote) Stats(session uint64) (map[string]uint64, bool) {
	st, ok := rm.relay.Stats(session)
	return st.Map(), ok
}

// ---- portal.Remote ----

func (rm *remote) Platforms() []portal.Platform { return rm.builds.Available() }

func (rm *remote) Client(session uint64, platform string, to portal.Stamp, issue func() (string, error)) (*clients.Download, error) {
	return rm.builds.Open(session, platform, func() ([]byte, error) {
		addr, err := rm.boxAddr(to.Host)
		if err == nil {
			addr = withPage(addr, to.Lang, to.Site)
		}
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

// withPage adds the customer page's language and the site's name to a
// stamped address (after its pin), the name cut to what the stamp holds.
func withPage(addr, lang, site string) string {
	addr += "&lang=" + url.QueryEscape(lang)
	for site = text.ClipRunes(site, 60); site != ""; site = text.ClipRunes(site, utf8.RuneCountInString(site)-1) {
		if q := "&site=" + url.QueryEscape(site); len(addr)+len(q) <= stamp.MaxAddr {
			return addr + q
		}
	}
	return addr
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
	pin, err := rm.certs.Pin(host)
	return net.JoinHostPort(host, rm.port) + "#sha256=" + pin, err
}

func (rm *remote) Share(ctx context.Context, ss desk.Session, offer string) (string, error) {
	if rm.rtc == nil {
		return "", errRTCOff
	}
	// A new share (after a reload) replaces the old one.
	return rm.rtc.Publish(ctx, shareRoom(ss.ID), "customer", offer)
}
