package relay

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

func TestTokens(t *testing.T) {
	tr := startRelay(t, Config{})
	tr.auth.add("once", testToken{grant: Grant{Session: 1}, role: wire.RoleClient, once: true})
	tr.auth.add("old", testToken{grant: Grant{Session: 1}, role: wire.RoleClient, once: true, expires: time.Now().Add(-time.Minute)})
	tr.auth.add("bound", testToken{grant: Grant{Session: 2}, role: wire.RoleClient, bound: true})
	tr.auth.add("tech", testToken{grant: Grant{Session: 1, Viewer: 7, Name: "Ann"}, role: wire.RoleTechnician, once: true})

	// The first use of a one-time token works; the client then leaves.
	c := dial(t, tr.addr, wire.RoleClient, "once", "dev-A")
	c.welcome()
	c.send(wire.Close{Reason: "done"})
	contains(t, recv(t, tr.obs.down(1), "client down"), "the client closed the session: done")

	// The bound token binds to dev-A.
	b := dial(t, tr.addr, wire.RoleClient, "bound", "dev-A")
	if w := b.welcome(); w.Session != 2 {
		t.Fatalf("welcome %+v", w)
	}
	b.hangup()
	recv(t, tr.obs.down(2), "client down")

	for _, tc := range []struct {
		name, token, device string
		role                uint8
		want                string
	}{
		{"forged", "made-up", "dev-A", wire.RoleClient, "not valid"},
		{"replayed", "once", "dev-A", wire.RoleClient, "already used"},
		{"expired", "old", "dev-A", wire.RoleClient, "expired"},
		{"another device", "bound", "dev-B", wire.RoleClient, "belongs to another device"},
		{"wrong role", "tech", "dev-A", wire.RoleClient, "not valid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := dial(t, tr.addr, tc.role, tc.token, tc.device)
			contains(t, p.closeReason(), tc.want)
		})
	}

	// The device the token is bound to gets back in.
	b = dial(t, tr.addr, wire.RoleClient, "bound", "dev-A")
	b.welcome()
}

func TestOneClientPerSession(t *testing.T) {
	tr := startRelay(t, Config{})
	first := tr.addClient(t, 1)
	tok := "second"
	tr.auth.add(tok, testToken{grant: Grant{Session: 1}, role: wire.RoleClient, bound: true})
	second := dial(t, tr.addr, wire.RoleClient, tok, "dev-1")
	contains(t, second.closeReason(), "this session already has a connected client")

	// The first is still served; once it is gone a new client may connect.
	first.send(wire.Ping{Nonce: 1})
	if m := first.expect(wire.TPong); m != (wire.Pong{Nonce: 1}) {
		t.Fatalf("got %#v", m)
	}
	first.hangup()
	recv(t, tr.obs.down(1), "client down")
	third := dial(t, tr.addr, wire.RoleClient, tok, "dev-1")
	third.welcome()
}

// TestFanOut: a client and two viewers, one in-process and one a native
// tool over QUIC, receive the same frames byte for byte; a viewer that
// leaves does not disturb the others.
func TestFanOut(t *testing.T) {
	tr := startRelay(t, Config{})
	c := tr.addClient(t, 1)
	a, err := tr.Join(1, 10, "Ann", full)
	if err != nil {
		t.Fatal(err)
	}
	b := tr.addTechnician(t, 1, 11, "Bob")
	// Each technician sees the screen once the customer allowed them.
	tr.grant(t, c, 10, "view")
	tr.grant(t, c, 11, "view")
	if m := decode(t, nextFrame(t, a)); m != (wire.ConsentReply{Granted: true, What: "view", Viewer: 10}) {
		t.Fatalf("Ann got %#v", m)
	}
	if m := b.msg(); m != (wire.ConsentReply{Granted: true, What: "view", Viewer: 11}) {
		t.Fatalf("Bob got %#v", m)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	var sent [][]byte
	info := encode(wire.DeviceInfo{OS: "linux", Hostname: "pc-1", Screens: []wire.Screen{{Width: 1920, Height: 1080}}, Capture: true, Transport: TransportQUIC})
	sent = append(sent, info)
	for i := range 50 {
		data := make([]byte, rng.IntN(20000)+1)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		sent = append(sent, tile(uint16(i*64), 0, data))
	}
	sent = append(sent, encode(wire.FrameEnd{Seq: 1}))
	for _, f := range sent {
		c.sendRaw(f)
	}
	for i, want := range sent {
		if got := nextFrame(t, a); !bytes.Equal(got, want) {
			t.Fatalf("in-process viewer: frame %d differs", i)
		}
		got := b.raw()
		for got[0] == byte(wire.TPong) {
			got = b.raw()
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("native viewer: frame %d differs (type %d)", i, got[0])
		}
	}
	if info := recv(t, tr.obs.up, "client up"); info.Hostname != "pc-1" {
		t.Fatalf("observer got %+v", info)
	}

	// The native viewer's tool dies; the client and the other viewer go on.
	b.hangup()
	c.send(wire.Ping{Nonce: 9})
	c.expect(wire.TPong)
	end := encode(wire.FrameEnd{Seq: 2})
	c.sendRaw(end)
	if got := nextFrame(t, a); !bytes.Equal(got, end) {
		t.Fatalf("after the other viewer left: %v", got)
	}
	st, ok := tr.Stats(1)
	if !ok || !st.Client || st.FramesIn < uint64(len(sent)) || st.BytesOut == 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestSlowViewer: a viewer that never reads loses screen frames, holds no
// more than its bound, and does not slow the client or the other viewer;
// once it catches up the client is asked for a full frame.
func TestSlowViewer(t *testing.T) {
	const bound = 64 << 10
	tr := startRelay(t, Config{ViewerScreenBytes: bound})
	c := tr.addClient(t, 1)
	fast, err := tr.Join(1, 10, "Ann", full)
	if err != nil {
		t.Fatal(err)
	}
	slow, err := tr.Join(1, 11, "Bob", full)
	if err != nil {
		t.Fatal(err)
	}
	tr.grant(t, c, 10, "view")
	tr.grant(t, c, 11, "view")
	c.expect(wire.TFullFrame)
	nextFrame(t, fast) // the answer about Ann

	// Frames of 40 KiB: the fast viewer takes each before the next is
	// sent, the slow one overflows on the second.
	for seq := range 20 {
		var sent [][]byte
		for i := range 10 {
			sent = append(sent, tile(uint16(i), 0, bytes.Repeat([]byte{byte(seq)}, 4000)))
		}
		sent = append(sent, encode(wire.FrameEnd{Seq: uint64(seq)}))
		for _, f := range sent {
			c.sendRaw(f)
		}
		for i, want := range sent {
			if got := nextFrame(t, fast); !bytes.Equal(got, want) {
				t.Fatalf("fast viewer: frame %d.%d differs", seq, i)
			}
		}
	}
	// Everything the client sent has been routed.
	if q := slow.queued(); q > bound+4100 {
		t.Fatalf("slow viewer holds %d bytes, bound %d", q, bound)
	}
	st, _ := tr.Stats(1)
	if st.Drops[DropSlowViewer] == 0 {
		t.Fatalf("no slow-viewer drops counted: %+v", st)
	}

	// The slow viewer catches up: the client is asked for a full frame.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := slow.Next(ctx); err != nil {
				return
			}
		}
	}()
	c.expect(wire.TFullFrame)
	cancel()
	<-done
}

// TestJoin: a joining viewer gets the device info and consent answers; the
// client is asked for a full frame.
func TestJoin(t *testing.T) {
	tr := startRelay(t, Config{})
	c := tr.addClient(t, 1)
	info := encode(wire.DeviceInfo{OS: "linux", Hostname: "pc-1", Capture: true, Transport: TransportQUIC}) // as the relay says it
	reply := encode(wire.ConsentReply{Granted: true, What: "view", Viewer: 10})
	c.sendRaw(info)
	c.sendRaw(reply)
	recv(t, tr.obs.up, "client up")
	if got := recv(t, tr.obs.consent, "consent"); got != "10 view=true" {
		t.Fatalf("consent %q", got)
	}
	v, err := tr.Join(1, 10, "Ann", full)
	if err != nil {
		t.Fatal(err)
	}
	if got := nextFrame(t, v); !bytes.Equal(got, info) {
		t.Fatalf("first frame %v", got)
	}
	if got := nextFrame(t, v); !bytes.Equal(got, reply) {
		t.Fatalf("second frame %v", got)
	}
	c.expect(wire.TFullFrame)

	// The client leaves: the granted consent is withdrawn for the viewers.
	c.send(wire.Close{})
	recv(t, tr.obs.down(1), "client down")
	if m := decode(t, nextFrame(t, v)); m != (wire.ConsentReply{Granted: false, What: "view", Viewer: 10}) {
		t.Fatalf("after the client left: %#v", m)
	}
}

// TestControl: input and clipboard text reach the client only from the
// controller; a consent question carries the asking viewer's name.
func TestControl(t *testing.T) {
	tr := startRelay(t, Config{})
	c := tr.addClient(t, 1)
	ann, _ := tr.Join(1, 10, "Ann", full)
	bob, _ := tr.Join(1, 11, "Bob", full)
	// Ann controls by default; she asks the customer, who is asked about
	// Ann by name.
	tr.SetController(1, 10)
	if err := ann.Send(encode(wire.ConsentAsk{What: "control"})); err != nil {
		t.Fatal(err)
	}
	if m := c.expect(wire.TConsentAsk); m != (wire.ConsentAsk{Technician: "Ann", What: "control", Viewer: 10}) {
		t.Fatalf("ask %#v", m)
	}
	// Before the answer, even the controller's input is dropped.
	if err := ann.Send(encode(wire.Input{Kind: wire.InputMove})); err != nil {
		t.Fatal(err)
	}
	if st, _ := tr.Stats(1); st.Drops[DropViewOnly] != 1 {
		t.Fatalf("input before consent: drops %+v", st.Drops)
	}
	tr.grant(t, c, 10, "control")

	send := func(v *Viewer, m wire.Message) {
		t.Helper()
		if err := v.Send(encode(m)); err != nil {
			t.Fatal(err)
		}
	}
	in := wire.Input{Kind: wire.InputKey, Down: true, Code: 0x61}
	send(bob, wire.Input{Kind: wire.InputMove, X: 1, Y: 2})
	send(bob, wire.Clipboard{Text: "rm -rf"})
	if st, _ := tr.Stats(1); st.Drops[DropViewOnly] != 3 {
		t.Fatalf("view-only drops %+v", st.Drops)
	}
	send(bob, wire.ConsentAsk{Technician: "Ann", What: "control"})
	send(ann, in)
	send(ann, wire.Clipboard{Text: "hello"})
	if m := c.expect(wire.TConsentAsk); m != (wire.ConsentAsk{Technician: "Bob", What: "control", Viewer: 11}) {
		t.Fatalf("consent ask %#v", m)
	}
	if m := c.expect(wire.TInput); m != in {
		t.Fatalf("input %#v", m)
	}
	if m := c.expect(wire.TClipboard); m != (wire.Clipboard{Text: "hello"}) {
		t.Fatalf("clipboard %#v", m)
	}

	// Control taken back: nobody's input passes.
	tr.SetController(1, 0)
	send(ann, in)
	if st, _ := tr.Stats(1); st.Drops[DropViewOnly] != 4 {
		t.Fatalf("view-only drops %+v", st.Drops)
	}
	// The relay answers a viewer's ping itself.
	send(ann, wire.Ping{Nonce: 3})
	m := decode(t, nextFrame(t, ann))
	if m == (wire.ConsentReply{Granted: true, What: "control", Viewer: 10}) {
		m = decode(t, nextFrame(t, ann)) // the answer about Ann came first
	}
	if m != (wire.Pong{Nonce: 3}) {
		t.Fatalf("got %#v", m)
	}
	// A viewer may not send screen frames.
	if err := bob.Send(tile(0, 0, []byte{1})); err == nil {
		t.Fatal("a viewer's tile was accepted")
	}
	if m := decode(t, nextFrame(t, bob)).(wire.Close); m.Code != CodeProtocol || m.Reason != "a viewer may not send Tile frames" {
		t.Fatalf("closed with %#v", m)
	}
	if _, err := bob.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("viewer not closed: %v", err)
	}
	if err := bob.Send(encode(wire.Ping{})); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
}

// TestBadPeers: a peer that breaks the protocol is closed with a reason
// and the relay goes on serving others.
func TestBadPeers(t *testing.T) {
	tr := startRelay(t, Config{})
	huge := []byte{byte(wire.TClipboard), 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(huge[2:], wire.MaxClipboard+1)
	for i, tc := range []struct {
		name  string
		hello bool // say a valid hello first
		send  []byte
		want  string
	}{
		{"garbage before hello", false, []byte("GET / HTTP/1.1\r\nHost: box\r\n\r\n"), "expected a hello"},
		{"an app from before an update", false, oldHello(), "download the support app again"},
		{"not a hello first", false, encode(wire.Ping{}), "expected a hello: got a Ping frame"},
		{"oversized frame", true, huge, "larger than its type allows"},
		{"unknown type", true, []byte{99, 0, 0, 0, 0, 0}, "unknown frame type 99"},
		{"malformed device info", true, append([]byte{byte(wire.TDeviceInfo), 0, 0, 0, 0, 2}, "{["...), "bad DeviceInfo frame"},
		{"input from the client", true, encode(wire.Input{Kind: wire.InputMove}), "a client may not send Input frames"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			session := uint64(100 + i)
			var p *peer
			if tc.hello {
				p = tr.addClient(t, session)
			} else {
				p = dialRaw(t, tr.addr, nil)
			}
			p.sendRaw(tc.send)
			contains(t, p.closeReason(), tc.want)
			if tc.hello {
				contains(t, recv(t, tr.obs.down(session), "client down"), tc.want)
			}
			// Others are still served.
			ok := tr.addClient(t, session)
			ok.send(wire.Ping{Nonce: 1})
			ok.expect(wire.TPong)
		})
	}
}

// TestClientNotReading: a client that stops reading while viewers send to
// it is closed.
func TestClientNotReading(t *testing.T) {
	tr := startRelay(t, Config{ClientQueueBytes: 256 << 10, WriteTimeout: 300 * time.Millisecond, CloseGrace: 100 * time.Millisecond})
	tok := "deaf"
	tr.auth.add(tok, testToken{grant: Grant{Session: 1}, role: wire.RoleClient, once: true})
	c := dialRaw(t, tr.addr, nil)
	c.send(wire.Hello{Version: wire.Version, Role: wire.RoleClient, Token: tok, DeviceID: "d"})
	c.welcome()
	// From here on the client reads nothing.
	v, _ := tr.Join(1, 10, "Ann", full)
	if err := v.Send(encode(wire.FileOffer{ID: 1, Name: "big.bin", Size: 1 << 40})); err != nil {
		t.Fatal(err)
	}
	chunk := encode(wire.FileChunk{ID: 1, Data: make([]byte, wire.MaxChunk)})
	for i := 0; ; i++ {
		if err := v.Send(chunk); err != nil {
			t.Fatal(err)
		}
		select {
		case reason := <-tr.obs.down(1):
			contains(t, reason, "client is not reading")
			return
		default:
		}
		if i > 100_000 {
			t.Fatal("the client was never closed")
		}
	}
}

func TestEnd(t *testing.T) {
	tr := startRelay(t, Config{})
	c := tr.addClient(t, 1)
	b := tr.addTechnician(t, 1, 11, "Bob")
	a, _ := tr.Join(1, 10, "Ann", full)
	other := tr.addClient(t, 2)

	tr.End(1, "the technician ended the session")
	const want = "the technician ended the session"
	contains(t, c.closeReason(), want)
	contains(t, b.closeReason(), want)
	if m := decode(t, nextFrame(t, a)); m != (wire.Close{Code: CodeEnded, Reason: want}) {
		t.Fatalf("in-process viewer got %#v", m)
	}
	if _, err := a.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after the Close frame: %v", err)
	}
	contains(t, recv(t, tr.obs.down(1), "client down"), want)
	if _, ok := tr.Stats(1); ok {
		t.Fatal("stats of an ended session")
	}
	// Session 2 is untouched.
	other.send(wire.Ping{Nonce: 2})
	other.expect(wire.TPong)

	// Close waits for the peers to hang up: read while it does.
	reason := make(chan string, 1)
	go func() {
		for {
			b, err := other.next()
			if err != nil {
				reason <- err.Error()
				return
			}
			if m, err := wire.Decode(wire.Frame{Type: wire.Type(b[0]), Payload: b[wire.HeaderLen:]}); err == nil && m.Type() == wire.TClose {
				other.hangup()
				reason <- m.(wire.Close).Reason
				return
			}
		}
	}()
	tr.Close()
	contains(t, <-reason, "shutting down")
	if _, err := tr.Join(2, 1, "x", full); !errors.Is(err, ErrRelayClosed) {
		t.Fatalf("join after close: %v", err)
	}
	tr.Close()
}

func TestIdle(t *testing.T) {
	tr := startRelay(t, Config{IdleTimeout: 300 * time.Millisecond})
	c := tr.addClient(t, 1)
	contains(t, c.closeReason(), "idle")
	contains(t, recv(t, tr.obs.down(1), "client down"), "idle")
}

func TestCaps(t *testing.T) {
	tr := startRelay(t, Config{SessionBitsPerSecond: 80_000_000, GlobalBitsPerSecond: 800_000_000})
	c := tr.addClient(t, 1)
	v, _ := tr.Join(1, 10, "Ann", full)
	tr.grant(t, c, 10, "view")
	c.expect(wire.TFullFrame)
	nextFrame(t, v) // the answer
	f := tile(0, 0, make([]byte, 300_000))
	c.sendRaw(f)
	if got := nextFrame(t, v); !bytes.Equal(got, f) {
		t.Fatal("tile differs")
	}
	tr.auth.add("cap", testToken{grant: Grant{Session: 2}, role: wire.RoleClient, once: true})
	p := dial(t, tr.addr, wire.RoleClient, "cap", "d")
	if w := p.welcome(); w.MaxBitsPerSecond != 80_000_000 {
		t.Fatalf("welcome %+v", w)
	}
	tot := tr.Totals()
	if tot.Clients != 2 || tot.Viewers != 1 || tot.FramesIn == 0 {
		t.Fatalf("totals %+v", tot)
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"héllo", 2, "h"},
		{"héllo", 3, "hé"},
		{"a\xffb", 10, "a\uFFFDb"},
	} {
		if got := truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
	if !reflect.DeepEqual(decode(t, closeFrame(1, string(bytes.Repeat([]byte("é"), 400)))).(wire.Close).Code, uint16(1)) {
		t.Fatal("long reason not encoded")
	}
}

func TestHelloTimeout(t *testing.T) {
	tr := startRelay(t, Config{HelloTimeout: 300 * time.Millisecond})
	// A stream is invisible until its opener writes: this peer never does.
	silent := dialRaw(t, tr.addr, nil)
	contains(t, silent.closeReason(), "no stream was opened")
	// This one starts a hello and stops.
	slow := dialRaw(t, tr.addr, nil)
	slow.sendRaw([]byte{byte(wire.THello), 0, 0, 0})
	contains(t, slow.closeReason(), "expected a hello")
}

// TestSlowNativeViewer: a technician tool that stops reading is closed
// once a write to it blocks past the write timeout; the client and the
// other viewer carry on.
func TestSlowNativeViewer(t *testing.T) {
	tr := startRelay(t, Config{WriteTimeout: 300 * time.Millisecond, CloseGrace: 100 * time.Millisecond})
	c := tr.addClient(t, 1)
	fast, _ := tr.Join(1, 10, "Ann", full)
	tr.grant(t, c, 10, "view")
	c.expect(wire.TFullFrame)
	nextFrame(t, fast) // the answer
	tok := "deaf-tech"
	tr.auth.add(tok, testToken{grant: Grant{Session: 1, Viewer: 11, Name: "Bob"}, role: wire.RoleTechnician, once: true})
	window := uint64(64 << 10)
	slow := dialRaw(t, tr.addr, &quic.Config{InitialStreamReceiveWindow: window, MaxStreamReceiveWindow: window, InitialConnectionReceiveWindow: window, MaxConnectionReceiveWindow: window})
	slow.send(wire.Hello{Version: wire.Version, Role: wire.RoleTechnician, Token: tok})
	slow.welcome()
	tr.grant(t, c, 11, "view")
	// From here on the technician reads nothing until the relay gives up.
	for seq := 0; ; seq++ {
		f := tile(0, 0, bytes.Repeat([]byte{byte(seq)}, 16000))
		c.sendRaw(f)
		if got := nextFrame(t, fast); !bytes.Equal(got, f) {
			t.Fatalf("fast viewer: tile %d differs", seq)
		}
		if st, _ := tr.Stats(1); st.Viewers == 1 {
			break // the slow one is gone
		}
		if seq > 10_000 {
			t.Fatal("the technician that does not read was never closed")
		}
	}
	contains(t, slow.closeReason(), "viewer is not reading")
	c.send(wire.Ping{Nonce: 1})
	c.expect(wire.TPong)
}

// TestRights: a viewer without the control right sends no input or
// clipboard text even while it holds control, and gets none of the
// customer's clipboard; one without the file right can neither offer nor
// accept a file, and the customer's files never reach it. The frames are
// posted straight to the relay, as a tampered browser would.
func TestRights(t *testing.T) {
	tr := startRelay(t, Config{})
	c := tr.addClient(t, 1)
	viewOnly, _ := tr.Join(1, 10, "Vera", Rights{})
	ctl, _ := tr.Join(1, 11, "Carl", full)
	send := func(v *Viewer, m wire.Message) {
		t.Helper()
		if err := v.Send(encode(m)); err != nil {
			t.Fatal(err)
		}
	}
	// Holding control is not enough without the right.
	tr.SetController(1, 10)
	send(viewOnly, wire.Input{Kind: wire.InputButton, Down: true, Code: 1})
	send(viewOnly, wire.Clipboard{Text: "secret"})
	send(viewOnly, wire.FileOffer{ID: 7, Name: "evil.sh", Size: 3})
	send(viewOnly, wire.FileChunk{ID: 7, Offset: 0, Data: []byte("abc")})
	send(viewOnly, wire.FileAnswer{ID: 9, Accept: true})
	st, _ := tr.Stats(1)
	if st.Drops[DropViewOnly] != 2 || st.Drops[DropNoFiles] != 3 {
		t.Fatalf("drops %+v", st.Drops)
	}
	// The refused offer is answered, so the viewer's page can say why.
	for {
		m := decode(t, nextFrame(t, viewOnly))
		if fc, ok := m.(wire.FileCancel); ok {
			if fc.ID != 7 || !strings.Contains(fc.Reason, "file-transfer permission") {
				t.Fatalf("cancel %#v", fc)
			}
			break
		}
	}
	// The customer's clipboard goes only to the technician in control
	// whom the customer allowed control: not to Dora, who has every right
	// but neither; the file offer reaches every viewer with the file
	// right. A ping then shows nothing else was queued before it.
	dora, _ := tr.Join(1, 12, "Dora", full)
	tr.SetController(1, 11)
	tr.grant(t, c, 11, "control")
	c.send(wire.Clipboard{Text: "from the customer"})
	c.send(wire.FileOffer{ID: 3 | clientFile, Name: "log.txt", Size: 10})
	for _, want := range []wire.Type{wire.TClipboard, wire.TFileOffer} {
		for {
			m := decode(t, nextFrame(t, ctl))
			if m.Type() == want {
				break
			}
		}
	}
	for {
		m := decode(t, nextFrame(t, dora))
		if m.Type() == wire.TClipboard {
			t.Fatal("the customer's clipboard reached a technician not in control")
		}
		if m.Type() == wire.TFileOffer {
			break // after the clipboard in the client's order
		}
	}
	send(viewOnly, wire.Ping{Nonce: 5})
	for {
		m := decode(t, nextFrame(t, viewOnly))
		switch m.Type() {
		case wire.TClipboard, wire.TFileOffer:
			t.Fatalf("a viewer without rights got %#v", m)
		case wire.TPong:
			goto done
		}
	}
done:
	// Only the viewer with the rights gets through to the client, and
	// nothing of the other's did.
	tr.SetController(1, 11)
	c.expect(wire.TConsentAsk)
	tr.grant(t, c, 11, "control")
	in := wire.Input{Kind: wire.InputKey, Down: true, Code: 0x61}
	send(ctl, in)
	if m := c.expect(wire.TInput); m != in {
		t.Fatalf("input %#v", m)
	}
}

// TestConsentPerTechnician: the customer's answers are about one
// technician each. Screen frames reach only technicians allowed to view;
// an answer reaches only the technician it is about; the client hears who
// is watching; joining, leaving, files and clipboard go to the trail.
func TestConsentPerTechnician(t *testing.T) {
	tr := startRelay(t, Config{})
	c := tr.addClient(t, 1)
	ann, _ := tr.Join(1, 10, "Ann", full)
	if m := c.msg(); m.Type() != wire.TPresence {
		t.Fatalf("client got %#v, want who is watching", m)
	}
	bob, _ := tr.Join(1, 11, "Bob", full)
	p := c.expect(wire.TPresence).(wire.Presence)
	for len(p.Viewers) < 2 {
		p = c.expect(wire.TPresence).(wire.Presence)
	}
	if len(p.Viewers) != 2 || p.Viewers[1] != (wire.Present{ID: 11, Name: "Bob"}) {
		t.Fatalf("presence %#v", p)
	}
	for _, want := range []string{"Ann joined=true", "Bob joined=true"} {
		if got := recv(t, tr.obs.trail, "trail"); got != want {
			t.Fatalf("trail %q, want %q", got, want)
		}
	}
	// Bob asks to view: the question names him.
	if err := bob.Send(encode(wire.ConsentAsk{What: "view"})); err != nil {
		t.Fatal(err)
	}
	if m := c.expect(wire.TConsentAsk); m != (wire.ConsentAsk{Technician: "Bob", What: "view", Viewer: 11}) {
		t.Fatalf("ask %#v", m)
	}
	tr.grant(t, c, 10, "view")
	c.send(wire.ConsentReply{Granted: false, What: "view", Viewer: 11})
	recv(t, tr.obs.consent, "consent")
	f := tile(0, 0, []byte{1, 2, 3})
	c.sendRaw(f)
	c.send(wire.FrameEnd{Seq: 1})
	if m := decode(t, nextFrame(t, ann)); m != (wire.ConsentReply{Granted: true, What: "view", Viewer: 10}) {
		t.Fatalf("Ann first got %#v", m)
	}
	if got := nextFrame(t, ann); !bytes.Equal(got, f) {
		t.Fatal("Ann did not get the screen")
	}
	// Bob gets his own answer and no screen frame at all.
	if m := decode(t, nextFrame(t, bob)); m != (wire.ConsentReply{Granted: false, What: "view", Viewer: 11}) {
		t.Fatalf("Bob first got %#v", m)
	}
	if err := bob.Send(encode(wire.Ping{Nonce: 4})); err != nil {
		t.Fatal(err)
	}
	if m := decode(t, nextFrame(t, bob)); m != (wire.Pong{Nonce: 4}) {
		t.Fatalf("Bob, who was refused, got %#v", m)
	}
	// Control handed from Bob to Ann asks the customer about Ann.
	tr.SetController(1, 11)
	tr.SetController(1, 10)
	if m := c.expect(wire.TConsentAsk); m != (wire.ConsentAsk{Technician: "Ann", What: "control", Viewer: 10}) {
		t.Fatalf("hand-over ask %#v", m)
	}
	tr.grant(t, c, 10, "control")
	// A file each way and clipboard text go to the trail (size only).
	ann.Send(encode(wire.FileOffer{ID: 1, Name: "fix.sh", Size: 3}))
	if m := c.expect(wire.TFileOffer); m != (wire.FileOffer{ID: 1, Name: "fix.sh", Size: 3, From: "Ann"}) {
		t.Fatalf("offer to the customer %#v", m)
	}
	ann.Send(encode(wire.FileChunk{ID: 1, Data: []byte("abc")}))
	c.expect(wire.TFileChunk)
	ann.Send(encode(wire.FileDone{ID: 1, SHA256: [32]byte{0xab, 0xcd}}))
	c.expect(wire.TFileDone)
	// An offer with no data, then done: nothing went through, no entry.
	c.send(wire.FileOffer{ID: 2 | clientFile, Name: "empty-claim.txt", Size: 9})
	c.send(wire.FileDone{ID: 2 | clientFile})
	c.send(wire.FileOffer{ID: 1 << 31, Name: "log.txt", Size: 9})
	c.send(wire.FileChunk{ID: 1 << 31, Data: []byte("123456789")})
	c.send(wire.FileDone{ID: 1 << 31, SHA256: [32]byte{0x12, 0x34}})
	ann.Send(encode(wire.Clipboard{Text: "secret text"}))
	c.expect(wire.TClipboard)
	// The client's and the viewer's frames run apart: any order.
	var got []string
	for range 3 {
		got = append(got, recv(t, tr.obs.trail, "trail"))
	}
	slices.Sort(got)
	want := []string{
		`clipboard 11 bytes to customer=true by 10`,
		`file fix.sh 3 bytes to customer=true by "Ann" sha abcd`,
		`file log.txt 9 bytes to customer=false by "" sha 1234`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("trail %q, want %q", got, want)
	}
	bob.Close()
	if got := recv(t, tr.obs.trail, "trail"); got != "Bob joined=false" {
		t.Fatalf("trail %q", got)
	}
	p = c.expect(wire.TPresence).(wire.Presence)
	for p.Controller == 10 && len(p.Viewers) == 2 {
		p = c.expect(wire.TPresence).(wire.Presence) // the one of the hand-over
	}
	if len(p.Viewers) != 1 || p.Controller != 10 {
		t.Fatalf("presence after Bob left %#v", p)
	}
}

// oldHello is a hello of protocol version 1, which Encode no longer makes.
func oldHello() []byte {
	b := encode(wire.Hello{Version: wire.Version, Role: wire.RoleClient, Token: "x", DeviceID: "d"})
	b[wire.HeaderLen] = 1
	return b
}

// TestFileIDsHaveOwners: a technician's file is theirs: another technician
// cannot send chunks, a hash or a cancel for it, the customer's answers
// about it reach its sender only, and nobody offers under the customer's
// ids.
func TestFileIDsHaveOwners(t *testing.T) {
	tr := startRelay(t, Config{})
	c := tr.addClient(t, 1)
	ann, _ := tr.Join(1, 10, "Ann", full)
	bob, _ := tr.Join(1, 11, "Bob", full)
	ann.Send(encode(wire.FileOffer{ID: 7, Name: "fix.sh", Size: 3}))
	c.expect(wire.TFileOffer)
	// Bob's frames under Ann's id go nowhere; his own offer of that id is
	// refused; an offer under a customer's id too.
	bob.Send(encode(wire.FileChunk{ID: 7, Data: []byte("evil")}))
	bob.Send(encode(wire.FileCancel{ID: 7}))
	bob.Send(encode(wire.FileOffer{ID: 7, Name: "other.sh", Size: 1}))
	bob.Send(encode(wire.FileOffer{ID: 9 | clientFile, Name: "spoof.sh", Size: 1}))
	for range 2 {
		for {
			if m, ok := decode(t, nextFrame(t, bob)).(wire.FileCancel); ok {
				if m.ID != 7 && m.ID != 9|clientFile {
					t.Fatalf("cancel %#v", m)
				}
				break
			}
		}
	}
	// The customer accepts: only Ann hears it.
	c.send(wire.FileAnswer{ID: 7, Accept: true})
	for {
		if m, ok := decode(t, nextFrame(t, ann)).(wire.FileAnswer); ok && m.ID == 7 && m.Accept {
			break
		}
	}
	// Routed by then: were Bob to get it, it would be before his pong.
	bob.Send(encode(wire.Ping{Nonce: 2}))
	for {
		m := decode(t, nextFrame(t, bob))
		if _, ok := m.(wire.FileAnswer); ok {
			t.Fatal("Bob got the customer's answer about Ann's file")
		}
		if _, ok := m.(wire.Pong); ok {
			break
		}
	}
	ann.Send(encode(wire.FileChunk{ID: 7, Data: []byte("abc")}))
	if m := c.expect(wire.TFileChunk).(wire.FileChunk); string(m.Data) != "abc" {
		t.Fatalf("the customer got %q: Bob's chunk went through", m.Data)
	}
	if st, _ := tr.Stats(1); st.Drops[DropNoFiles] != 1 {
		t.Fatalf("drops %+v", st.Drops)
	}
}
