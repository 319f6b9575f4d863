package relay

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// memTransport is a peer in memory: it reads from r and discards writes.
type memTransport struct {
	io.Reader
}

func (memTransport) Write(p []byte) (int, error)      { return len(p), nil }
func (memTransport) SetReadDeadline(time.Time) error  { return nil }
func (memTransport) SetWriteDeadline(time.Time) error { return nil }
func (memTransport) shutdown(uint16, string, bool)    {}
func (memTransport) kind() string                     { return "memory" }

// fuzzRelay is a relay with one viewer on session 1 and a reusable client
// token "fuzz" for it.
func fuzzRelay(t testing.TB) (*Relay, *Viewer) {
	auth := newAuthority()
	auth.add("fuzz", testToken{grant: Grant{Session: 1}, role: wire.RoleClient})
	r := New(Config{ViewerScreenBytes: 64 << 10, ViewerOtherBytes: 256 << 10, WriteTimeout: time.Millisecond}, auth, nil)
	v, err := r.Join(1, 10, "Ann", full)
	if err != nil {
		t.Fatal(err)
	}
	r.SetController(1, 10)
	return r, v
}

// drain takes what the viewer holds and checks that wire accepts every
// frame (tiles by their header only).
func drain(t testing.TB, v *Viewer) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for {
		b, err := v.Next(ctx)
		if err != nil {
			return
		}
		if err := checkHeader(b); err != nil {
			t.Fatalf("relay forwarded a bad frame: %v", err)
		}
		if wire.Type(b[0]) == wire.TTile {
			continue
		}
		if _, err := wire.Decode(wire.Frame{Type: wire.Type(b[0]), Flags: b[1], Payload: b[wire.HeaderLen:]}); err != nil {
			t.Fatalf("relay forwarded a frame wire refuses: %v", err)
		}
	}
}

// FuzzServe feeds arbitrary bytes as a client's stream after a valid hello.
func FuzzServe(f *testing.F) {
	for _, seed := range [][]byte{
		nil,
		encode(wire.Ping{Nonce: 1}),
		append(encode(wire.DeviceInfo{OS: "linux", Capture: true}), encode(wire.ConsentReply{Granted: true, What: "view"})...),
		append(tile(0, 0, []byte{1, 2, 3}), encode(wire.FrameEnd{Seq: 1})...),
		encode(wire.FileChunk{ID: 1, Data: []byte("data")}),
		{byte(wire.TTile), 0, 0xff, 0xff, 0xff, 0xff},
		{99, 0, 0, 0, 0, 0},
	} {
		f.Add(seed)
	}
	hello := encode(wire.Hello{Version: wire.Version, Role: wire.RoleClient, Token: "fuzz", DeviceID: "d"})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, v := fuzzRelay(t)
		if r.enter() {
			r.serve(context.Background(), memTransport{io.MultiReader(bytes.NewReader(hello), bytes.NewReader(data))})
			r.wg.Done()
		}
		drain(t, v)
		r.Close()
	})
}

// FuzzViewerSend feeds arbitrary frames from a viewer.
func FuzzViewerSend(f *testing.F) {
	for _, seed := range [][]byte{
		encode(wire.Input{Kind: wire.InputMove, X: 1}),
		encode(wire.ConsentAsk{Technician: "x", What: "control"}),
		encode(wire.FileOffer{ID: 1, Name: "a.txt", Size: 3}),
		encode(wire.FullFrame{}),
		encode(wire.Ping{Nonce: 2}),
		tile(0, 0, []byte{1}),
		{byte(wire.TInput), 0, 0, 0, 0},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, v := fuzzRelay(t)
		// Send may take any bytes; frames are also cut from data as a stream.
		v.Send(data)
		var hdr [wire.HeaderLen]byte
		rd := bytes.NewReader(data)
		for {
			b, err := readFrame(rd, &hdr, nil)
			if err != nil {
				break
			}
			v.Send(b)
		}
		drain(t, v)
		r.Close()
	})
}
