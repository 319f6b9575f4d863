package relay

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/quic-go/quic-go"
	"golang.org/x/time/rate"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// transport is one peer's byte stream: a QUIC stream, or memory in tests
// and fuzzing.
type transport interface {
	io.ReadWriter
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
	// shutdown ends the connection; unless abrupt (a write failed, so the
	// stream may end inside a frame) it first lets what was written arrive.
	// It is called at most once per peer.
	shutdown(code uint16, reason string, abrupt bool)
	// kind is how the peer reached the box: TransportQUIC or TransportTCP.
	kind() string
}

// How a peer reached the box (DeviceInfo.Transport).
const (
	TransportQUIC = "quic"
	TransportTCP  = "tcp" // TLS over TCP on the HTTPS port: UDP was blocked or slow
)

// quicTransport is a QUIC connection's one stream.
type quicTransport struct {
	conn  *quic.Conn
	st    *quic.Stream
	grace time.Duration
}

func (t *quicTransport) Read(p []byte) (int, error)         { return t.st.Read(p) }
func (t *quicTransport) Write(p []byte) (int, error)        { return t.st.Write(p) }
func (t *quicTransport) SetReadDeadline(d time.Time) error  { return t.st.SetReadDeadline(d) }
func (t *quicTransport) SetWriteDeadline(d time.Time) error { return t.st.SetWriteDeadline(d) }

// shutdown finishes the stream and gives the peer the grace period to read
// the Close frame and hang up; then the connection is closed with the code
// and reason, which the peer sees as an application error.
func (t *quicTransport) shutdown(code uint16, reason string, abrupt bool) {
	if !abrupt {
		t.st.Close()
		timer := time.NewTimer(t.grace)
		select {
		case <-t.conn.Context().Done():
		case <-timer.C:
		}
		timer.Stop()
	}
	t.conn.CloseWithError(quic.ApplicationErrorCode(code), truncate(reason, wire.MaxReason))
}

func (t *quicTransport) kind() string { return TransportQUIC }

// tlsTransport is a TLS connection on the HTTPS port, for peers whose
// network blocks UDP. The wire is the same; only the ending differs: TCP
// has no error code to close with, so the Close frame is all the peer
// learns.
type tlsTransport struct {
	conn  *tls.Conn
	grace time.Duration
	gone  chan struct{} // closed when a read fails: the peer hung up
	once  sync.Once
}

func newTLSTransport(conn *tls.Conn, grace time.Duration) *tlsTransport {
	return &tlsTransport{conn: conn, grace: grace, gone: make(chan struct{})}
}

func (t *tlsTransport) Read(p []byte) (int, error) {
	n, err := t.conn.Read(p)
	if err != nil {
		t.once.Do(func() { close(t.gone) })
	}
	return n, err
}
func (t *tlsTransport) Write(p []byte) (int, error)        { return t.conn.Write(p) }
func (t *tlsTransport) SetReadDeadline(d time.Time) error  { return t.conn.SetReadDeadline(d) }
func (t *tlsTransport) SetWriteDeadline(d time.Time) error { return t.conn.SetWriteDeadline(d) }
func (t *tlsTransport) kind() string                       { return TransportTCP }

// shutdown sends close_notify after what was written, gives the peer the
// grace period to read it and hang up (seen by the reader), and closes.
func (t *tlsTransport) shutdown(code uint16, reason string, abrupt bool) {
	if !abrupt {
		t.conn.SetWriteDeadline(time.Now().Add(t.grace))
		if t.conn.CloseWrite() == nil {
			timer := time.NewTimer(t.grace)
			select {
			case <-t.gone:
			case <-timer.C:
			}
			timer.Stop()
		}
	}
	t.conn.Close()
}

// readFrame reads one frame, checking its header against the wire bounds
// before anything is allocated, and returns it encoded (header and
// payload) in a slice of its own. wait, if not nil, is called with the
// frame's size before its payload is read.
func readFrame(r io.Reader, hdr *[wire.HeaderLen]byte, wait func(n int) error) ([]byte, error) {
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	t := wire.Type(hdr[0])
	n := binary.BigEndian.Uint32(hdr[2:])
	if !wire.Known(t) {
		return nil, fmt.Errorf("%w %d", wire.ErrUnknownType, t)
	}
	if n > wire.MaxPayload(t) {
		return nil, fmt.Errorf("%w: %s frame of %d bytes (at most %d)", wire.ErrTooLarge, typeName(t), n, wire.MaxPayload(t))
	}
	if wait != nil {
		if err := wait(wire.HeaderLen + int(n)); err != nil {
			return nil, err
		}
	}
	b := make([]byte, wire.HeaderLen+int(n))
	copy(b, hdr[:])
	if _, err := io.ReadFull(r, b[wire.HeaderLen:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b, nil
}

// waitN takes n bytes from l (nil: no limit) in pieces of at most its burst.
func waitN(ctx context.Context, l *rate.Limiter, n int) error {
	if l == nil {
		return nil
	}
	for n > 0 {
		k := min(n, l.Burst())
		if err := l.WaitN(ctx, k); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// serveTechnician serves a native technician tool as a viewer: a pump
// goroutine writes what the viewer's queue holds, this one reads.
func (r *Relay) serveTechnician(g Grant, t transport) {
	v, err := r.join(g.Session, g.Viewer, g.Name, g.Rights)
	if err != nil {
		r.refuse(t, CodeShutdown, "the appliance is shutting down: try again in a minute")
		return
	}
	r.log.Info("technician connected", "session", g.Session, "viewer", g.Viewer)
	t.SetWriteDeadline(time.Now().Add(r.cfg.WriteTimeout))
	if _, err := t.Write(encode(wire.Welcome{Session: g.Session, MaxBitsPerSecond: r.cfg.SessionBitsPerSecond})); err != nil {
		v.Close()
		t.shutdown(CodeLost, "connection lost", true)
		return
	}
	v.s.countOut(1, wire.HeaderLen+16)
	pumped := make(chan struct{})
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(pumped)
		r.pump(v, t)
	}()
	var hdr [wire.HeaderLen]byte
	for {
		b, err := readFrame(t, &hdr, nil)
		if err != nil {
			switch {
			case errors.Is(err, wire.ErrUnknownType) || errors.Is(err, wire.ErrTooLarge):
				v.closeWith(CodeProtocol, err.Error())
			case errors.Is(err, io.EOF):
				v.closeWith(CodeLost, "the technician closed the connection")
			default:
				v.closeWith(CodeLost, "connection lost: "+err.Error())
			}
			break
		}
		if v.send(b) != nil || v.isClosed() {
			break
		}
	}
	<-pumped
	r.log.Info("technician left", "session", g.Session, "viewer", g.Viewer, "reason", v.closeReason())
}

// pump writes the viewer's frames to t until the viewer closes, then ends
// the connection.
func (r *Relay) pump(v *Viewer, t transport) {
	broken := false
	for {
		b, err := v.Next(r.base)
		if err != nil {
			break
		}
		t.SetWriteDeadline(time.Now().Add(r.cfg.WriteTimeout))
		if _, err := t.Write(b); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				v.closeWith(CodeSlow, "viewer is not reading")
			} else {
				v.closeWith(CodeLost, "connection lost: "+err.Error())
			}
			broken = true
			break
		}
	}
	v.mu.Lock()
	code, reason := v.code, v.reason
	v.mu.Unlock()
	if reason == "" {
		reason = "goodbye"
	}
	t.shutdown(code, reason, broken)
}

func (v *Viewer) isClosed() bool {
	select {
	case <-v.done:
		return true
	default:
		return false
	}
}

func (v *Viewer) closeReason() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.reason
}

// encode returns the frame of a message the relay builds; nil if it does
// not fit (callers drop nil frames).
func encode(m wire.Message) []byte {
	f, err := wire.Encode(m)
	if err != nil {
		return nil
	}
	b, err := wire.AppendFrame(nil, f)
	if err != nil {
		return nil
	}
	return b
}

func closeFrame(code uint16, reason string) []byte {
	return encode(wire.Close{Code: code, Reason: truncate(reason, wire.MaxReason)})
}

func consentFrame(granted bool, what string, viewer uint64) []byte {
	return encode(wire.ConsentReply{Granted: granted, What: what, Viewer: viewer})
}

// truncate returns s as valid UTF-8 of at most n bytes, cut at a rune.
func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

var typeNames = map[wire.Type]string{
	wire.THello: "Hello", wire.TWelcome: "Welcome", wire.TClose: "Close", wire.TPing: "Ping", wire.TPong: "Pong",
	wire.TDeviceInfo: "DeviceInfo", wire.TConsentAsk: "ConsentAsk", wire.TConsentReply: "ConsentReply", wire.TPresence: "Presence",
	wire.TTile: "Tile", wire.TFrameEnd: "FrameEnd", wire.TFullFrame: "FullFrame", wire.TCopy: "Copy",
	wire.TInput: "Input", wire.TClipboard: "Clipboard",
	wire.TFileOffer: "FileOffer", wire.TFileAnswer: "FileAnswer", wire.TFileChunk: "FileChunk",
	wire.TFileDone: "FileDone", wire.TFileCancel: "FileCancel",
}

func typeName(t wire.Type) string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("type %d", t)
}
