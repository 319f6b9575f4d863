package wire

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// samples has one valid message of every type.
var samples = []Message{
	Hello{Version: Version, Role: RoleClient, Token: "tok-123", DeviceID: "dev-1"},
	Welcome{Session: 42, MaxBitsPerSecond: 8_000_000},
	Close{Code: 3, Reason: "consent denied"},
	Ping{Nonce: 7},
	Pong{Nonce: 7},
	DeviceInfo{OS: "linux", Version: "Debian 12", Hostname: "pc-1", User: "cleo", Addresses: []string{"192.0.2.5"}, Screens: []Screen{{1920, 1080}}, Capture: true},
	ConsentAsk{Technician: "Ann from IT", What: "control", Viewer: 7},
	ConsentReply{Granted: true, What: "control", Viewer: 7},
	Presence{Controller: 7, Viewers: []Present{{ID: 7, Name: "Ann from IT"}, {ID: 9, Name: "Bob"}}},
	Tile{X: 64, Y: 128, W: 64, H: 64, Encoding: EncDeflate, Data: []byte{1, 2, 3}},
	FrameEnd{Seq: 9},
	FullFrame{},
	Copy{SrcX: 10, SrcY: 20, DstX: 0, DstY: 2, W: 640, H: 400},
	Input{Kind: InputButton, Down: true, X: 10, Y: -3, Code: 1},
	Clipboard{Text: "héllo"},
	FileOffer{ID: 1, Name: "report.pdf", Size: 1 << 20, From: "Ann from IT"},
	FileAnswer{ID: 1, Accept: true, Offset: 65536},
	FileChunk{ID: 1, Offset: 65536, Data: bytes.Repeat([]byte{7}, 100)},
	FileDone{ID: 1, SHA256: [32]byte{1, 2}},
	FileCancel{ID: 1, Reason: "disk full"},
}

func TestRoundTrip(t *testing.T) {
	var stream bytes.Buffer
	for _, m := range samples {
		f, err := Encode(m)
		if err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		if err := WriteFrame(&stream, f); err != nil {
			t.Fatal(err)
		}
	}
	if len(samples) != len(maxLen) {
		t.Fatalf("%d samples for %d frame types", len(samples), len(maxLen))
	}
	buf := make([]byte, 4096)
	for _, want := range samples {
		f, err := ReadFrame(&stream, buf)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decode(f)
		if err != nil {
			t.Fatalf("%T: %v", want, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("got %#v, want %#v", got, want)
		}
	}
	if _, err := ReadFrame(&stream, buf); err != io.EOF {
		t.Fatalf("after the last frame: %v", err)
	}
}

func TestBadFrames(t *testing.T) {
	frame := func(typ Type, n uint32, payload []byte) []byte {
		b := []byte{byte(typ), 0, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
		return append(b, payload...)
	}
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"unknown type", frame(99, 0, nil), ErrUnknownType},
		{"huge tile", frame(TTile, MaxTile+1, nil), ErrTooLarge},
		{"huge hello", frame(THello, 1<<31, nil), ErrTooLarge},
		{"cut payload", frame(TPing, 8, []byte{1, 2}), io.ErrUnexpectedEOF},
		{"cut header", []byte{1, 0, 0}, io.ErrUnexpectedEOF},
	}
	for _, c := range cases {
		_, err := ReadFrame(bytes.NewReader(c.in), nil)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestBadMessages(t *testing.T) {
	hello := func(mut func(*Hello)) Frame {
		h := Hello{Version: Version, Role: RoleClient, Token: "t"}
		mut(&h)
		var e enc
		h.append(&e)
		return Frame{Type: THello, Payload: e.b}
	}
	cases := map[string]Frame{
		"wrong version":   hello(func(h *Hello) { h.Version = 1 }),
		"many present":    {Type: TPresence, Payload: append(make([]byte, 8), MaxPresence+1)},
		"unknown role":    hello(func(h *Hello) { h.Role = 9 }),
		"long token":      hello(func(h *Hello) { h.Token = strings.Repeat("x", MaxToken+1) }),
		"not a hello":     {Type: THello, Payload: []byte("GET / HTTP/1.1\r\n")},
		"trailing bytes":  {Type: TFileAnswer, Payload: append(mustEncodeRaw(FileAnswer{ID: 1}).Payload, 0)},
		"path in name":    mustEncodeRaw(FileOffer{ID: 1, Name: "../../etc/passwd", Size: 1}),
		"reversed name":   mustEncodeRaw(FileOffer{ID: 1, Name: "invoice\u202Efdp.exe", Size: 1}),
		"empty tile":      mustEncodeRaw(Tile{W: 0, H: 4, Encoding: EncRaw}),
		"bad encoding":    mustEncodeRaw(Tile{W: 1, H: 1, Encoding: 77}),
		"empty copy":      mustEncodeRaw(Copy{W: 5}),
		"short copy":      {Type: TCopy, Payload: make([]byte, 10)},
		"bad input":       mustEncodeRaw(Input{Kind: 9}),
		"bad clipboard":   {Type: TClipboard, Payload: []byte{0xff, 0xfe}},
		"consent for":     mustEncodeRaw(ConsentAsk{Technician: "x", What: "everything"}),
		"huge screen":     {Type: TDeviceInfo, Payload: []byte(`{"screens":[{"width":99999,"height":1}]}`)},
		"bad json":        {Type: TDeviceInfo, Payload: []byte(`{"os":`)},
		"long info field": {Type: TDeviceInfo, Payload: []byte(`{"hostname":"` + strings.Repeat("h", 300) + `"}`)},
	}
	for name, f := range cases {
		if _, err := Decode(f); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	if _, err := Encode(FileOffer{ID: 1, Name: "a/b"}); err == nil {
		t.Error("Encode sent what Decode refuses")
	}
}

func TestTrailingBytesRefused(t *testing.T) {
	f, _ := Encode(Ping{Nonce: 1})
	f.Payload = append(f.Payload, 0)
	if _, err := Decode(f); !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrMalformed) {
		t.Fatalf("ping with a spare byte: %v", err)
	}
}

// mustEncodeRaw encodes m without Encode's checks, to build bad input.
func mustEncodeRaw(m Message) Frame {
	var e enc
	m.append(&e)
	return Frame{Type: m.Type(), Payload: e.b}
}

func FuzzReadFrame(f *testing.F) {
	for _, m := range samples {
		fr, _ := Encode(m)
		b, _ := AppendFrame(nil, fr)
		f.Add(b)
	}
	f.Add([]byte{21, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		for {
			fr, err := ReadFrame(r, nil)
			if err != nil {
				return
			}
			if uint64(len(fr.Payload)) > uint64(MaxPayload(fr.Type)) {
				t.Fatalf("type %d payload %d over its bound", fr.Type, len(fr.Payload))
			}
			m, err := Decode(fr)
			if err != nil {
				continue
			}
			// What decodes must encode back to the same bytes, except JSON.
			if fr.Type == TDeviceInfo {
				continue
			}
			again, err := Encode(m)
			if err != nil || !bytes.Equal(again.Payload, fr.Payload) {
				t.Fatalf("%T does not round-trip: %v", m, err)
			}
		}
	})
}
