package rtc

import (
	"context"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// keyframeInterval is the least time between two keyframe requests (PLI)
// sent to a publisher; requests in between are coalesced into one.
const keyframeInterval = 200 * time.Millisecond

// rtpBufferSize holds any RTP packet pion receives (its receive MTU is
// 1460 bytes).
const rtpBufferSize = 1500

// room forwards one publisher's tracks to its subscribers. The tracks are
// pion TrackLocalStaticRTPs: one write reaches every subscriber bound to it.
type room struct {
	g     *Gateway
	name  string
	pubID string
	pub   *peer

	mu        sync.Mutex
	closed    bool
	video     *webrtc.TrackLocalStaticRTP // nil until the publisher's video arrived
	audio     *webrtc.TrackLocalStaticRTP
	videoSSRC uint32
	subs      map[*peer]struct{}
	lastPLI   time.Time
	pliTimer  *time.Timer // a coalesced keyframe request is pending
}

// Publish answers a browser's offer to publish in the room name: its first
// video track (and first audio track, if any) is forwarded to the room's
// subscribers. The room is live (Live, Subscribe) once video arrives, and
// closes with the publisher's connection. id names the publisher: Publish
// with the same id replaces the room (a reloaded page, whose subscribers
// must subscribe again), with another id it returns ErrRoomBusy.
func (g *Gateway) Publish(ctx context.Context, name, id, offerSDP string) (string, error) {
	if err := checkRoom(name); err != nil {
		return "", err
	}
	if err := checkOffer(offerSDP, "video"); err != nil {
		return "", err
	}
	log := g.log.With("peer", "publisher", "room", name)
	p, err := g.newPeer(log)
	if err != nil {
		return "", err
	}
	r := &room{g: g, name: name, pubID: id, pub: p, subs: make(map[*peer]struct{})}
	g.mu.Lock()
	old := g.rooms[name]
	switch {
	case g.closed:
		g.mu.Unlock()
		p.close("the gateway closed")
		return "", ErrClosed
	case old != nil && old.pubID != id:
		g.mu.Unlock()
		p.close("the room is busy")
		return "", ErrRoomBusy
	}
	g.rooms[name] = r
	g.mu.Unlock()
	if old != nil {
		log.Info("publisher replaced")
		old.close()
	}
	p.onClose(r.close)
	p.pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { r.onTrack(t) })
	answer, err := p.answer(ctx, offerSDP, nil)
	if err != nil {
		p.close("no answer")
		return "", err
	}
	log.Info("publisher answered")
	return answer, nil
}

// Subscribe answers a browser's offer to watch the room name (it offers a
// recvonly video transceiver, and perhaps audio). Before the room is live
// it returns ErrNotLive. id names the subscriber in the log. Audio that
// arrives after a subscriber joined is not added to its connection. The publisher is asked for a keyframe when the
// subscriber is connected, and whenever a subscriber reports picture loss.
func (g *Gateway) Subscribe(ctx context.Context, name, id, offerSDP string) (string, error) {
	if err := checkRoom(name); err != nil {
		return "", err
	}
	if err := checkOffer(offerSDP, "video"); err != nil {
		return "", err
	}
	g.mu.Lock()
	r := g.rooms[name]
	g.mu.Unlock()
	if r == nil || !r.live() {
		return "", ErrNotLive
	}
	log := g.log.With("peer", "subscriber", "room", name, "subscriber", id)
	p, err := g.newPeer(log)
	if err != nil {
		return "", err
	}
	if !r.add(p) {
		p.close("the room closed")
		return "", ErrNotLive
	}
	p.onClose(func() { r.remove(p) })
	p.onConnected(func() {
		p.opened()
		r.keyframe()
	})
	answer, err := p.answer(ctx, offerSDP, func() error {
		video, audio := r.tracks()
		for _, t := range []*webrtc.TrackLocalStaticRTP{video, audio} {
			if t == nil {
				continue
			}
			sender, err := p.pc.AddTrack(t)
			if err != nil {
				return err
			}
			p.start(func() { r.readRTCP(sender) })
		}
		return nil
	})
	if err != nil {
		p.close("no answer")
		return "", err
	}
	log.Info("subscriber answered")
	return answer, nil
}

// Live reports whether the room name has a publisher whose video arrived.
func (g *Gateway) Live(name string) bool {
	g.mu.Lock()
	r := g.rooms[name]
	g.mu.Unlock()
	return r != nil && r.live()
}

// CloseRoom closes the publisher and subscribers of the room name. A room
// that does not exist is not an error.
func (g *Gateway) CloseRoom(name string) {
	g.mu.Lock()
	r := g.rooms[name]
	g.mu.Unlock()
	if r != nil {
		r.close()
	}
}

func (r *room) live() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.closed && r.video != nil
}

func (r *room) tracks() (video, audio *webrtc.TrackLocalStaticRTP) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.video, r.audio
}

// add admits a subscriber, unless the room closed.
func (r *room) add(p *peer) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.subs[p] = struct{}{}
	return true
}

func (r *room) remove(p *peer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.subs, p)
}

// close closes the publisher and every subscriber and forgets the room.
func (r *room) close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	subs := make([]*peer, 0, len(r.subs))
	for p := range r.subs {
		subs = append(subs, p)
	}
	if r.pliTimer != nil {
		r.pliTimer.Stop()
		r.pliTimer = nil
	}
	r.mu.Unlock()

	r.g.mu.Lock()
	if r.g.rooms[r.name] == r {
		delete(r.g.rooms, r.name)
	}
	r.g.mu.Unlock()
	r.pub.close("the room closed")
	for _, p := range subs {
		p.close("the room closed")
	}
	r.pub.log.Info("room closed", "subscribers", len(subs))
	r.g.roomChanged(r.name, false)
}

// onTrack takes the publisher's first video and first audio track and
// forwards their packets.
func (r *room) onTrack(t *webrtc.TrackRemote) {
	local, err := webrtc.NewTrackLocalStaticRTP(t.Codec().RTPCodecCapability, t.Kind().String(), "switchboard-"+r.name)
	if err != nil {
		r.pub.log.Warn("track refused", "kind", t.Kind().String(), "err", err)
		return
	}
	r.mu.Lock()
	switch {
	case r.closed:
		r.mu.Unlock()
		return
	case t.Kind() == webrtc.RTPCodecTypeVideo && r.video == nil:
		r.video = local
		r.videoSSRC = uint32(t.SSRC())
	case t.Kind() == webrtc.RTPCodecTypeAudio && r.audio == nil:
		r.audio = local
	default:
		r.mu.Unlock()
		r.pub.log.Info("extra track ignored", "kind", t.Kind().String())
		return
	}
	r.mu.Unlock()
	if t.Kind() == webrtc.RTPCodecTypeVideo {
		r.pub.opened()
		r.g.roomChanged(r.name, true)
	}
	r.pub.log.Info("track arrived", "kind", t.Kind().String(), "codec", t.Codec().MimeType)
	r.pub.start(func() { forward(t, local) })
}

// forward copies RTP packets from the publisher's track to the room's
// local track until the publisher's connection closes. Header extensions
// are dropped: their ids were negotiated with the publisher, not with the
// subscribers.
func forward(from *webrtc.TrackRemote, to *webrtc.TrackLocalStaticRTP) {
	buf := make([]byte, rtpBufferSize)
	var pkt rtp.Packet
	for {
		n, _, err := from.Read(buf)
		if err != nil {
			return
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		pkt.Header.Extension = false
		pkt.Header.ExtensionProfile = 0
		pkt.Header.Extensions = nil
		// Errors are per subscriber (one that just closed); the others
		// were written.
		_ = to.WriteRTP(&pkt)
	}
}

// readRTCP reads a subscriber's RTCP (pion's interceptors need it read)
// and passes its keyframe requests on to the publisher.
func (r *room) readRTCP(s *webrtc.RTPSender) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				r.keyframe()
			}
		}
	}
}

// keyframe asks the publisher for a keyframe, at most once per
// keyframeInterval: a request within the interval is sent at its end.
func (r *room) keyframe() {
	r.mu.Lock()
	if r.closed || r.video == nil {
		r.mu.Unlock()
		return
	}
	if wait := keyframeInterval - time.Since(r.lastPLI); wait > 0 {
		if r.pliTimer == nil {
			r.pliTimer = time.AfterFunc(wait, func() {
				r.mu.Lock()
				r.pliTimer = nil
				r.mu.Unlock()
				r.keyframe()
			})
		}
		r.mu.Unlock()
		return
	}
	r.lastPLI = time.Now()
	ssrc := r.videoSSRC
	r.mu.Unlock()
	err := r.pub.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
	if err != nil {
		r.pub.log.Debug("keyframe request", "err", err)
	}
}
