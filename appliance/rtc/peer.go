package rtc

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// peer is one PeerConnection and the goroutines that serve it.
//
// close only signals; the peer's own goroutine (run) closes the
// PeerConnection, waits for the goroutines started with start, and then
// runs the cleanups. So close is safe from pion's callbacks and under locks.
type peer struct {
	g   *Gateway
	pc  *webrtc.PeerConnection
	log *slog.Logger

	ctx    context.Context // canceled when the peer starts closing
	cancel context.CancelFunc
	open   *time.Timer

	mu        sync.Mutex
	stopping  bool
	done      bool // torn down: cleanups run at once
	reason    string
	cleanups  []func()
	connected func() // called once when ICE and DTLS are up
	wg        sync.WaitGroup
}

// newPeer reserves a connection slot and creates a PeerConnection. The
// caller must make it open (opened) within Config.OpenTimeout.
func (g *Gateway) newPeer(log *slog.Logger) (*peer, error) {
	ctx, cancel := context.WithCancel(context.Background())
	p := &peer{g: g, log: log, ctx: ctx, cancel: cancel}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		cancel()
		return nil, ErrClosed
	}
	if len(g.peers) >= g.cfg.MaxPeers {
		g.mu.Unlock()
		cancel()
		return nil, ErrTooManyPeers
	}
	g.peers[p] = struct{}{}
	g.wg.Add(1)
	g.mu.Unlock()

	pc, err := g.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		g.mu.Lock()
		delete(g.peers, p)
		g.mu.Unlock()
		g.wg.Done()
		cancel()
		return nil, fmt.Errorf("rtc: new peer connection: %w", err)
	}
	p.pc = pc
	var connectedOnce sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			p.mu.Lock()
			f := p.connected
			p.mu.Unlock()
			if f != nil {
				connectedOnce.Do(f)
			}
		case webrtc.PeerConnectionStateFailed:
			p.close("the connection failed")
		case webrtc.PeerConnectionStateClosed:
			p.close("the connection closed")
		}
	})
	p.open = time.AfterFunc(g.cfg.OpenTimeout, func() { p.close("the connection did not open in time") })
	go p.run()
	return p, nil
}

// run waits for close, then tears the peer down.
func (p *peer) run() {
	defer p.g.wg.Done()
	<-p.ctx.Done()
	p.open.Stop()
	if err := p.pc.Close(); err != nil {
		p.log.Debug("close peer connection", "err", err)
	}
	p.wg.Wait()
	p.mu.Lock()
	cleanups := p.cleanups
	p.cleanups = nil
	p.done = true
	reason := p.reason
	p.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	p.g.mu.Lock()
	delete(p.g.peers, p)
	p.g.mu.Unlock()
	p.log.Info("peer closed", "reason", reason)
}

// close starts closing the peer with a reason for the log. Only the first
// reason counts.
func (p *peer) close(reason string) {
	p.mu.Lock()
	if !p.stopping {
		p.stopping = true
		p.reason = reason
	}
	p.mu.Unlock()
	p.cancel()
}

// opened stops the open timeout.
func (p *peer) opened() { p.open.Stop() }

// start runs f in a goroutine that close waits for. f must return soon
// after p.ctx is canceled or the PeerConnection is closed. It reports
// false (and does not run f) when the peer is already closing.
func (p *peer) start(f func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return false
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		f()
	}()
	return true
}

// onClose registers f to run after the peer is torn down; cleanups run
// last first. If the peer is torn down already, f runs now.
func (p *peer) onClose(f func()) {
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		f()
		return
	}
	p.cleanups = append(p.cleanups, f)
	p.mu.Unlock()
}

// onConnected sets what to do once the connection is up.
func (p *peer) onConnected(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.connected = f
}

// answer answers offer: it sets the remote description, runs prepare (to
// add tracks), creates the answer and waits, within ctx, for ICE gathering
// to complete, so that the answer holds every candidate.
func (p *peer) answer(ctx context.Context, offer string, prepare func() error) (string, error) {
	err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer})
	if err != nil {
		return "", offerError("the offer was refused: " + err.Error())
	}
	if prepare != nil {
		if err := prepare(); err != nil {
			return "", err
		}
	}
	ans, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return "", offerError("no answer to this offer: " + err.Error())
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(ans); err != nil {
		return "", fmt.Errorf("rtc: set local description: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", fmt.Errorf("rtc: gathering candidates: %w", ctx.Err())
	case <-p.ctx.Done():
		p.g.mu.Lock()
		closed := p.g.closed
		p.g.mu.Unlock()
		if closed {
			return "", ErrClosed
		}
		return "", fmt.Errorf("rtc: the connection closed while answering")
	}
	return p.pc.LocalDescription().SDP, nil
}
