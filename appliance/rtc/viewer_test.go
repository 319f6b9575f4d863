package rtc_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/switchboardhq/switchboard/appliance/rtc"
	"github.com/switchboardhq/switchboard/appliance/wire"
)

// viewerClient is a connected client with its "wire" channel; messages
// from the gateway arrive on msgs.
type viewerClient struct {
	pc     *webrtc.PeerConnection
	dc     *webrtc.DataChannel
	msgs   chan []byte
	opened chan struct{}
	closed chan struct{}
}

// dialViewer connects a client's "wire" channel through g.Viewer. munge,
// if not nil, edits the answer before the client accepts it.
func dialViewer(t *testing.T, g *rtc.Gateway, session, viewer uint64, name string, munge func(string) string) *viewerClient {
	t.Helper()
	c := &viewerClient{pc: newClient(t), msgs: make(chan []byte, 4096), opened: make(chan struct{}), closed: make(chan struct{})}
	dc, err := c.pc.CreateDataChannel(rtc.WireLabel, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.dc = dc
	dc.OnOpen(func() { close(c.opened) })
	dc.OnClose(func() { close(c.closed) })
	dc.OnMessage(func(m webrtc.DataChannelMessage) { c.msgs <- m.Data })
	answer, err := g.Viewer(ctx(t), rtc.Seat{Session: session, Viewer: viewer, Name: name}, offer(t, c.pc))
	if err != nil {
		t.Fatalf("Viewer: %v", err)
	}
	if munge != nil {
		answer = munge(answer)
	}
	accept(t, c.pc, answer)
	recv(t, "the wire channel to open", c.opened)
	return c
}

func TestViewerFramesBothWays(t *testing.T) {
	hub := newHub(false)
	g := newGateway(t, hub, rtc.Config{})
	c := dialViewer(t, g, 7, 3, "Ada", nil)
	s := recv(t, "the viewer to join", hub.joins)
	if s.session != 7 || s.viewer != 3 || s.name != "Ada" {
		t.Fatalf("joined session %d viewer %d name %q, want 7, 3, Ada", s.session, s.viewer, s.name)
	}

	// Browser to session: byte-identical, text ignored.
	frames := [][]byte{{1}, bytes.Repeat([]byte{0xab}, 1200), randomBytes(t, 64<<10), randomBytes(t, rtc.MaxMessage)}
	if err := c.dc.SendText("ignored"); err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := c.dc.Send(f); err != nil {
			t.Fatalf("send %d bytes: %v", len(f), err)
		}
	}
	for i, want := range frames {
		if got := recv(t, "a frame from the browser", s.fromViewer); !bytes.Equal(got, want) {
			t.Fatalf("frame %d from the browser: %d bytes, want %d identical bytes", i, len(got), len(want))
		}
	}

	// Session to browser.
	for _, f := range frames {
		s.toViewer <- f
	}
	for i, want := range frames {
		if got := recv(t, "a frame for the browser", c.msgs); !bytes.Equal(got, want) {
			t.Fatalf("frame %d to the browser: %d bytes, want %d identical bytes", i, len(got), len(want))
		}
	}

	// Closing the browser's connection closes the stream.
	c.pc.Close()
	recv(t, "the stream to close", s.closed)
	waitFor(t, "no peers", func() bool { return g.Peers() == 0 })
}

// TestViewerBurst sends 2 MiB to the browser at once: the gateway pauses
// while more than 1 MiB waits and everything arrives in order.
func TestViewerBurst(t *testing.T) {
	hub := newHub(false)
	g := newGateway(t, hub, rtc.Config{})
	c := dialViewer(t, g, 1, 1, "Ada", nil)
	s := recv(t, "the viewer to join", hub.joins)

	const total, size = 2 << 20, 16 << 10
	sent := sha256.New()
	for range total / size {
		f := randomBytes(t, size)
		sent.Write(f)
		s.toViewer <- f
	}
	got := sha256.New()
	for n := 0; n < total; {
		f := recv(t, "burst frames", c.msgs)
		got.Write(f)
		n += len(f)
	}
	if !bytes.Equal(got.Sum(nil), sent.Sum(nil)) {
		t.Fatal("the burst arrived altered or out of order")
	}
	if g.FlowPauses() == 0 {
		t.Error("the gateway never paused for flow control")
	}
}

func TestViewerJoinRefused(t *testing.T) {
	hub := newHub(false)
	hub.refuse = errors.New("the session has ended")
	g := newGateway(t, hub, rtc.Config{})
	c := dialViewer(t, g, 1, 1, "Ada", nil)
	b := recv(t, "a close frame", c.msgs)
	f, err := wire.ReadFrame(bytes.NewReader(b), nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := wire.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if cl, ok := m.(wire.Close); !ok || cl.Reason != "the session has ended" {
		t.Fatalf("got %#v, want Close with the hub's reason", m)
	}
	recv(t, "the channel to close", c.closed)
	waitFor(t, "no peers", func() bool { return g.Peers() == 0 })
}

// TestViewerOversizeMessage: a peer that ignores the announced
// max-message-size loses its channel and the stream closes.
func TestViewerOversizeMessage(t *testing.T) {
	hub := newHub(false)
	g := newGateway(t, hub, rtc.Config{})
	raise := regexp.MustCompile(`a=max-message-size:\d+`)
	c := dialViewer(t, g, 1, 1, "Ada", func(sdp string) string {
		if !raise.MatchString(sdp) {
			t.Fatalf("the answer announces no max-message-size:\n%s", sdp)
		}
		return raise.ReplaceAllString(sdp, "a=max-message-size:1048576")
	})
	s := recv(t, "the viewer to join", hub.joins)
	if err := c.dc.Send(make([]byte, rtc.MaxMessage+1)); err != nil {
		t.Fatal(err)
	}
	recv(t, "the stream to close", s.closed)
	waitFor(t, "no peers", func() bool { return g.Peers() == 0 })
}

// TestViewerOtherChannels: channels not named "wire" are closed; the wire
// channel keeps working.
func TestViewerOtherChannels(t *testing.T) {
	hub := newHub(true)
	g := newGateway(t, hub, rtc.Config{})
	pc := newClient(t)
	other, err := pc.CreateDataChannel("chat", nil)
	if err != nil {
		t.Fatal(err)
	}
	otherClosed := make(chan struct{})
	other.OnClose(func() { close(otherClosed) })
	dc, err := pc.CreateDataChannel(rtc.WireLabel, nil)
	if err != nil {
		t.Fatal(err)
	}
	echoed := make(chan []byte, 1)
	dc.OnMessage(func(m webrtc.DataChannelMessage) { echoed <- m.Data })
	dc.OnOpen(func() { dc.Send([]byte("ping")) })
	answer, err := g.Viewer(ctx(t), rtc.Seat{Session: 1, Viewer: 1, Name: "Ada"}, offer(t, pc))
	if err != nil {
		t.Fatal(err)
	}
	accept(t, pc, answer)
	recv(t, "the other channel to close", otherClosed)
	if got := recv(t, "the echo", echoed); string(got) != "ping" {
		t.Fatalf("echo %q", got)
	}
}

func TestViewerBadOffers(t *testing.T) {
	g := newGateway(t, newHub(false), rtc.Config{})
	media := newClient(t)
	if _, err := media.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	noChannel := offer(t, media)
	good := func() string {
		pc := newClient(t)
		if _, err := pc.CreateDataChannel(rtc.WireLabel, nil); err != nil {
			t.Fatal(err)
		}
		return offer(t, pc)
	}()
	answerLike := strings.ReplaceAll(good, "a=setup:actpass", "a=setup:active")
	for _, tc := range []struct {
		name, sdp, want string
	}{
		{"empty", "", "the offer is empty"},
		{"garbage", "hello", "the offer is not valid SDP"},
		{"too large", good + strings.Repeat("a=x:"+strings.Repeat("y", 100)+"\r\n", 700), "larger than 64 KiB"},
		{"answer", answerLike, "an answer, not an offer"},
		{"no data channel", noChannel, "the offer has no data channel"},
		{"no ICE credentials", regexp.MustCompile(`a=ice-(ufrag|pwd):\S+\r\n`).ReplaceAllString(good, ""), "the offer was refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := g.Viewer(ctx(t), rtc.Seat{Session: 1, Viewer: 1, Name: "Ada"}, tc.sdp)
			if !errors.Is(err, rtc.ErrBadOffer) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrBadOffer saying %q", err, tc.want)
			}
		})
	}
	waitFor(t, "no peers", func() bool { return g.Peers() == 0 })
}

func TestViewerLimits(t *testing.T) {
	g := newGateway(t, newHub(false), rtc.Config{ListenUDP: "127.0.0.1:0", Loopback: true, MaxPeers: 1})
	dialViewer(t, g, 1, 1, "Ada", nil)
	pc := newClient(t)
	if _, err := pc.CreateDataChannel(rtc.WireLabel, nil); err != nil {
		t.Fatal(err)
	}
	o := offer(t, pc)
	if _, err := g.Viewer(ctx(t), rtc.Seat{Session: 1, Viewer: 2, Name: "Bob"}, o); !errors.Is(err, rtc.ErrTooManyPeers) {
		t.Fatalf("second viewer with MaxPeers 1: %v, want ErrTooManyPeers", err)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if g.Peers() != 0 {
		t.Fatalf("%d peers after Close", g.Peers())
	}
	if _, err := g.Viewer(ctx(t), rtc.Seat{Session: 1, Viewer: 2, Name: "Bob"}, o); !errors.Is(err, rtc.ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}

func randomBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
