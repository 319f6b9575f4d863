package relay

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// Viewer is one technician's view of a session: in-process (Join) or a
// native tool's QUIC connection. Frames for it wait in a bounded queue that
// Next takes from; frames from it go in through Send.
type Viewer struct {
	s      *session
	id     uint64 // technician id
	name   string
	rights Rights
	// viewing is set while the customer allows this technician to see
	// the screen: only then are screen frames queued for it.
	viewing atomic.Bool

	ready chan struct{} // a frame was queued or the viewer closed (capacity 1)
	room  chan struct{} // Next took a frame (capacity 1)
	done  chan struct{} // closed when the viewer closes

	mu       sync.Mutex
	q        []item // queue[head:] is waiting
	head     int
	screen   int  // bytes of queued screen frames
	other    int  // bytes of queued other frames
	resync   bool // screen frames were dropped: drop more until it caught up
	closed   bool
	code     uint16
	reason   string
	err      error // what Next returns once the queue is empty after closing
	lastFull time.Time
}

type item struct {
	b      []byte
	screen bool
}

func newViewer(s *session, id uint64, name string, rights Rights) *Viewer {
	return &Viewer{
		s: s, id: id, name: name, rights: rights,
		ready: make(chan struct{}, 1),
		room:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Next returns the next encoded frame for this viewer, waiting for one. The
// slice is shared with other viewers and must not be modified. After the
// relay closed the viewer, Next returns a Close frame saying why and then
// an error wrapping ErrClosed.
func (v *Viewer) Next(ctx context.Context) ([]byte, error) {
	for {
		v.mu.Lock()
		if v.head < len(v.q) {
			it := v.q[v.head]
			v.q[v.head] = item{}
			v.head++
			if it.screen {
				v.screen -= len(it.b)
			} else {
				v.other -= len(it.b)
			}
			if v.head == len(v.q) {
				v.q, v.head = v.q[:0], 0
			} else if v.head > 64 && v.head*2 > len(v.q) {
				n := copy(v.q, v.q[v.head:])
				clear(v.q[n:])
				v.q, v.head = v.q[:n], 0
			}
			resync := v.caughtUpLocked()
			v.mu.Unlock()
			signal(v.room)
			if resync {
				v.s.askFullFrame()
			}
			v.s.countOut(1, len(it.b))
			return it.b, nil
		}
		if v.closed {
			err := v.err
			v.mu.Unlock()
			return nil, err
		}
		resync := v.caughtUpLocked()
		v.mu.Unlock()
		if resync {
			v.s.askFullFrame()
		}
		select {
		case <-v.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// caughtUpLocked reports, once, that a viewer that lost screen frames has
// emptied its queue: it is time for a full frame.
func (v *Viewer) caughtUpLocked() bool {
	if v.resync && v.head == len(v.q) && !v.closed {
		v.resync = false
		return true
	}
	return false
}

// Send routes one encoded frame from the viewer: input and clipboard text
// (from the controller only), consent questions, full-frame requests, file
// frames and pings. It waits while the client's queue is full. A frame the
// protocol does not allow closes the viewer and is returned as an error;
// frames dropped by rule (view only, no client) are not errors. Send does
// not keep frame.
func (v *Viewer) Send(frame []byte) error {
	return v.send(append([]byte(nil), frame...))
}

// send is Send for a frame the viewer gives away.
func (v *Viewer) send(b []byte) error {
	select {
	case <-v.done:
		v.mu.Lock()
		err := v.err
		v.mu.Unlock()
		return err
	default:
	}
	if err := checkHeader(b); err != nil {
		v.closeWith(CodeProtocol, err.Error())
		return err
	}
	if err := v.s.fromViewer(v, b); err != nil {
		var bye errLeaving
		if errors.As(err, &bye) {
			v.Close()
			return nil
		}
		v.closeWith(CodeProtocol, err.Error())
		return err
	}
	return nil
}

// checkHeader checks that b is exactly one frame within its type's bound.
func checkHeader(b []byte) error {
	if len(b) < wire.HeaderLen {
		return fmt.Errorf("%w: %d bytes are not a frame", wire.ErrMalformed, len(b))
	}
	t := wire.Type(b[0])
	if !wire.Known(t) {
		return fmt.Errorf("%w %d", wire.ErrUnknownType, t)
	}
	n := binary.BigEndian.Uint32(b[2:wire.HeaderLen])
	if n > wire.MaxPayload(t) {
		return fmt.Errorf("%w: %s frame of %d bytes (at most %d)", wire.ErrTooLarge, typeName(t), n, wire.MaxPayload(t))
	}
	if int(n) != len(b)-wire.HeaderLen {
		return fmt.Errorf("%w: header says %d bytes, %d follow", wire.ErrMalformed, n, len(b)-wire.HeaderLen)
	}
	return nil
}

// Close leaves the session. It is safe to call twice.
func (v *Viewer) Close() {
	v.closeWith(CodeNormal, "")
}

// closeWith closes the viewer. With a reason, the viewer's queue is
// replaced by a Close frame carrying it.
func (v *Viewer) closeWith(code uint16, reason string) {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return
	}
	v.closed, v.code, v.reason = true, code, reason
	clear(v.q)
	v.q, v.head, v.screen, v.other = v.q[:0], 0, 0, 0
	if reason != "" {
		v.err = fmt.Errorf("%w: %s", ErrClosed, reason)
		v.q = append(v.q, item{b: closeFrame(code, reason)})
	} else {
		v.err = ErrClosed
	}
	close(v.done)
	v.mu.Unlock()
	signal(v.ready)
	v.s.leave(v)
	v.s.r.log.Debug("viewer left", "session", v.s.id, "viewer", v.id, "reason", reason)
}

// pushScreen queues a screen frame. When the screen frames would exceed
// their bound they are all dropped, and so is every screen frame until the
// viewer has emptied its queue; then it is sent a full frame.
func (v *Viewer) pushScreen(b []byte) {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return
	}
	if v.resync {
		v.mu.Unlock()
		v.s.countDrop(dropSlowViewer, 1)
		return
	}
	if v.screen > 0 && v.screen+len(b) > v.s.r.cfg.ViewerScreenBytes {
		dropped := 1
		kept := v.q[:v.head]
		for _, it := range v.q[v.head:] {
			if it.screen {
				dropped++
			} else {
				kept = append(kept, it)
			}
		}
		clear(v.q[len(kept):])
		v.q, v.screen, v.resync = kept, 0, true
		v.mu.Unlock()
		v.s.countDrop(dropSlowViewer, dropped)
		return
	}
	v.q = append(v.q, item{b: b, screen: true})
	v.screen += len(b)
	v.mu.Unlock()
	signal(v.ready)
}

// pushOther queues a frame that is not a screen frame and reports false if
// the viewer's bound for them is exceeded (the caller closes it). With
// wait, it first waits while the queue is half full, until stop, the
// viewer closing or the write timeout.
func (v *Viewer) pushOther(b []byte, wait bool, stop <-chan struct{}) bool {
	if b == nil {
		return true
	}
	limit := v.s.r.cfg.ViewerOtherBytes
	var timer *time.Timer
	for {
		v.mu.Lock()
		if v.closed {
			v.mu.Unlock()
			return true
		}
		if !wait || v.other == 0 || v.other+len(b) <= limit/2 {
			break
		}
		v.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(v.s.r.cfg.WriteTimeout)
			defer timer.Stop()
		}
		select {
		case <-v.room:
		case <-v.done:
		case <-stop:
			return true
		case <-timer.C:
			return false
		}
	}
	if v.other > 0 && v.other+len(b) > limit {
		v.mu.Unlock()
		return false
	}
	v.q = append(v.q, item{b: b})
	v.other += len(b)
	v.mu.Unlock()
	signal(v.ready)
	return true
}

// queued returns the bytes waiting for the viewer.
func (v *Viewer) queued() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.screen + v.other
}
