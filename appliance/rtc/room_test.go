package rtc_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboardhq/switchboard/appliance/rtc"
)

// publisher is a client sending synthetic VP8 packets; their payload is a
// marker and a counter (the bytes need not be real video).
type publisher struct {
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP
	plis  chan struct{}
	stop  chan struct{}
	done  sync.WaitGroup
}

var marker = []byte("switchboard-vp8:")

func newPublisher(t *testing.T) *publisher {
	t.Helper()
	p := &publisher{pc: newClient(t), plis: make(chan struct{}, 64), stop: make(chan struct{})}
	track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "video", "pub")
	if err != nil {
		t.Fatal(err)
	}
	p.track = track
	sender, err := p.pc.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		for {
			pkts, _, err := sender.ReadRTCP()
			if err != nil {
				return
			}
			for _, pkt := range pkts {
				if _, ok := pkt.(*rtcp.PictureLossIndication); ok {
					select {
					case p.plis <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	t.Cleanup(func() {
		close(p.stop)
		p.pc.Close()
		p.done.Wait()
	})
	return p
}

// send writes a packet every 5 ms until the test ends.
func (p *publisher) send() {
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(0); ; seq++ {
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
			payload := binary.BigEndian.AppendUint32(append([]byte(nil), marker...), uint32(seq))
			p.track.WriteRTP(&rtp.Packet{
				Header:  rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 3000, Marker: true},
				Payload: payload,
			})
		}
	}()
}

// subscribe connects a recvonly client to room and returns the payloads it
// receives.
func subscribe(t *testing.T, g *rtc.Gateway, room, id string) (*webrtc.PeerConnection, <-chan []byte) {
	t.Helper()
	pc := newClient(t)
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	payloads := make(chan []byte, 256)
	var wg sync.WaitGroup
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Codec().MimeType != webrtc.MimeTypeVP8 {
			t.Errorf("subscriber got codec %s, want VP8", tr.Codec().MimeType)
		}
		wg.Add(1)
		defer wg.Done()
		for {
			pkt, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			select {
			case payloads <- pkt.Payload:
			default:
			}
		}
	})
	answer, err := g.Subscribe(ctx(t), room, id, offer(t, pc))
	if err != nil {
		t.Fatalf("Subscribe %s: %v", id, err)
	}
	accept(t, pc, answer)
	t.Cleanup(func() {
		pc.Close()
		wg.Wait()
	})
	return pc, payloads
}

func TestRoomForwardsToSubscribers(t *testing.T) {
	g := newGateway(t, newHub(false), rtc.Config{})
	const room = "share-42"

	// Before anyone publishes.
	probe := newClient(t)
	probe.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
	early := offer(t, probe)
	if _, err := g.Subscribe(ctx(t), room, "early", early); !errors.Is(err, rtc.ErrNotLive) {
		t.Fatalf("Subscribe before Publish: %v, want ErrNotLive", err)
	}

	pub := newPublisher(t)
	answer, err := g.Publish(ctx(t), room, "customer", offer(t, pub.pc))
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	// Answered but no video yet: still not live.
	if g.Live(room) {
		t.Fatal("live before any video arrived")
	}
	if _, err := g.Subscribe(ctx(t), room, "early", early); !errors.Is(err, rtc.ErrNotLive) {
		t.Fatalf("Subscribe before video: %v, want ErrNotLive", err)
	}
	accept(t, pub.pc, answer)
	pub.send()
	waitFor(t, "the room to be live", func() bool { return g.Live(room) })

	// Someone else cannot publish in a live room.
	other := newPublisher(t)
	if _, err := g.Publish(ctx(t), room, "intruder", offer(t, other.pc)); !errors.Is(err, rtc.ErrRoomBusy) {
		t.Fatalf("second publisher: %v, want ErrRoomBusy", err)
	}

	// Drain the PLIs sent so far, so that the next one is the join's.
	for len(pub.plis) > 0 {
		<-pub.plis
	}
	_, a := subscribe(t, g, room, "tech-1")
	recv(t, "a keyframe request when a subscriber joins", pub.plis)
	_, b := subscribe(t, g, room, "tech-2")
	for name, ch := range map[string]<-chan []byte{"tech-1": a, "tech-2": b} {
		for range 10 {
			p := recv(t, name+"'s packets", ch)
			if !bytes.HasPrefix(p, marker) || len(p) != len(marker)+4 {
				t.Fatalf("%s got payload %q, want the publisher's", name, p)
			}
		}
	}

	// Closing the publisher closes the room and its subscribers.
	pub.pc.Close()
	waitFor(t, "the room to close", func() bool { return !g.Live(room) })
	waitFor(t, "no peers", func() bool { return g.Peers() == 0 })
}

func TestRoomCloseAndReplace(t *testing.T) {
	// OnRoom hears of each room going live and closing.
	type change struct {
		room string
		live bool
	}
	changes := make(chan change, 16)
	g := newGateway(t, newHub(false), rtc.Config{OnRoom: func(room string, live bool) { changes <- change{room, live} }})
	const room = "present-7"
	heard := func(want ...bool) {
		t.Helper()
		// Calls run in goroutines of their own: count, not order.
		lives := 0
		for _, w := range want {
			c := recv(t, "OnRoom", changes)
			if c.room != room {
				t.Fatalf("OnRoom(%q), want %q", c.room, room)
			}
			lives += btoi(c.live) - btoi(w)
		}
		if lives != 0 {
			t.Fatalf("OnRoom calls do not match %v", want)
		}
	}
	start := func(id string) *publisher {
		p := newPublisher(t)
		answer, err := g.Publish(ctx(t), room, id, offer(t, p.pc))
		if err != nil {
			t.Fatalf("Publish %s: %v", id, err)
		}
		accept(t, p.pc, answer)
		p.send()
		return p
	}
	start("tech-1")
	waitFor(t, "the room to be live", func() bool { return g.Live(room) })
	heard(true)
	subscribe(t, g, room, "viewer")
	if n := g.Peers(); n != 2 {
		t.Fatalf("%d peers, want publisher and subscriber", n)
	}

	// The same publisher again (a reloaded page) replaces the room.
	start("tech-1")
	waitFor(t, "the old room's peers to go", func() bool { return g.Peers() == 1 })
	waitFor(t, "the new room to be live", func() bool { return g.Live(room) })
	heard(false, true)

	g.CloseRoom(room)
	if g.Live(room) {
		t.Fatal("live after CloseRoom")
	}
	heard(false)
	waitFor(t, "no peers", func() bool { return g.Peers() == 0 })
	g.CloseRoom("no-such-room")
}

func TestPublishBadOffers(t *testing.T) {
	g := newGateway(t, newHub(false), rtc.Config{})
	pc := newClient(t)
	if _, err := pc.CreateDataChannel("x", nil); err != nil {
		t.Fatal(err)
	}
	dataOnly := offer(t, pc)
	if _, err := g.Publish(ctx(t), "share-1", "c", dataOnly); !errors.Is(err, rtc.ErrBadOffer) {
		t.Fatalf("Publish without video: %v, want ErrBadOffer", err)
	}
	if _, err := g.Publish(ctx(t), "", "c", dataOnly); err == nil {
		t.Fatal("Publish to an unnamed room worked")
	}
	if g.Peers() != 0 || g.Live("share-1") {
		t.Fatal("a refused offer left a peer or a room")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
