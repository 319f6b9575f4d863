// Package wire is the protocol between the customer's client, the
// appliance's relay and native technician tools: length-prefixed frames
// with a type, a versioned hello, and bounded messages for control,
// consent, device info, screen tiles, input, clipboard text and file
// transfer. The relay reads frame headers to route and fan out without
// decoding screen data. It is a leaf: it imports nothing from the
// appliance, so cmd/supportclient can use it.
//
// A frame is
//
//	type u8 | flags u8 | length u32 (big-endian) | payload
//
// and every type has a maximum payload length, checked before anything is
// allocated.
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Version is the protocol version a hello announces. Version 2 made
// consent per technician (ConsentAsk and ConsentReply name the viewer),
// named the sender of a FileOffer, and added Presence. Version 3 added
// Copy, which moves a rectangle of the picture the viewer already has (a
// window dragged, a region scrolled): a version 2 viewer would draw it
// wrong, so the relay refuses version 2 apps and the console's page sends
// the version it speaks when it connects.
const Version = 3

// ALPN is the QUIC application protocol of this wire format.
const ALPN = "switchboard/1"

// Type is the kind of a frame.
type Type uint8

// The frame types.
const (
	THello        Type = 1
	TWelcome      Type = 2
	TClose        Type = 3
	TPing         Type = 4
	TPong         Type = 5
	TDeviceInfo   Type = 10
	TConsentAsk   Type = 11
	TConsentReply Type = 12
	TPresence     Type = 13 // relay → client: who watches, who controls
	TTile         Type = 21
	TFrameEnd     Type = 22
	TFullFrame    Type = 23 // a viewer joined: send every tile again
	TCopy         Type = 24 // move a rectangle of the viewer's picture
	TInput        Type = 30
	TClipboard    Type = 31
	TFileOffer    Type = 40
	TFileAnswer   Type = 41
	TFileChunk    Type = 42
	TFileDone     Type = 43
	TFileCancel   Type = 44
)

// HeaderLen is the size of a frame header.
const HeaderLen = 6

// Maximum payload lengths.
const (
	MaxTile      = 1 << 20
	MaxChunk     = 64 << 10
	MaxClipboard = 256<<10 - HeaderLen // a whole frame fits one 256 KiB data-channel message
	MaxInfo      = 64 << 10
	MaxSmall     = 4 << 10
)

// maxLen is the largest payload each type may carry (0: unknown type).
var maxLen = map[Type]uint32{
	THello: 1 << 10, TWelcome: MaxSmall, TClose: MaxSmall, TPing: 8, TPong: 8,
	TDeviceInfo: MaxInfo, TConsentAsk: MaxSmall, TConsentReply: 32, TPresence: MaxSmall,
	TTile: MaxTile, TFrameEnd: 8, TFullFrame: 0, TCopy: 12,
	TInput: 32, TClipboard: MaxClipboard,
	TFileOffer: MaxSmall, TFileAnswer: 16, TFileChunk: MaxChunk + 16, TFileDone: 40, TFileCancel: MaxSmall,
}

// MaxPayload returns the largest payload a frame of type t may carry, or 0
// for an unknown type.
func MaxPayload(t Type) uint32 { return maxLen[t] }

// Known reports whether t is a frame type of this version.
func Known(t Type) bool { _, ok := maxLen[t]; return ok }

// Frame is one frame: its type, flags and payload.
type Frame struct {
	Type    Type
	Flags   uint8
	Payload []byte
}

// Errors reading frames.
var (
	ErrUnknownType = errors.New("wire: unknown frame type")
	ErrTooLarge    = errors.New("wire: frame larger than its type allows")
	ErrMalformed   = errors.New("wire: malformed message")
)

// ReadFrame reads one frame from r. The payload is read into buf when it
// fits (and allocated otherwise, within the type's bound). An unknown type
// or an oversized length is an error before any payload is read.
func ReadFrame(r io.Reader, buf []byte) (Frame, error) {
	var h [HeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return Frame{}, err
	}
	f := Frame{Type: Type(h[0]), Flags: h[1]}
	n := binary.BigEndian.Uint32(h[2:])
	if !Known(f.Type) {
		return Frame{}, fmt.Errorf("%w %d", ErrUnknownType, f.Type)
	}
	if n > MaxPayload(f.Type) {
		return Frame{}, fmt.Errorf("%w: type %d, %d bytes (at most %d)", ErrTooLarge, f.Type, n, MaxPayload(f.Type))
	}
	if int(n) <= cap(buf) {
		f.Payload = buf[:n]
	} else {
		f.Payload = make([]byte, n)
	}
	if _, err := io.ReadFull(r, f.Payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	return f, nil
}

// AppendFrame appends the encoding of f to b.
func AppendFrame(b []byte, f Frame) ([]byte, error) {
	if !Known(f.Type) {
		return b, fmt.Errorf("%w %d", ErrUnknownType, f.Type)
	}
	if uint64(len(f.Payload)) > uint64(MaxPayload(f.Type)) {
		return b, fmt.Errorf("%w: type %d, %d bytes", ErrTooLarge, f.Type, len(f.Payload))
	}
	b = append(b, byte(f.Type), f.Flags)
	b = binary.BigEndian.AppendUint32(b, uint32(len(f.Payload)))
	return append(b, f.Payload...), nil
}

// WriteFrame writes f to w in one Write.
func WriteFrame(w io.Writer, f Frame) error {
	b, err := AppendFrame(make([]byte, 0, HeaderLen+len(f.Payload)), f)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
