package console

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/bus"
	"github.com/switchboardhq/switchboard/appliance/desk"
)

// expect reads the next event and checks its kind and session.
func (s *sse) expect(kind string, session uint64) outEvent {
	s.t.Helper()
	ev := s.next()
	oe := ev.decode(s.t)
	if ev.Kind != kind || oe.Session != session {
		s.t.Fatalf("got %s for session %d, want %s for %d: %s", ev.Kind, oe.Session, kind, session, ev.Data)
	}
	return oe
}

func TestEventsReachOnlyTheTechniciansConcerned(t *testing.T) {
	e := newEnv(t)
	ann := e.tech("ann", "Ann", desk.RoleTechnician)
	bob := e.tech("bob", "Bob", desk.RoleTechnician)
	e.channels([]uint64{ann.id}, []uint64{bob.id})
	annEv, bobEv := ann.events(), bob.events()
	st := annEv.next().state(t)
	if len(st.Queues) != 2 || st.Queues[0].Name != "My queue" || st.Queues[1].Name != "Tier 1" || len(st.Sessions) != 0 {
		t.Fatalf("ann's first state: %+v", st)
	}
	bobEv.next().state(t)

	// Tier 2 and Bob's personal queue are none of Ann's business.
	tina := e.sos(e.tier2.ID, "Tina")
	bea := e.customer(bob.id, desk.Customer{Name: "Bea"})
	if _, err := e.desk.Accept(ctx, bob.actor(), tina.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.desk.Say(ctx, bob.actor(), tina.ID, "Hello Tina"); err != nil {
		t.Fatal(err)
	}
	e.desk.Typing(tina, "customer")
	bobEv.expect("session.ready", tina.ID)
	bobEv.expect("session.ready", bea.ID)
	if oe := bobEv.expect("session.active", tina.ID); oe.Row == nil || !oe.Row.Mine || oe.Row.OwnerName != "Bob" {
		t.Fatalf("bob's accepted session: %+v", oe.Row)
	}
	bobEv.expect("chat.message", tina.ID)
	bobEv.expect("chat.typing", tina.ID)

	// Her own queue and Tier 1 are.
	cleo := e.customer(ann.id, desk.Customer{Name: "Cleo"})
	tom := e.sos(e.tier1.ID, "Tom")
	oe := annEv.expect("session.ready", cleo.ID)
	if r := oe.Row; r == nil || r.Status != desk.Ready || r.QueueKey != queueKey(desk.Queue{Kind: desk.QueueTechnician, ID: ann.id}) || !r.CanAccept || r.Customer.Name != "Cleo" {
		t.Fatalf("ann's new session: %+v", r)
	}
	annEv.expect("session.ready", tom.ID)
	annEv.quiet(200 * time.Millisecond)
	bobEv.quiet(50 * time.Millisecond)

	// A collaborator hears about the session until it leaves.
	e.desk.Accept(ctx, ann.actor(), cleo.ID)
	e.desk.Invite(ctx, ann.actor(), cleo.ID, bob.id)
	annEv.expect("session.active", cleo.ID)
	annEv.expect("session.invited", cleo.ID)
	if oe := bobEv.expect("session.invited", cleo.ID); oe.Row == nil || !oe.Row.Mine {
		t.Fatalf("the invited technician's row: %+v", oe.Row)
	}
	e.desk.Say(ctx, bob.actor(), cleo.ID, "Bob here")
	annEv.expect("chat.message", cleo.ID)
	bobEv.expect("chat.message", cleo.ID)
	e.desk.Leave(ctx, bob.actor(), cleo.ID)
	if oe := bobEv.expect("session.left", cleo.ID); !oe.Gone || oe.Row != nil {
		t.Fatalf("the collaborator who left: %+v", oe)
	}
	annEv.expect("session.left", cleo.ID)
	e.desk.Say(ctx, ann.actor(), cleo.ID, "Just us now")
	annEv.expect("chat.message", cleo.ID)
	bobEv.quiet(200 * time.Millisecond)

	// A transfer takes the session out of Ann's view and into Bob's queue.
	if _, err := e.desk.Transfer(ctx, ann.actor(), cleo.ID, desk.Queue{Kind: desk.QueueTechnician, ID: bob.id}, "printer"); err != nil {
		t.Fatal(err)
	}
	if oe := annEv.expect("session.transferred", cleo.ID); !oe.Gone {
		t.Fatalf("ann still sees the transferred session: %+v", oe)
	}
	if oe := bobEv.expect("session.transferred", cleo.ID); oe.Row == nil || oe.Row.Status != desk.Ready || !oe.Row.CanAccept {
		t.Fatalf("bob's transferred session: %+v", oe.Row)
	}
	e.desk.Accept(ctx, bob.actor(), cleo.ID)
	e.desk.Say(ctx, bob.actor(), cleo.ID, "Bob again")
	bobEv.expect("session.active", cleo.ID)
	bobEv.expect("chat.message", cleo.ID)
	annEv.quiet(200 * time.Millisecond)

	// A new connection starts from the state: Tom waits in Tier 1.
	again := ann.events().next().state(t)
	if len(again.Sessions) != 1 || again.Sessions[0].ID != tom.ID || again.Queues[1].Waiting != 1 {
		t.Fatalf("state after reconnecting: %+v", again.Sessions)
	}
	// /console/state is the same snapshot.
	code, body := ann.get("/console/state")
	if code != 200 || !strings.Contains(body, `"name":"Tom"`) || strings.Contains(body, "Cleo") {
		t.Fatalf("/console/state: %d %s", code, body)
	}
}

func TestSupervisorSeesEveryChannel(t *testing.T) {
	e := newEnv(t)
	ann := e.tech("ann", "Ann", desk.RoleTechnician)
	boss := e.tech("boss", "Boss", desk.RoleTechManager)
	e.channels([]uint64{ann.id}, nil)
	ev := boss.events()
	if st := ev.next().state(t); len(st.Queues) != 3 {
		t.Fatalf("a technician manager watches %d queues, want its own and both channels", len(st.Queues))
	}
	ss := e.sos(e.tier2.ID, "Tina")
	if oe := ev.expect("session.ready", ss.ID); oe.Row == nil || !oe.Row.CanAccept {
		t.Fatalf("supervised row: %+v", oe.Row)
	}
	// Another technician's personal queue is not a console's business.
	e.customer(ann.id, desk.Customer{Name: "Private"})
	ev.quiet(200 * time.Millisecond)
}

func TestStreamFollowsChannelsAndSignIn(t *testing.T) {
	e := newEnv(t)
	ann := e.tech("ann", "Ann", desk.RoleTechnician)
	e.channels(nil, nil)
	ev := ann.events()
	if st := ev.next().state(t); len(st.Queues) != 1 {
		t.Fatalf("queues before joining a channel: %d", len(st.Queues))
	}
	// Joining a channel shows up within a heartbeat, with a fresh state.
	ch := e.tier2
	ch.Technicians = []uint64{ann.id}
	if _, err := e.desk.SaveChannel(ctx, e.root, ch); err != nil {
		t.Fatal(err)
	}
	if st := ev.next().state(t); len(st.Queues) != 2 || st.Queues[1].Name != "Tier 2" {
		t.Fatalf("queues after joining Tier 2: %+v", st.Queues)
	}
	// An ended sign-in ends the stream.
	if _, err := e.auth.EndUserSessions(ctx, auth.Site, ann.id); err != nil {
		t.Fatal(err)
	}
	if got := ev.next(); got.Kind != "signedout" {
		t.Fatalf("after sign-out: %s", got.Kind)
	}
	select {
	case <-ev.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream stayed open after sign-out")
	}
	// A new stream is refused: sent to sign in.
	req, _ := http.NewRequest("GET", e.srv.URL+"/console/events", nil)
	resp, err := ann.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
		t.Fatalf("events signed out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// gateWriter is a ResponseWriter whose writes can be held up, to make a
// console fall behind the bus.
type gateWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	header  http.Header
	hold    bool
	stuck   chan struct{} // closed when a write is held up
	release chan struct{}
	once    sync.Once
}

func (g *gateWriter) Header() http.Header { return g.header }
func (g *gateWriter) WriteHeader(int)     {}
func (g *gateWriter) Flush()              {}
func (g *gateWriter) Write(p []byte) (int, error) {
	g.mu.Lock()
	hold := g.hold
	g.mu.Unlock()
	if hold {
		g.once.Do(func() { close(g.stuck) })
		<-g.release
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

func (g *gateWriter) String() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.String()
}

func TestLaggingConsoleGetsAFreshState(t *testing.T) {
	old := subBuffer
	subBuffer = 1
	defer func() { subBuffer = old }()
	e := newEnv(t)
	ann := e.tech("ann", "Ann", desk.RoleTechnician)
	e.con.heartbeat = time.Hour
	w := &gateWriter{header: http.Header{}, stuck: make(chan struct{}), release: make(chan struct{})}
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := httptest.NewRequest("GET", "/console/events", nil).WithContext(cctx)
		e.con.serveEvents(w, r, &req{Actor: ann.actor()})
	}()
	waitFor(t, func() bool { return strings.Count(w.String(), "event: state") == 1 })
	w.mu.Lock()
	w.hold = true
	w.mu.Unlock()
	typing := func() {
		e.bus.Publish(bus.Event{Kind: "chat.typing", Session: 7, Owner: ann.id, Data: map[string]string{"from": "customer"}})
	}
	typing() // taken, and stuck writing
	<-w.stuck
	for range 5 {
		typing() // one fits the buffer; the rest are lost
	}
	w.mu.Lock()
	w.hold = false
	w.mu.Unlock()
	close(w.release)
	waitFor(t, func() bool { return strings.Count(w.String(), "event: state") == 2 })
	cancel()
	<-done
	if n := strings.Count(w.String(), "event: chat.typing"); n != 1 {
		t.Fatalf("%d typing events after the lag, want the one before it:\n%s", n, w)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWatcher(t *testing.T) {
	me := desk.Actor{UserID: 5, Role: desk.RoleTechnician, Serves: []uint64{1}}
	w := newWatcher(me)
	sum := func(q desk.Queue, owner uint64, st desk.Status) desk.Summary {
		return desk.Summary{Queue: q, Owner: owner, Status: st}
	}
	mine := desk.Queue{Kind: desk.QueueTechnician, ID: 5}
	other := desk.Queue{Kind: desk.QueueTechnician, ID: 6}
	cases := []struct {
		name string
		e    bus.Event
		want bool
	}{
		{"my queue", bus.Event{Kind: "session.ready", Session: 1, Owner: 5, Data: sum(mine, 0, desk.Ready)}, true},
		{"served channel", bus.Event{Kind: "session.ready", Session: 2, Channel: 1, Data: sum(desk.Queue{Kind: desk.QueueChannel, ID: 1}, 0, desk.Ready)}, true},
		{"other channel", bus.Event{Kind: "session.ready", Session: 3, Channel: 2, Data: sum(desk.Queue{Kind: desk.QueueChannel, ID: 2}, 0, desk.Ready)}, false},
		{"other queue", bus.Event{Kind: "session.ready", Session: 4, Owner: 6, Data: sum(other, 0, desk.Ready)}, false},
		{"my queue, someone else's ownership", bus.Event{Kind: "session.active", Session: 1, Owner: 9, Data: sum(mine, 9, desk.Active)}, true},
		{"chat of a known session", bus.Event{Kind: "chat.message", Session: 1, Owner: 9}, true},
		{"chat of another", bus.Event{Kind: "chat.message", Session: 4, Owner: 6}, false},
		{"collaborator", bus.Event{Kind: "session.invited", Session: 4, Owner: 6, Users: []uint64{5}, Data: sum(other, 6, desk.Active)}, true},
		{"left: told once", bus.Event{Kind: "session.left", Session: 4, Owner: 6, Data: sum(other, 6, desk.Active)}, true},
		{"then forgotten", bus.Event{Kind: "chat.message", Session: 4, Owner: 6}, false},
		{"closed: told", bus.Event{Kind: "session.closed", Session: 1, Owner: 5, Data: sum(mine, 5, desk.Closed)}, true},
		{"closed: forgotten", bus.Event{Kind: "chat.typing", Session: 1, Owner: 9}, false},
	}
	for _, tc := range cases {
		if got := w.wants(tc.e); got != tc.want {
			t.Errorf("%s: wants = %v", tc.name, got)
		}
	}
}

// TestEventStreamsPerTechnicianAreBounded: one technician cannot hold more
// than maxStreams live streams; closing one frees its slot; another
// technician is not held back.
func TestEventStreamsPerTechnicianAreBounded(t *testing.T) {
	e := newEnv(t)
	ann := e.tech("ann", "Ann", desk.RoleTechnician)
	bob := e.tech("bob", "Bob", desk.RoleTechnician)
	e.channels(nil, nil)
	var open []*sse
	for range maxStreams {
		s := ann.events()
		s.next().state(t)
		open = append(open, s)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/console/events", nil)
	resp, err := ann.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(body), "more than 8 windows") {
		t.Fatalf("stream %d: %d %s", maxStreams+1, resp.StatusCode, body)
	}
	bob.events().next().state(t)
	open[0].cancel()
	<-open[0].done
	// The slot is given back when the handler returns, just after the
	// client side closed: retry until it is.
	for i := 0; ; i++ {
		s := func() *sse {
			cctx, cancel := context.WithCancel(ctx)
			req, _ := http.NewRequestWithContext(cctx, "GET", e.srv.URL+"/console/events", nil)
			c := *ann.client
			c.Timeout = 0
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode == http.StatusOK {
				resp.Body.Close()
				cancel()
				return &sse{}
			}
			resp.Body.Close()
			cancel()
			return nil
		}()
		if s != nil {
			break
		}
		if i > 1000 {
			t.Fatal("the closed stream's slot was never given back")
		}
		runtime.Gosched()
	}
}
