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

	mu     sync.Mutex // membership (with Relay.mu held first) and state
	client *client
	info   []byte // the client's last DeviceInfo frame
	// consents holds the client's last answers per technician: viewer
	// id → What → ConsentReply frame. They last while the client is
	// connected, so a technician who reloads the console is not asked
	// again; each technician is asked about in their own right.
	consents map[uint64]map[string][]byte
	// files are the transfers under way by file id, for the trail.
	files map[uint32]*tracked
}

// maxFiles bounds the transfers a session tracks at once; offers beyond it
// are refused.
const maxFiles = 64

// grantedLocked reports whether the customer allowed what to technician
// id. s.mu is held.
func (s *session) grantedLocked(id uint64, what string) bool {
	f := s.consents[id][what]
	return f != nil && f[wire.HeaderLen] == 1
}

func (s *session) granted(id uint64, what string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grantedLocked(id, what)
}

// hasViewerLocked reports whether technician id has a viewer in s.
func (s *session) hasViewerLocked(id uint64) (string, bool) {
	for _, v := range s.viewerList() {
		if v.id == id {
			return v.name, true
		}
	}
	return "", false
}

// presenceLocked is the Presence frame of who is in s now.
func (s *session) presenceLocked() []byte {
	p := wire.Presence{Controller: s.controller.Load()}
	seen := map[uint64]bool{}
	for _, v := range s.viewerList() {
		if v.id == 0 || seen[v.id] || len(p.Viewers) == wire.MaxPresence {
			continue
		}
		seen[v.id] = true
		// 64 bytes a name keeps 32 of them within the frame's bound.
		p.Viewers = append(p.Viewers, wire.Present{ID: v.id, Name: truncate(v.name, 64)})
	}
	return encode(p)
}

// tellPresence tells the client, if any, who is in the session.
func (s *session) tellPresence() {
	s.mu.Lock()
	b := s.presenceLocked()
	s.mu.Unlock()
	if c := s.cl.Load(); c != nil {
		c.pushOwn(b)
	}
}

// controllerChanged tells the client; on a hand-over it asks for the new
// controller's consent when it is viewing and has none yet.
func (s *session) controllerChanged(handOver bool) {
	s.tellPresence()
	if handOver {
		s.askControlIfNeeded(s.controller.Load())
	}
}

func (s *session) askControlIfNeeded(id uint64) {
	if id == 0 {
		return
	}
	s.mu.Lock()
	name, here := s.hasViewerLocked(id)
	ask := here && !s.grantedLocked(id, "control")
	var rights Rights
	for _, v := range s.viewerList() {
		if v.id == id {
			rights = v.rights
		}
	}
	s.mu.Unlock()
	if ask && rights.Control {
		if c := s.cl.Load(); c != nil {
			c.pushOwn(encode(wire.ConsentAsk{Technician: truncate(name, wire.MaxName), What: "control", Viewer: id}))
		}
	}
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
	_, already := s.hasViewerLocked(viewerID)
	list := append(append([]*Viewer(nil), s.viewerList()...), v)
	s.viewers.Store(&list)
	// The state the viewer missed, queued under s.mu so that no newer
	// device info or consent answer can overtake it: the device, and the
	// answers the customer gave about this technician.
	if s.info != nil {
		v.pushOther(s.info, false, nil)
	}
	for _, f := range s.consents[viewerID] {
		v.pushOther(f, false, nil)
	}
	v.viewing.Store(s.grantedLocked(viewerID, "view"))
	s.mu.Unlock()
	r.mu.Unlock()
	r.log.Debug("viewer joined", "session", id, "viewer", viewerID)
	if !already && viewerID != 0 {
		s.tellPresence()
		r.obs.Presence(id, viewerID, name, true)
	}
	if v.viewing.Load() {
		s.askFullFrame()
	}
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
	_, still := s.hasViewerLocked(v.id)
	s.r.forgetLocked(s)
	s.mu.Unlock()
	s.r.mu.Unlock()
	if !still && v.id != 0 {
		s.tellPresence()
		s.r.obs.Presence(s.id, v.id, v.name, false)
	}
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
		for id, answers := range s.consents {
			for what, f := range answers {
				if f[wire.HeaderLen] == 1 { // granted
					closing = append(closing, s.toViewersLocked(id, consentFrame(false, what, id))...)
				}
			}
		}
		for _, v := range s.viewerList() {
			v.viewing.Store(false)
		}
		s.consents = nil
		s.files = nil
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

// fanScreen queues a screen frame for every viewer the customer allowed
// to see the screen; the others get nothing of it.
func (s *session) fanScreen(b []byte) {
	for _, v := range s.viewerList() {
		if v.viewing.Load() {
			v.pushScreen(b)
		}
	}
}

// toViewersLocked queues b for the viewers of technician id and returns
// those that overflowed. s.mu is held.
func (s *session) toViewersLocked(id uint64, b []byte) []*Viewer {
	var over []*Viewer
	for _, v := range s.viewerList() {
		if v.id == id && !v.pushOther(b, false, nil) {
			over = append(over, v)
		}
	}
	return over
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
	if t == wire.TTile || t == wire.TCopy { // forwarded unread: the header was checked
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
		// How the app reached the box is the relay's to say.
		m.Transport = c.t.kind()
		if b = encode(m); b == nil {
			return errors.New("bad DeviceInfo frame: too large once re-encoded")
		}
		s.mu.Lock()
		s.info = b
		over := s.broadcastLocked(b)
		s.mu.Unlock()
		closeSlow(over)
		s.r.obs.ClientUp(s.id, m)
	case wire.ConsentReply:
		s.consentReply(m, b)
	case wire.Clipboard:
		// Only to the technician in control, with the right, whom the
		// customer allowed control: the app tells the customer whom it
		// sent their clipboard to.
		ctl := s.controller.Load()
		if ctl == 0 || !s.granted(ctl, "control") {
			return nil
		}
		for _, v := range s.viewerList() {
			if v.id == ctl && v.rights.Control && !v.pushOther(b, false, nil) {
				v.closeWith(CodeSlow, "viewer too slow")
			}
		}
		s.r.obs.Clipboard(s.id, 0, false, len(m.Text))
	case wire.FileOffer, wire.FileChunk, wire.FileDone, wire.FileCancel, wire.FileAnswer:
		s.fileFromClient(c, m, b)
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

// consentReply keeps the customer's answer about technician m.Viewer and
// gives it to that technician's viewers only; view starts or stops their
// screen frames.
func (s *session) consentReply(m wire.ConsentReply, b []byte) {
	s.mu.Lock()
	if s.consents == nil {
		s.consents = map[uint64]map[string][]byte{}
	}
	if s.consents[m.Viewer] == nil {
		if len(s.consents) >= 4*wire.MaxPresence {
			s.mu.Unlock()
			return // a client answering for made-up technicians
		}
		s.consents[m.Viewer] = map[string][]byte{}
	}
	s.consents[m.Viewer][m.What] = b
	if m.What == "view" {
		for _, v := range s.viewerList() {
			if v.id == m.Viewer {
				v.viewing.Store(m.Granted)
			}
		}
	}
	over := s.toViewersLocked(m.Viewer, b)
	s.mu.Unlock()
	closeSlow(over)
	s.r.obs.Consent(s.id, m.Viewer, m.What, m.Granted)
	if m.What == "view" && m.Granted {
		s.askFullFrame()
	}
}

// clientFile is the bit of the ids of files the customer's app offers; a
// technician's offers never have it.
const clientFile = 1 << 31

// tracked is a transfer under way: what the trail will say, who offered
// it (0: the customer's app; a technician's id) and how far its chunks
// reached.
type tracked struct {
	Transfer
	owner   uint64
	covered uint64
}

// fileBegin tracks a transfer offered by owner; it reports false when the
// id is someone else's or too many are under way.
func (s *session) fileBegin(id uint32, owner uint64, t Transfer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files == nil {
		s.files = map[uint32]*tracked{}
	}
	if old, known := s.files[id]; known && old.owner != owner || !known && len(s.files) >= maxFiles {
		return false
	}
	s.files[id] = &tracked{Transfer: t, owner: owner}
	return true
}

// fileOwner reports who offered transfer id.
func (s *session) fileOwner(id uint32) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.files[id]
	if !ok {
		return 0, false
	}
	return t.owner, true
}

// fileChunk notes how far transfer id's chunks reached.
func (s *session) fileChunk(id uint32, end uint64) {
	s.mu.Lock()
	if t, ok := s.files[id]; ok {
		t.covered = max(t.covered, end)
	}
	s.mu.Unlock()
}

// fileEnd ends the tracked transfer id: done (with its hash) goes to the
// trail when its chunks reached its end, cancelled (sum nil) is forgotten.
func (s *session) fileEnd(id uint32, sum *[32]byte) {
	s.mu.Lock()
	t, ok := s.files[id]
	delete(s.files, id)
	s.mu.Unlock()
	if ok && sum != nil && t.covered >= t.Size {
		tr := t.Transfer
		tr.SHA256 = *sum
		s.r.obs.Transfer(s.id, tr)
	}
}

// toOwner queues b for the viewers of the technician who offered transfer
// id: the customer's answers about a technician's file are theirs alone.
func (s *session) toOwner(id uint32, b []byte) {
	owner, ok := s.fileOwner(id)
	if !ok || owner == 0 {
		return
	}
	s.mu.Lock()
	var over []*Viewer
	for _, v := range s.viewerList() {
		if v.id == owner && v.rights.Files && !v.pushOther(b, false, nil) {
			over = append(over, v)
		}
	}
	s.mu.Unlock()
	closeSlow(over)
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
		// Only the controller, with the right, once the customer allowed
		// that technician to control.
		if v.id == 0 || !v.rights.Control || s.controller.Load() != v.id || !s.granted(v.id, "control") {
			s.countDrop(dropViewOnly, 1)
			return nil
		}
		if s.toClient(v, b) {
			if cb, ok := m.(wire.Clipboard); ok {
				s.r.obs.Clipboard(s.id, v.id, true, len(cb.Text))
			}
		}
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
		if v.id == 0 {
			return nil // nobody to ask about
		}
		m.Technician, m.Viewer = truncate(v.name, wire.MaxName), v.id
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

// fileFromClient routes a file frame of the customer's app. Its own files
// (ids with clientFile) go to the technicians allowed files; its answers
// about a technician's file go to that technician only.
func (s *session) fileFromClient(c *client, m wire.Message, b []byte) {
	files := func(r Rights) bool { return r.Files }
	switch m := m.(type) {
	case wire.FileOffer:
		if m.ID&clientFile == 0 || !s.fileBegin(m.ID, 0, Transfer{Name: m.Name, Size: m.Size}) {
			c.pushOwn(encode(wire.FileCancel{ID: m.ID, Reason: "this file id is not the customer's to offer, or too many files are on their way"}))
			return
		}
		s.broadcastTo(b, false, c.done, files)
	case wire.FileChunk:
		if m.ID&clientFile == 0 {
			return // the customer sends no chunks of a technician's file
		}
		s.fileChunk(m.ID, m.Offset+uint64(len(m.Data)))
		s.broadcastTo(b, true, c.done, files)
	case wire.FileDone:
		if m.ID&clientFile == 0 {
			s.toOwner(m.ID, b) // the customer's computer checked it
			s.fileEnd(m.ID, nil)
			return
		}
		s.fileEnd(m.ID, &m.SHA256)
		s.broadcastTo(b, false, c.done, files)
	case wire.FileCancel:
		if m.ID&clientFile == 0 {
			s.toOwner(m.ID, b)
		} else {
			s.broadcastTo(b, false, c.done, files)
		}
		s.fileEnd(m.ID, nil)
	case wire.FileAnswer:
		s.toOwner(m.ID, b)
	}
}

// fileFromViewer routes a file frame of a viewer that may transfer files.
// A technician's frames about a file are theirs only: another's ids, and
// the customer's, are not theirs to send chunks, a hash or a cancel for.
func (s *session) fileFromViewer(v *Viewer, m wire.Message, b []byte) error {
	mine := func(id uint32) bool {
		owner, ok := s.fileOwner(id)
		return ok && owner == v.id
	}
	switch m := m.(type) {
	case wire.FileOffer:
		if m.ID&clientFile != 0 || !s.fileBegin(m.ID, v.id, Transfer{ToCustomer: true, Viewer: v.id, Technician: v.name, Name: m.Name, Size: m.Size}) {
			v.pushOther(encode(wire.FileCancel{ID: m.ID, Reason: "this file could not be offered now (its id is in use, or too many files are on their way): send it again"}), false, nil)
			return nil
		}
		// The customer is asked about the file by the sender's name.
		m.From = truncate(v.name, wire.MaxName)
		if !s.toClient(v, encode(m)) {
			s.fileEnd(m.ID, nil)
			v.pushOther(encode(wire.FileCancel{ID: m.ID, Reason: "the customer's client is not connected: send the file again once it is"}), false, nil)
		}
	case wire.FileDone:
		switch {
		case m.ID&clientFile != 0:
			s.toClient(v, b) // a technician confirms the customer's file
		case mine(m.ID) && s.toClient(v, b):
			s.fileEnd(m.ID, &m.SHA256)
		}
	case wire.FileCancel:
		if m.ID&clientFile != 0 || mine(m.ID) {
			if m.ID&clientFile == 0 {
				s.fileEnd(m.ID, nil)
			}
			s.toClient(v, b)
		}
	case wire.FileChunk:
		if !mine(m.ID) {
			s.countDrop(dropNoFiles, 1)
			return nil
		}
		s.fileChunk(m.ID, m.Offset+uint64(len(m.Data)))
		if !s.toClient(v, b) {
			v.pushOther(encode(wire.FileCancel{ID: m.ID, Reason: "the customer's client disconnected: send the file again once it is back, it resumes"}), false, nil)
		}
	case wire.FileAnswer:
		if m.ID&clientFile != 0 {
			s.toClient(v, b) // a technician takes the customer's file
		}
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
