package rtc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pion/sctp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// WireLabel is the label of the viewer's data channel.
const WireLabel = "wire"

// Flow control of the viewer's data channel: Next is not called while more
// than highWater bytes wait to be acknowledged, and resumes below lowWater.
const (
	lowWater  = 512 << 10
	highWater = 1 << 20
)

// flushTimeout bounds the wait for a last Close frame to be delivered.
const flushTimeout = 2 * time.Second

// Viewer answers a browser's offer for a viewer connection to a desk
// session: when the browser's data channel "wire" opens, the viewer joins
// the session through the Hub, and wire frames flow both ways until either
// side ends, which closes both. ctx bounds the answer, not the connection.
//
// The browser must create one ordered, reliable data channel labelled
// "wire"; other channels are closed. Text messages are ignored. When the
// Hub refuses the viewer, the browser receives a wire Close frame with the
// reason before the connection closes.
func (g *Gateway) Viewer(ctx context.Context, seat Seat, offerSDP string) (string, error) {
	if err := checkOffer(offerSDP, "application"); err != nil {
		return "", err
	}
	log := g.log.With("peer", "viewer", "session", seat.Session, "viewer", seat.Viewer)
	p, err := g.newPeer(log)
	if err != nil {
		return "", err
	}
	v := &viewerConn{g: g, p: p, seat: seat, ready: make(chan struct{})}
	p.pc.OnDataChannel(v.accept)
	answer, err := p.answer(ctx, offerSDP, nil)
	if err != nil {
		p.close("no answer")
		return "", err
	}
	log.Info("viewer connection answered")
	return answer, nil
}

// viewerConn bridges one viewer's data channel and Stream.
type viewerConn struct {
	g    *Gateway
	p    *peer
	seat Seat

	claimed bool          // a wire channel was accepted (pion calls accept serially)
	ready   chan struct{} // closed once stream is set or the join failed
	stream  Stream        // nil if the join failed; read after ready
}

// accept takes the first "wire" channel and closes any other.
func (v *viewerConn) accept(dc *webrtc.DataChannel) {
	log := v.p.log
	switch {
	case dc.Label() != WireLabel:
		log.Info("data channel refused", "label", dc.Label())
		dc.Close()
		return
	case v.claimed:
		log.Info("second wire channel refused")
		dc.Close()
		return
	case !dc.Ordered() || dc.MaxRetransmits() != nil || dc.MaxPacketLifeTime() != nil:
		log.Info("unreliable wire channel refused")
		v.p.close("the wire channel is not ordered and reliable")
		return
	}
	v.claimed = true
	dc.OnMessage(func(m webrtc.DataChannelMessage) { v.receive(dc, m) })
	dc.OnClose(func() { v.p.close("the data channel closed") })
	dc.OnError(func(err error) { log.Info("data channel error", "err", err) })
	dc.OnOpen(func() {
		v.p.opened()
		v.p.start(func() { v.run(dc) })
	})
}

// run joins the session and sends its frames to the browser.
func (v *viewerConn) run(dc *webrtc.DataChannel) {
	stream, err := v.g.hub.Join(v.seat)
	if err != nil {
		close(v.ready)
		v.p.log.Info("join refused", "err", err)
		v.sendClose(dc, err.Error())
		v.p.close("join refused: " + err.Error())
		return
	}
	v.stream = stream
	close(v.ready)
	v.p.onClose(stream.Close)
	v.p.log.Info("viewer joined")

	low := make(chan struct{}, 1)
	dc.SetBufferedAmountLowThreshold(lowWater)
	dc.OnBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})
	ctx := v.p.ctx
	for {
		frame, err := stream.Next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				v.p.close("the session ended: " + err.Error())
			}
			return
		}
		for dc.BufferedAmount() > highWater {
			v.g.pauses.Add(1)
			select {
			case <-low:
			case <-ctx.Done():
				return
			}
		}
		if err := dc.Send(frame); err != nil {
			if errors.Is(err, sctp.ErrOutboundPacketTooLarge) {
				// The browser announced a smaller limit than this frame;
				// losing it beats losing the session.
				v.p.log.Warn("frame dropped: larger than the browser accepts", "bytes", len(frame))
				continue
			}
			v.p.close("send: " + err.Error())
			return
		}
	}
}

// receive passes one message from the browser to the session.
func (v *viewerConn) receive(dc *webrtc.DataChannel, m webrtc.DataChannelMessage) {
	if m.IsString {
		return
	}
	if len(m.Data) > MaxMessage {
		// pion refuses larger messages itself; this is a second guard.
		v.p.log.Info("message too large", "bytes", len(m.Data))
		v.sendClose(dc, fmt.Sprintf("a message was larger than %d bytes", MaxMessage))
		v.p.close("message too large")
		return
	}
	select {
	case <-v.ready:
	case <-v.p.ctx.Done():
		return
	}
	if v.stream == nil {
		return
	}
	if err := v.stream.Send(m.Data); err != nil {
		v.p.close("session send: " + err.Error())
	}
}

// sendClose sends a wire Close frame with reason and waits, briefly, until
// the browser acknowledged it, so that closing the connection next does
// not lose it.
func (v *viewerConn) sendClose(dc *webrtc.DataChannel, reason string) {
	if len(reason) > wire.MaxReason {
		reason = strings.ToValidUTF8(reason[:wire.MaxReason], "")
	}
	f, err := wire.Encode(wire.Close{Reason: reason})
	if err != nil {
		return
	}
	b, err := wire.AppendFrame(nil, f)
	if err != nil || dc.Send(b) != nil {
		return
	}
	ctx, cancel := context.WithTimeout(v.p.ctx, flushTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for dc.BufferedAmount() > 0 {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}
