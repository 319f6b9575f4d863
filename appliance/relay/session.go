package relay

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// session is one desk session's client and viewers. It lives while either
// is connected (or until End).
type session struct {
	r          *Relay
	id         uint64
	limiter    *rate.Limiter // the session's cap on client bytes; nil: none
	controller atomic.Uint64 // technician who may send input; 0: nobody
	ctr        counters

	// viewers is the copy-on-write list the client's reader fans out to
	// without taking mu.
	viewers atomic.Pointer[[]*Viewer]
	// cl is the connected client, for viewers' frames.
	cl atomic.Pointer[client]

	mu       sync.Mutex // membership (with Relay.mu held first) and state
	client   *client
	info     []byte            // the client's last DeviceInfo frame
	consents map[string][]byte // What → the client's last ConsentReply frame
}

func (s *session) viewerList() []*Viewer {
	if l := s.viewers.Load(); l != nil {
		return *l
	}
	return nil
}

// sessionLocked returns the live session id, creating it. r.mu is held.
func (r *Relay) sessionLocked(id uint64) *session {
	s := r.sessions[id]
	if s == nil {
		s = &session{r: r, id: id, limiter: newLimiter(r.cfg.SessionBitsPerSecond)}
		s.controller.Store(r.controllers[id])
		r.sessions[id] = s
	}
	return s
}

// forgetLocked drops the session from the relay when nobody is left in it.
// r.mu and s.mu are held.
func (r *Relay) forgetLocked(s *session) {
	if s.client == nil && len(s.viewerList()) == 0 && r.sessions[s.id] == s {
		delete(r.sessions, s.id)
	}
}

func (r *Relay) join(id, viewerID uint64, name string, rights Rights) (*Viewer, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrRelayClosed
	}
	s := r.sessionLocked(id)
	v := newViewer(s, viewerID, name, rights)
	s.mu.Lock()
	list := append(append([]*Viewer(nil), s.viewerList()...), v)
	s.viewers.Store(&list)
	// The state the viewer missed, queued under s.mu so that no newer
	// device info or consent answer can overtake it.
	if s.info != nil {
		v.pushOther(s.info, false, nil)
	}
	for _, f := range s.consents {
		v.pushOther(f, false, nil)
	}
	s.mu.Unlock()
	r.mu.Unlock()
	r.log.Debug("viewer joined", "session", id, "viewer", viewerID)
	s.askFullFrame()
	return v, nil
}

// leave removes v from its session.
func (s *session) leave(v *Viewer) {
	s.r.mu.Lock()
	s.mu.Lock()
	old := s.viewerList()
	list := make([]*Viewer, 0, len(old))
	for _, o := range old {
		if o != v {
			list = append(list, o)
		}
	}
	s.viewers.Store(&list)
	s.r.forgetLocked(s)
	s.mu.Unlock()
	s.r.mu.Unlock()
}

// attach makes c the session's client unless it has one.
func (r *Relay) attach(id uint64, c *client) (*session, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errors.New("the appliance is shutting down: try again in a minute")
	}
	s := r.sessionLocked(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		return nil, errors.New("this session already has a connected client")
	}
	c.s = s
	s.client = c
	s.cl.Store(c)
	return s, nil
}

// detach removes c from its session. Consents granted to it no longer hold:
// every viewer is told they are withdrawn.
func (s *session) detach(c *client) {
	var closing []*Viewer
	s.r.mu.Lock()
	s.mu.Lock()
	if s.client == c {
		s.client = nil
		s.cl.Store(nil)
		for what, f := range s.consents {
			if f[wire.HeaderLen] == 1 { // granted
				closing = append(closing, s.broadcastLocked(consentFrame(false, what))...)
			}
		}
		s.consents = nil
		s.info = nil
	}
	s.r.forgetLocked(s)
	s.mu.Unlock()
	s.r.mu.Unlock()
	for _, v := range closing {
		v.closeWith(CodeSlow, "viewer too slow")
	}
}

// end closes the client and every viewer with reason.
func (s *session) end(code uint16, reason string) {
	s.mu.Lock()
	c := s.client
	s.mu.Unlock()
	if c != nil {
		c.close(code, reason)
	}
	for _, v := range s.viewerList() {
		v.closeWith(code, reason)
	}
}

// askFullFrame asks the client, if any, for every tile again; requests
// coalesce while one is waiting in the client's queue.
func (s *session) askFullFrame() {
	if c := s.cl.Load(); c != nil {
		c.pushFullFrame()
	}
}

// fanScreen queues a screen frame for every viewer.
func (s *session) fanScreen(b []byte) {
	for _, v := range s.viewerList() {
		v.pushScreen(b)
	}
}

// broadcastLocked queues a non-screen frame for every viewer and returns
// the viewers whose queue overflowed, to be closed once the locks are
// released.
func (s *session) broadcastLocked(b []byte) []*Viewer {
	var over []*Viewer
	for _, v := range s.viewerList() {
		if !v.pushOther(b, false, nil) {
			over = append(over, v)
		}
	}
	return over
}

// broadcastTo queues a non-screen frame for every viewer whose rights
// allow it, without s.mu, closing viewers that overflow. wait makes it wait
// for room first (file chunks); stop ends the wait.
func (s *session) broadcastTo(b []byte, wait bool, stop <-chan struct{}, may func(Rights) bool) {
	for _, v := range s.viewerList() {
		if !may(v.rights) {
			continue
		}
		if !v.pushOther(b, wait, stop) {
			v.closeWith(CodeSlow, "viewer too slow")
		}
	}
}

// fromClient routes one frame the client sent. An error closes the client
// with its text.
func (s *session) fromClient(c *client, b []byte) error {
	t := wire.Type(b[0])
	if t == wire.TTile { // forwarded unread: the header was checked
		s.fanScreen(b)
		return nil
	}
	m, err := wire.Decode(wire.Frame{Type: t, Flags: b[1], Payload: b[wire.HeaderLen:]})
	if err != nil {
		return fmt.Errorf("bad %s frame: %w", typeName(t), err)
	}
	switch m := m.(type) {
	case wire.FrameEnd:
		s.fanScreen(b)
	case wire.DeviceInfo:
		s.mu.Lock()
		s.info = b
		over := s.broadcastLocked(b)
		s.mu.Unlock()
		closeSlow(over)
		s.r.obs.ClientUp(s.id, m)
	case wire.ConsentReply:
		s.mu.Lock()
		if s.consents == nil {
			s.consents = map[string][]byte{}
		}
		s.consents[m.What] = b
		over := s.broadcastLocked(b)
		s.mu.Unlock()
		closeSlow(over)
		s.r.obs.Consent(s.id, m.What, m.Granted)
	case wire.Clipboard:
		s.broadcastTo(b, false, c.done, func(r Rights) bool { return r.Control })
	case wire.FileOffer, wire.FileAnswer, wire.FileDone, wire.FileCancel:
		s.broadcastTo(b, false, c.done, func(r Rights) bool { return r.Files })
	case wire.FileChunk:
		s.broadcastTo(b, true, c.done, func(r Rights) bool { return r.Files })
	case wire.Ping:
		c.pushOwn(encode(wire.Pong(m)))
	case wire.Pong:
	case wire.Close:
		return errLeaving{m.Reason}
	default:
		return fmt.Errorf("a client may not send %s frames", typeName(t))
	}
	return nil
}

func closeSlow(vs []*Viewer) {
	for _, v := range vs {
		v.closeWith(CodeSlow, "viewer too slow")
	}
}

// errLeaving is a client's goodbye.
type errLeaving struct{ reason string }

func (e errLeaving) Error() string {
	if e.reason == "" {
		return "the client closed the session"
	}
	return "the client closed the session: " + e.reason
}

// fromViewer routes one frame a viewer sent; b is the viewer's to give
// away. An error closes the viewer with its text.
func (s *session) fromViewer(v *Viewer, b []byte) error {
	s.countIn(len(b))
	t := wire.Type(b[0])
	m, err := wire.Decode(wire.Frame{Type: t, Flags: b[1], Payload: b[wire.HeaderLen:]})
	if err != nil {
		return fmt.Errorf("bad %s frame: %w", typeName(t), err)
	}
	switch m := m.(type) {
	case wire.Input, wire.Clipboard:
		if v.id == 0 || !v.rights.Control || s.controller.Load() != v.id {
			s.countDrop(dropViewOnly, 1)
			return nil
		}
		s.toClient(v, b)
	case wire.FileOffer, wire.FileChunk, wire.FileAnswer, wire.FileDone, wire.FileCancel:
		if !v.rights.Files {
			s.countDrop(dropNoFiles, 1)
			if o, ok := m.(wire.FileOffer); ok {
				v.pushOther(encode(wire.FileCancel{ID: o.ID, Reason: "your account may not transfer files: ask an administrator for the file-transfer permission"}), false, nil)
			}
			return nil
		}
		return s.fileFromViewer(v, m, b)
	case wire.ConsentAsk:
		m.Technician = truncate(v.name, wire.MaxName)
		s.toClient(v, encode(m))
	case wire.FullFrame:
		now := time.Now()
		v.mu.Lock()
		early := !v.lastFull.IsZero() && now.Sub(v.lastFull) < s.r.cfg.FullFrameInterval
		if !early {
			v.lastFull = now
		}
		v.mu.Unlock()
		if early {
			s.countDrop(dropFullFrame, 1)
			return nil
		}
		s.askFullFrame()
	case wire.Ping:
		if !v.pushOther(encode(wire.Pong(m)), false, nil) {
			return errors.New("viewer too slow")
		}
	case wire.Pong:
	case wire.Close:
		return errLeaving{m.Reason}
	default:
		return fmt.Errorf("a viewer may not send %s frames", typeName(t))
	}
	return nil
}

// fileFromViewer routes a file frame of a viewer that may transfer files.
func (s *session) fileFromViewer(v *Viewer, m wire.Message, b []byte) error {
	switch m := m.(type) {
	case wire.FileOffer:
		if !s.toClient(v, b) {
			v.pushOther(encode(wire.FileCancel{ID: m.ID, Reason: "the customer's client is not connected: send the file again once it is"}), false, nil)
		}
	case wire.FileChunk:
		if !s.toClient(v, b) {
			v.pushOther(encode(wire.FileCancel{ID: m.ID, Reason: "the customer's client disconnected: send the file again once it is back, it resumes"}), false, nil)
		}
	default:
		s.toClient(v, b)
	}
	return nil
}

// toClient queues b for the client, waiting for room. It reports false
// (and counts the drop) when no client is connected.
func (s *session) toClient(v *Viewer, b []byte) bool {
	c := s.cl.Load()
	if c == nil || !c.pushWait(b, v.done) {
		s.countDrop(dropNoClient, 1)
		return false
	}
	return true
}
