// Package bus publishes the desk's domain events in process: the console's
// live updates, the customer's status page, and later the real-time API and
// webhooks subscribe to it. Publishing never blocks: a subscriber that falls
// behind loses events and is told so (Lagged), so it can resynchronise from
// a snapshot instead of slowing everyone down.
package bus

import (
	"strings"
	"sync"
	"time"
)

// Kind names what happened. Every kind is one of the constants below, so
// publishers and subscribers in different packages cannot drift apart.
type Kind string

// The event kinds. Session kinds start with "session." (see IsSession).
const (
	SessionWaiting     Kind = "session.waiting"     // a support link was made; nobody is there yet
	SessionReady       Kind = "session.ready"       // the customer is waiting
	SessionAgreed      Kind = "session.agreed"      // the customer accepted the site's agreement
	SessionActive      Kind = "session.active"      // a technician accepted
	SessionTransferred Kind = "session.transferred" // moved to another queue
	SessionInvited     Kind = "session.invited"     // a collaborator joined
	SessionLeft        Kind = "session.left"        // a collaborator left
	SessionClosed      Kind = "session.closed"      // ended by a technician or the customer
	SessionExpired     Kind = "session.expired"     // nobody took it in time
	SessionDevice      Kind = "session.device"      // the support app, its consent answers or a browser share changed
	SessionControl     Kind = "session.control"     // control of the customer's screen changed hands
	SessionPosition    Kind = "session.position"    // the customer's place in its queue changed
	ChatMessage        Kind = "chat.message"        // a chat line was stored
	ChatTyping         Kind = "chat.typing"         // someone is typing (not stored)
	SiteAnnouncements  Kind = "site.announcements"  // a site's important messages changed, began or ended (Data: the site id)
)

// IsSession reports whether k is about a session's state (its row in a
// queue), as opposed to its chat.
func (k Kind) IsSession() bool { return strings.HasPrefix(string(k), "session.") }

// Event is one domain event.
type Event struct {
	Seq  uint64    `json:"seq"`
	At   time.Time `json:"at"`
	Kind Kind      `json:"kind"`
	// Session, Channel and Owner say whom the event concerns; subscribers
	// filter on them.
	Session uint64 `json:"session,omitempty"`
	Channel uint64 `json:"channel,omitempty"`
	Owner   uint64 `json:"owner,omitempty"`
	// Users lists other technicians concerned (collaborators, transfer
	// targets).
	Users []uint64 `json:"users,omitempty"`
	Data  any      `json:"data,omitempty"`
}

// Bus is an in-process publish/subscribe hub. The zero value is not usable;
// use New.
type Bus struct {
	mu   sync.Mutex
	seq  uint64
	subs map[*Sub]struct{}
	now  func() time.Time
}

// New returns an empty bus; now is the clock (time.Now when nil).
func New(now func() time.Time) *Bus {
	if now == nil {
		now = time.Now
	}
	return &Bus{subs: map[*Sub]struct{}{}, now: now}
}

// Sub is one subscription.
type Sub struct {
	C      <-chan Event
	c      chan Event
	filter func(Event) bool
	bus    *Bus
	lagged bool
	closed bool
}

// Subscribe returns a subscription that receives the events filter accepts
// (all when nil), with room for buf events before it lags.
func (b *Bus) Subscribe(filter func(Event) bool, buf int) *Sub {
	if buf < 1 {
		buf = 1
	}
	c := make(chan Event, buf)
	s := &Sub{C: c, c: c, filter: filter, bus: b}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Lagged reports (and clears) whether events were dropped because the
// subscriber did not keep up.
func (s *Sub) Lagged() bool {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	l := s.lagged
	s.lagged = false
	return l
}

// Close ends the subscription and closes C. It is safe to call twice.
func (s *Sub) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	delete(s.bus.subs, s)
	close(s.c)
}

// Publish stamps e with the next sequence number and the time, and hands
// it to every subscriber that wants it without ever blocking.
func (b *Bus) Publish(e Event) Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	e.Seq = b.seq
	if e.At.IsZero() {
		e.At = b.now()
	}
	for s := range b.subs {
		if s.filter != nil && !s.filter(e) {
			continue
		}
		select {
		case s.c <- e:
		default:
			s.lagged = true
		}
	}
	return e
}

// Seq is the sequence number of the last event published.
func (b *Bus) Seq() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq
}
