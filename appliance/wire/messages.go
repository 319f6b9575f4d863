package wire

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Roles a hello announces.
const (
	RoleClient     = 1 // the customer's client
	RoleTechnician = 2 // a native technician tool
)

// Limits of message fields.
const (
	MaxToken    = 256
	MaxDeviceID = 64
	MaxReason   = 512
	MaxName     = 255
)

// A Message is a decoded frame payload.
type Message interface {
	// Type is the frame type the message travels in.
	Type() Type
	append(e *enc)
}

// Hello is the first frame on a connection: who speaks and with what
// one-time token.
type Hello struct {
	Version  uint8
	Role     uint8
	Token    string
	DeviceID string
}

// Welcome answers a hello that the relay accepted.
type Welcome struct {
	Session uint64
	// MaxBitsPerSecond is the session's bandwidth cap.
	MaxBitsPerSecond uint64
}

// Close says why the sender ends the connection.
type Close struct {
	Code   uint16
	Reason string
}

// Ping and Pong carry a nonce.
type Ping struct{ Nonce uint64 }

// Pong answers a Ping.
type Pong struct{ Nonce uint64 }

// DeviceInfo is what the client reports before anyone connects.
type DeviceInfo struct {
	OS        string   `json:"os"`
	Version   string   `json:"version"`
	Hostname  string   `json:"hostname"`
	User      string   `json:"user"`
	Addresses []string `json:"addresses"`
	Screens   []Screen `json:"screens"`
	// Capture says whether screen capture works on this OS; when false,
	// Note says why ("screen sharing is not supported on this OS").
	Capture bool   `json:"capture"`
	Note    string `json:"note,omitempty"`
	// Refuses lists the key combinations of the console's menu that this
	// system does not let the app send ("Ctrl-Alt-Del" on Windows, where
	// only the system may).
	Refuses []string `json:"refuses,omitempty"`
	// Transport is how the app reached the box, "quic" or "tcp" (TLS on
	// the HTTPS port, when UDP is blocked); the relay sets it.
	Transport string `json:"transport,omitempty"`
}

// Screen is one display of the customer's machine.
type Screen struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// ConsentAsk asks the person at the keyboard to let a technician in.
// Viewers send it with Viewer 0; the relay fills in Technician (the public
// name) and Viewer (the technician's id) before passing it on, so each
// technician is asked about by name.
type ConsentAsk struct {
	Technician string
	// What is "view" (see the screen), "control" (send input), "files"
	// (exchange files) or "pick-file" (the technician asks the customer to
	// choose a file to send).
	What   string
	Viewer uint64
}

// ConsentReply is the answer for the technician Viewer; a timeout is a
// denial. The relay gives it to that technician only.
type ConsentReply struct {
	Granted bool
	What    string
	Viewer  uint64
}

// MaxPresence bounds the viewers a Presence lists.
const MaxPresence = 32

// Presence tells the client who is in the session, whenever it changes:
// the technicians viewing (each with the customer's answers so far) and
// the one who controls (0: nobody).
type Presence struct {
	Controller uint64
	Viewers    []Present
}

// Present is one technician in a Presence.
type Present struct {
	ID   uint64
	Name string
}

// Tile encodings.
const (
	EncRaw = iota + 1
	EncSolid
	EncPaletteRLE
	EncDeflate
	EncJPEG
)

// Tile is one changed rectangle of the screen.
type Tile struct {
	X, Y, W, H uint16
	Encoding   uint8
	Data       []byte
}

// Copy moves the W×H rectangle at SrcX,SrcY of the picture the viewer
// has to DstX,DstY, as if through a buffer (the two may overlap). It reads
// the picture as the frames before it left it: a frame's copies come
// before its tiles. Both rectangles lie inside the screen; a Copy that
// does not is a protocol error the viewer reports and skips.
type Copy struct {
	SrcX, SrcY, DstX, DstY, W, H uint16
}

// FrameEnd closes a batch of tiles.
type FrameEnd struct{ Seq uint64 }

// FullFrame asks the client for every tile again.
type FullFrame struct{}

// Input kinds.
const (
	InputMove = iota + 1
	InputButton
	InputWheel
	InputKey
)

// Input is one mouse or keyboard event.
type Input struct {
	Kind uint8
	Down bool
	X, Y int32  // position, or wheel deltas
	Code uint32 // button number or X keysym
}

// Clipboard is clipboard text.
type Clipboard struct{ Text string }

// FileOffer proposes a file. From names who offers it: the relay sets it
// to the technician's public name on offers to the client.
type FileOffer struct {
	ID   uint32
	Name string
	Size uint64
	From string
}

// FileAnswer accepts (from Offset, to resume) or refuses an offer.
type FileAnswer struct {
	ID     uint32
	Accept bool
	Offset uint64
}

// FileChunk is a piece of a file at Offset.
type FileChunk struct {
	ID     uint32
	Offset uint64
	Data   []byte
}

// FileDone ends a file with its SHA-256.
type FileDone struct {
	ID     uint32
	SHA256 [32]byte
}

// FileCancel stops a transfer and says why.
type FileCancel struct {
	ID     uint32
	Reason string
}

func (Hello) Type() Type        { return THello }
func (Welcome) Type() Type      { return TWelcome }
func (Close) Type() Type        { return TClose }
func (Ping) Type() Type         { return TPing }
func (Pong) Type() Type         { return TPong }
func (DeviceInfo) Type() Type   { return TDeviceInfo }
func (ConsentAsk) Type() Type   { return TConsentAsk }
func (ConsentReply) Type() Type { return TConsentReply }
func (Presence) Type() Type     { return TPresence }
func (Tile) Type() Type         { return TTile }
func (FrameEnd) Type() Type     { return TFrameEnd }
func (FullFrame) Type() Type    { return TFullFrame }
func (Copy) Type() Type         { return TCopy }
func (Input) Type() Type        { return TInput }
func (Clipboard) Type() Type    { return TClipboard }
func (FileOffer) Type() Type    { return TFileOffer }
func (FileAnswer) Type() Type   { return TFileAnswer }
func (FileChunk) Type() Type    { return TFileChunk }
func (FileDone) Type() Type     { return TFileDone }
func (FileCancel) Type() Type   { return TFileCancel }

func (m Hello) append(e *enc) {
	e.b = append(e.b, 'S', 'W', 'B')
	e.u8(m.Version)
	e.u8(m.Role)
	e.str(m.Token)
	e.str(m.DeviceID)
}
func (m Welcome) append(e *enc)      { e.u64(m.Session); e.u64(m.MaxBitsPerSecond) }
func (m Close) append(e *enc)        { e.u16(m.Code); e.str(m.Reason) }
func (m Ping) append(e *enc)         { e.u64(m.Nonce) }
func (m Pong) append(e *enc)         { e.u64(m.Nonce) }
func (m ConsentAsk) append(e *enc)   { e.str(m.Technician); e.str(m.What); e.u64(m.Viewer) }
func (m ConsentReply) append(e *enc) { e.u8(b2u(m.Granted)); e.str(m.What); e.u64(m.Viewer) }
func (m Presence) append(e *enc) {
	e.u64(m.Controller)
	e.u8(uint8(min(len(m.Viewers), MaxPresence)))
	for _, v := range m.Viewers[:min(len(m.Viewers), MaxPresence)] {
		e.u64(v.ID)
		e.str(v.Name)
	}
}
func (m Tile) append(e *enc) {
	e.u16(m.X)
	e.u16(m.Y)
	e.u16(m.W)
	e.u16(m.H)
	e.u8(m.Encoding)
	e.b = append(e.b, m.Data...)
}
func (m Copy) append(e *enc) {
	e.u16(m.SrcX)
	e.u16(m.SrcY)
	e.u16(m.DstX)
	e.u16(m.DstY)
	e.u16(m.W)
	e.u16(m.H)
}
func (m FrameEnd) append(e *enc)  { e.u64(m.Seq) }
func (m FullFrame) append(e *enc) {}
func (m Input) append(e *enc) {
	e.u8(m.Kind)
	e.u8(b2u(m.Down))
	e.i32(m.X)
	e.i32(m.Y)
	e.u32(m.Code)
}
func (m Clipboard) append(e *enc) { e.b = append(e.b, m.Text...) }
func (m FileOffer) append(e *enc) { e.u32(m.ID); e.str(m.Name); e.u64(m.Size); e.str(m.From) }
func (m FileAnswer) append(e *enc) {
	e.u32(m.ID)
	e.u8(b2u(m.Accept))
	e.u64(m.Offset)
}
func (m FileChunk) append(e *enc) {
	e.u32(m.ID)
	e.u64(m.Offset)
	e.b = append(e.b, m.Data...)
}
func (m FileDone) append(e *enc)   { e.u32(m.ID); e.b = append(e.b, m.SHA256[:]...) }
func (m FileCancel) append(e *enc) { e.u32(m.ID); e.str(m.Reason) }

// DeviceInfo travels as bounded JSON: it grows fields over versions.
func (m DeviceInfo) append(e *enc) {
	b, _ := json.Marshal(m)
	e.b = append(e.b, b...)
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// Encode returns the frame carrying m, checking its bounds.
func Encode(m Message) (Frame, error) {
	var e enc
	m.append(&e)
	f := Frame{Type: m.Type(), Payload: e.b}
	if uint64(len(f.Payload)) > uint64(MaxPayload(f.Type)) {
		return Frame{}, fmt.Errorf("%w: %T is %d bytes", ErrTooLarge, m, len(f.Payload))
	}
	if _, err := Decode(f); err != nil { // what we send must be what we accept
		return Frame{}, err
	}
	return f, nil
}

// Decode parses the payload of f. Every field is bounded and checked; the
// byte slices of Tile and FileChunk alias f.Payload.
func Decode(f Frame) (Message, error) {
	if !Known(f.Type) {
		return nil, fmt.Errorf("%w %d", ErrUnknownType, f.Type)
	}
	if uint64(len(f.Payload)) > uint64(MaxPayload(f.Type)) {
		return nil, ErrTooLarge
	}
	d := &dec{b: f.Payload}
	var m Message
	switch f.Type {
	case THello:
		if magic := d.take(3, "magic"); d.err == nil && string(magic) != "SWB" {
			d.fail("not a Switchboard hello")
		}
		h := Hello{Version: d.u8("version"), Role: d.u8("role"), Token: d.str("token", MaxToken), DeviceID: d.str("device id", MaxDeviceID)}
		if d.err == nil && h.Version != Version {
			d.fail(fmt.Sprintf("version %d is not supported (this side speaks %d)", h.Version, Version))
		}
		if d.err == nil && h.Role != RoleClient && h.Role != RoleTechnician {
			d.fail(fmt.Sprintf("unknown role %d", h.Role))
		}
		m = h
	case TWelcome:
		m = Welcome{Session: d.u64("session"), MaxBitsPerSecond: d.u64("bandwidth")}
	case TClose:
		m = Close{Code: d.u16("code"), Reason: d.str("reason", MaxReason)}
	case TPing:
		m = Ping{Nonce: d.u64("nonce")}
	case TPong:
		m = Pong{Nonce: d.u64("nonce")}
	case TDeviceInfo:
		info, err := decodeInfo(d.rest())
		if err != nil {
			return nil, err
		}
		m = info
	case TConsentAsk:
		c := ConsentAsk{Technician: d.str("technician", MaxName), What: d.str("what", 16), Viewer: d.u64("viewer")}
		checkWhat(d, c.What)
		m = c
	case TConsentReply:
		c := ConsentReply{Granted: d.bool("granted"), What: d.str("what", 16), Viewer: d.u64("viewer")}
		checkWhat(d, c.What)
		m = c
	case TPresence:
		p := Presence{Controller: d.u64("controller")}
		n := int(d.u8("viewers"))
		if d.err == nil && n > MaxPresence {
			d.fail(fmt.Sprintf("%d viewers listed, at most %d", n, MaxPresence))
		}
		for i := 0; i < n && d.err == nil; i++ {
			p.Viewers = append(p.Viewers, Present{ID: d.u64("viewer id"), Name: d.str("viewer name", MaxName)})
		}
		m = p
	case TTile:
		t := Tile{X: d.u16("x"), Y: d.u16("y"), W: d.u16("w"), H: d.u16("h"), Encoding: d.u8("encoding")}
		t.Data = d.rest()
		if d.err == nil && (t.W == 0 || t.H == 0 || t.Encoding < EncRaw || t.Encoding > EncJPEG) {
			d.fail("tile has no area or an unknown encoding")
		}
		m = t
	case TCopy:
		c := Copy{SrcX: d.u16("source x"), SrcY: d.u16("source y"), DstX: d.u16("x"), DstY: d.u16("y"), W: d.u16("w"), H: d.u16("h")}
		if d.err == nil && (c.W == 0 || c.H == 0) {
			d.fail("copy has no area")
		}
		m = c
	case TFrameEnd:
		m = FrameEnd{Seq: d.u64("seq")}
	case TFullFrame:
		m = FullFrame{}
	case TInput:
		in := Input{Kind: d.u8("kind"), Down: d.bool("down"), X: d.i32("x"), Y: d.i32("y"), Code: d.u32("code")}
		if d.err == nil && (in.Kind < InputMove || in.Kind > InputKey) {
			d.fail(fmt.Sprintf("unknown input kind %d", in.Kind))
		}
		m = in
	case TClipboard:
		text := d.rest()
		if !validText(text) {
			d.fail("clipboard text is not UTF-8")
		}
		m = Clipboard{Text: string(text)}
	case TFileOffer:
		o := FileOffer{ID: d.u32("id"), Name: d.str("name", MaxName), Size: d.u64("size"), From: d.str("from", MaxName)}
		if d.err == nil && !safeName(o.Name) {
			d.fail("file name is empty or has a path in it")
		}
		m = o
	case TFileAnswer:
		m = FileAnswer{ID: d.u32("id"), Accept: d.bool("accept"), Offset: d.u64("offset")}
	case TFileChunk:
		c := FileChunk{ID: d.u32("id"), Offset: d.u64("offset")}
		c.Data = d.rest()
		if len(c.Data) > MaxChunk {
			d.fail("file chunk too large")
		}
		m = c
	case TFileDone:
		fd := FileDone{ID: d.u32("id")}
		copy(fd.SHA256[:], d.take(32, "sha256"))
		m = fd
	case TFileCancel:
		m = FileCancel{ID: d.u32("id"), Reason: d.str("reason", MaxReason)}
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return m, nil
}

func checkWhat(d *dec, what string) {
	if d.err == nil && what != "view" && what != "control" && what != "files" && what != "pick-file" {
		d.fail(fmt.Sprintf("consent for %q", what))
	}
}

func validText(b []byte) bool { return utf8.Valid(b) }

// safeName accepts a plain file name: no directories, no dot names, no
// control characters, and no bidirectional controls (U+202A–U+202E,
// U+2066–U+2069, as appliance/text refuses them), which would make
// "invoice\u202Efdp.exe" show as "invoiceexe.pdf".
func safeName(n string) bool {
	if n == "" || n == "." || n == ".." || strings.ContainsAny(n, "/\\\x00") {
		return false
	}
	for _, r := range n {
		if r < 0x20 || r == 0x7f || 0x202A <= r && r <= 0x202E || 0x2066 <= r && r <= 0x2069 {
			return false
		}
	}
	return true
}

// Info bounds.
const (
	maxInfoField = 256
	maxInfoList  = 64
)

func decodeInfo(b []byte) (DeviceInfo, error) {
	var info DeviceInfo
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("%w: device info: %v", ErrMalformed, err)
	}
	fields := append([]string{info.OS, info.Version, info.Hostname, info.User, info.Note, info.Transport}, info.Addresses...)
	for _, s := range append(fields, info.Refuses...) {
		if len(s) > maxInfoField {
			return info, fmt.Errorf("%w: device info field longer than %d bytes", ErrMalformed, maxInfoField)
		}
	}
	if len(info.Addresses) > maxInfoList || len(info.Screens) > maxInfoList || len(info.Refuses) > maxInfoList {
		return info, fmt.Errorf("%w: device info lists more than %d items", ErrMalformed, maxInfoList)
	}
	for _, sc := range info.Screens {
		if sc.Width <= 0 || sc.Height <= 0 || sc.Width > 32768 || sc.Height > 32768 {
			return info, fmt.Errorf("%w: screen %dx%d", ErrMalformed, sc.Width, sc.Height)
		}
	}
	return info, nil
}
