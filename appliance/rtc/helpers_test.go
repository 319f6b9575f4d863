package rtc_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/switchboardhq/switchboard/appliance/rtc"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testTimeout bounds every wait of these tests.
const testTimeout = 15 * time.Second

// testLog returns a logger for the gateway: quiet unless -v.
func testLog(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

// newGateway starts a gateway on a loopback port for the test.
func newGateway(t testing.TB, hub rtc.Hub, cfg rtc.Config) *rtc.Gateway {
	t.Helper()
	if cfg.ListenUDP == "" {
		cfg.ListenUDP = "127.0.0.1:0"
		cfg.Loopback = true
	}
	cfg.Log = testLog(t)
	g, err := rtc.New(cfg, hub)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := g.Close(); err != nil {
			t.Errorf("close gateway: %v", err)
		}
	})
	return g
}

// clientAPI is a browser stand-in: its own pion API on loopback.
func clientAPI() *webrtc.API {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	return webrtc.NewAPI(webrtc.WithSettingEngine(se))
}

// newClient returns a client peer connection that is closed when the test
// ends.
func newClient(t testing.TB) *webrtc.PeerConnection {
	t.Helper()
	pc, err := clientAPI().NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// offer makes pc's complete offer (candidates gathered).
func offer(t testing.TB, pc *webrtc.PeerConnection) string {
	t.Helper()
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(testTimeout):
		t.Fatal("client gathering did not complete")
	}
	return pc.LocalDescription().SDP
}

// accept sets the gateway's answer on pc.
func accept(t testing.TB, pc *webrtc.PeerConnection, answer string) {
	t.Helper()
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
}

// ctx returns a context bounded by testTimeout.
func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return c
}

// waitFor waits until cond holds, checking it every few milliseconds, and
// fails the test after testTimeout. It is for state the test can only
// observe, such as a peer count.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-tick.C
	}
}

// recv waits for a value from ch.
func recv[T any](t testing.TB, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// memHub is an in-memory Hub. Each Join makes a memStream, announced on
// joins. With echo, frames a viewer sends come back to it.
type memHub struct {
	echo   bool
	refuse error
	joins  chan *memStream
}

func newHub(echo bool) *memHub { return &memHub{echo: echo, joins: make(chan *memStream, 16)} }

func (h *memHub) Join(seat rtc.Seat) (rtc.Stream, error) {
	if h.refuse != nil {
		return nil, h.refuse
	}
	s := &memStream{
		session: seat.Session, viewer: seat.Viewer, name: seat.Name,
		toViewer: make(chan []byte, 1024), fromViewer: make(chan []byte, 1024),
		closed: make(chan struct{}),
	}
	if h.echo {
		s.fromViewer = s.toViewer
	}
	h.joins <- s
	return s, nil
}

// memStream is one viewer's stream: frames written to toViewer go to the
// browser, frames from the browser arrive on fromViewer.
type memStream struct {
	session, viewer uint64
	name            string
	toViewer        chan []byte
	fromViewer      chan []byte
	once            sync.Once
	closed          chan struct{}
}

var errStreamClosed = errors.New("stream closed")

func (s *memStream) Next(ctx context.Context) ([]byte, error) {
	select {
	case f := <-s.toViewer:
		return f, nil
	case <-s.closed:
		return nil, io.EOF
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *memStream) Send(frame []byte) error {
	select {
	case s.fromViewer <- frame:
		return nil
	case <-s.closed:
		return errStreamClosed
	}
}

func (s *memStream) Close() { s.once.Do(func() { close(s.closed) }) }
