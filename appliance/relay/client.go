package relay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// client is a session's connected client: the reader routes what it sends
// and a writer goroutine, running only while something is queued, drains
// the bounded queue of frames for it.
type client struct {
	r      *Relay
	s      *session
	t      transport
	ctx    context.Context // cancelled when the client closes
	cancel context.CancelFunc
	start  time.Time
	read   atomic.Int64 // time.Since(start) of the last frame read
	idle   *time.Timer
	hdr    [wire.HeaderLen]byte // the reader's
	room   chan struct{}        // the writer took a frame (capacity 1)
	done   chan struct{}        // closed when the client starts closing
	shut   sync.Once

	mu         sync.Mutex
	q          [][]byte // q[head:] waits to be written
	head       int
	bytes      int
	fullQueued bool // a FullFrame waits in q
	writing    bool // the writer goroutine runs
	closing    bool
	code       uint16
	reason     string
}

// fullFrame is the encoded FullFrame request.
var fullFrame = []byte{byte(wire.TFullFrame), 0, 0, 0, 0, 0}

func (r *Relay) serveClient(g Grant, t transport) {
	ctx, cancel := context.WithCancel(r.base)
	c := &client{
		r: r, t: t, ctx: ctx, cancel: cancel, start: time.Now(),
		room: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	defer cancel()
	s, err := r.attach(g.Session, c)
	if err != nil {
		r.refuse(t, CodeRefused, err.Error())
		return
	}
	r.log.Info("client connected", "session", s.id)
	c.pushOwn(encode(wire.Welcome{Session: s.id, MaxBitsPerSecond: r.cfg.SessionBitsPerSecond}))
	s.tellPresence()
	if len(s.viewerList()) > 0 {
		s.askFullFrame()
	}
	c.idle = time.AfterFunc(r.cfg.IdleTimeout, c.checkIdle)
	c.readLoop()
	c.idle.Stop()
	s.detach(c)
	c.mu.Lock()
	reason := c.reason
	c.mu.Unlock()
	r.log.Info("client left", "session", s.id, "reason", reason)
	r.obs.ClientDown(s.id, reason)
}

func (c *client) readLoop() {
	for {
		b, err := readFrame(c.t, &c.hdr, c.wait)
		if err != nil {
			switch {
			case errors.Is(err, wire.ErrUnknownType) || errors.Is(err, wire.ErrTooLarge):
				c.close(CodeProtocol, err.Error())
			case errors.Is(err, io.EOF):
				c.close(CodeLost, "the client closed the connection")
			default:
				c.close(CodeLost, "connection lost: "+err.Error())
			}
			return
		}
		c.read.Store(int64(time.Since(c.start)))
		c.s.countIn(len(b))
		if err := c.s.fromClient(c, b); err != nil {
			if errors.As(err, new(errLeaving)) {
				c.close(CodeNormal, err.Error())
			} else {
				c.close(CodeProtocol, err.Error())
			}
			return
		}
		select {
		case <-c.done:
			return
		default:
		}
	}
}

// wait slows the reader to the session's and the relay's byte rates.
func (c *client) wait(n int) error {
	if err := waitN(c.ctx, c.s.limiter, n); err != nil {
		return err
	}
	return waitN(c.ctx, c.r.global, n)
}

// checkIdle closes a client that sent nothing for the idle timeout.
func (c *client) checkIdle() {
	quiet := time.Since(c.start) - time.Duration(c.read.Load())
	if left := c.r.cfg.IdleTimeout - quiet; left > 0 {
		c.idle.Reset(left)
		return
	}
	c.close(CodeIdle, fmt.Sprintf("idle: the client sent nothing for %v", c.r.cfg.IdleTimeout))
}

// close starts closing the client: what is queued is dropped, a Close
// frame with the reason is written and the connection ends. The first
// reason wins.
func (c *client) close(code uint16, reason string) {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return
	}
	c.closing, c.code, c.reason = true, code, reason
	clear(c.q)
	c.q, c.head, c.bytes, c.fullQueued = c.q[:0], 0, 0, false
	close(c.done)
	// A write blocked on a client that does not read gives up soon.
	c.t.SetWriteDeadline(time.Now().Add(c.r.cfg.CloseGrace))
	c.enqueueLocked(closeFrame(code, reason))
	c.mu.Unlock()
	c.cancel()
}

// pushOwn queues a frame of the relay's own (welcome, pong, full-frame
// request). These do not wait: past the queue's bound (and a little slack)
// the client is closed.
func (c *client) pushOwn(b []byte) {
	c.mu.Lock()
	if c.closing || b == nil {
		c.mu.Unlock()
		return
	}
	if c.bytes+len(b) > c.r.cfg.ClientQueueBytes+64<<10 {
		c.mu.Unlock()
		c.close(CodeSlow, "client is not reading")
		return
	}
	c.enqueueLocked(b)
	c.mu.Unlock()
}

// pushFullFrame queues a full-frame request unless one is waiting already.
func (c *client) pushFullFrame() {
	c.mu.Lock()
	queued := c.fullQueued
	c.fullQueued = true
	c.mu.Unlock()
	if !queued {
		c.pushOwn(fullFrame)
	}
}

// pushWait queues a viewer's frame, waiting while the queue is full. A
// client that makes no room within the write timeout is closed. It reports
// false if the frame was not queued (the client closed, or stop).
func (c *client) pushWait(b []byte, stop <-chan struct{}) bool {
	var timer *time.Timer
	for {
		c.mu.Lock()
		if c.closing {
			c.mu.Unlock()
			return false
		}
		if c.bytes == 0 || c.bytes+len(b) <= c.r.cfg.ClientQueueBytes {
			c.enqueueLocked(b)
			c.mu.Unlock()
			return true
		}
		c.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(c.r.cfg.WriteTimeout)
			defer timer.Stop()
		}
		select {
		case <-c.room:
		case <-c.done:
			return false
		case <-stop:
			return false
		case <-timer.C:
			c.close(CodeSlow, "client is not reading")
			return false
		}
	}
}

// enqueueLocked appends b and starts the writer if it is not running.
func (c *client) enqueueLocked(b []byte) {
	c.q = append(c.q, b)
	c.bytes += len(b)
	if !c.writing {
		c.writing = true
		c.r.wg.Add(1)
		go c.writeLoop()
	}
}

// writeLoop writes what is queued and exits when the queue is empty; once
// the client is closing and its Close frame is out, it ends the connection.
func (c *client) writeLoop() {
	defer c.r.wg.Done()
	var batch []byte
	for {
		c.mu.Lock()
		if c.head == len(c.q) {
			c.q, c.head = c.q[:0], 0
			c.writing = false
			closing := c.closing
			c.mu.Unlock()
			if closing {
				c.shutdown(false)
			}
			return
		}
		// One frame, or several small ones in one write.
		out := c.q[c.head]
		frames, n := 1, len(out)
		c.popLocked()
		if len(out) < 16<<10 && c.head < len(c.q) && len(c.q[c.head]) < 16<<10 {
			batch = append(batch[:0], out...)
			for c.head < len(c.q) && len(c.q[c.head]) < 16<<10 && len(batch) < 64<<10 {
				batch = append(batch, c.q[c.head]...)
				c.popLocked()
				frames++
			}
			out, n = batch, len(batch)
		}
		closing := c.closing
		timeout := c.r.cfg.WriteTimeout
		if closing {
			timeout = c.r.cfg.CloseGrace
		}
		c.t.SetWriteDeadline(time.Now().Add(timeout))
		c.mu.Unlock()
		signal(c.room)

		if _, err := c.t.Write(out); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.close(CodeSlow, "client is not reading")
			} else {
				c.close(CodeLost, "connection lost: "+err.Error())
			}
			// Nothing more gets through: drop the rest, end the connection.
			c.mu.Lock()
			clear(c.q)
			c.q, c.head, c.bytes, c.writing = c.q[:0], 0, 0, false
			c.mu.Unlock()
			c.shutdown(true)
			return
		}
		c.s.countOut(frames, n)
	}
}

func (c *client) popLocked() {
	b := c.q[c.head]
	c.q[c.head] = nil
	c.head++
	c.bytes -= len(b)
	if len(b) == len(fullFrame) && wire.Type(b[0]) == wire.TFullFrame {
		c.fullQueued = false
	}
}

func (c *client) shutdown(abrupt bool) {
	c.shut.Do(func() {
		c.mu.Lock()
		code, reason := c.code, c.reason
		c.mu.Unlock()
		c.t.shutdown(code, reason, abrupt)
	})
}
