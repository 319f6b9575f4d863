package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/wire"
	"github.com/switchboardhq/switchboard/appliance/wire/tile"
)

// waitTimeout bounds every wait for a frame from the client.
const waitTimeout = 10 * time.Second

// fakePrompter answers with answer and records the questions.
type fakePrompter struct {
	mu        sync.Mutex
	questions []string
	answer    func(question string) bool
	pick      string
}

func (p *fakePrompter) Confirm(ctx context.Context, q string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.questions = append(p.questions, q)
	return p.answer(q), nil
}

func (p *fakePrompter) PickFile(ctx context.Context, title string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.questions = append(p.questions, title)
	return p.pick, nil
}

func (p *fakePrompter) asked() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.questions...)
}

func allow(string) bool { return true }
func deny(string) bool  { return false }

// fakeScreen is a 150×70 screen with a pattern; it counts captures.
type fakeScreen struct {
	captures atomic.Int64
	rgb      []byte
}

const screenW, screenH = 150, 70

func newScreen() *fakeScreen {
	s := &fakeScreen{rgb: make([]byte, screenW*screenH*3)}
	for i := range s.rgb {
		s.rgb[i] = byte(i / 3 % 7 * 30)
	}
	return s
}

func (s *fakeScreen) Capture() ([]byte, int, int, error) {
	s.captures.Add(1)
	return s.rgb, screenW, screenH, nil
}

// fakeInput records what it applies.
type fakeInput struct {
	mu      sync.Mutex
	applied []wire.Input
}

func (in *fakeInput) Apply(m wire.Input) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.applied = append(in.applied, m)
	return nil
}

func (in *fakeInput) ReleaseAll() {}

func (in *fakeInput) got() []wire.Input {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]wire.Input(nil), in.applied...)
}

// relay is the relay's end of a session under test.
type relay struct {
	t    *testing.T
	conn net.Conn
	msgs chan wire.Message
	done chan error // Run's result
	stop context.CancelFunc
	out  *bytes.Buffer
}

// start runs a session against an in-memory relay that welcomes it, and
// checks the hello and the device info.
func start(t *testing.T, cfg Config) *relay {
	t.Helper()
	client, server := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	out := new(bytes.Buffer)
	cfg.Out = &lockedWriter{w: out}
	if cfg.FrameInterval == 0 {
		cfg.FrameInterval = 5 * time.Millisecond
	}
	r := &relay{t: t, conn: server, msgs: make(chan wire.Message, 1024), done: make(chan error, 1), stop: cancel, out: out}
	go func() { r.done <- Run(ctx, client, wire.Hello{Token: "tok", DeviceID: "dev"}, cfg) }()
	go func() {
		defer close(r.msgs)
		for {
			f, err := wire.ReadFrame(server, nil)
			if err != nil {
				return
			}
			m, err := wire.Decode(f)
			if err != nil {
				t.Errorf("client sent a bad frame: %v", err)
				return
			}
			r.msgs <- m
		}
	}()
	t.Cleanup(func() {
		cancel()
		server.Close()
		client.Close()
	})
	if h := expect[wire.Hello](r); h.Token != "tok" || h.Role != wire.RoleClient || h.Version != wire.Version {
		t.Fatalf("hello = %+v", h)
	}
	r.send(wire.Welcome{Session: 7})
	expect[wire.DeviceInfo](r)
	return r
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (r *relay) send(m wire.Message) {
	r.t.Helper()
	f, err := wire.Encode(m)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := wire.WriteFrame(r.conn, f); err != nil {
		r.t.Fatalf("send %T: %v", m, err)
	}
}

// next returns the client's next message.
func (r *relay) next() wire.Message {
	r.t.Helper()
	select {
	case m, ok := <-r.msgs:
		if !ok {
			r.t.Fatal("the client closed the stream")
		}
		return m
	case <-time.After(waitTimeout):
		r.t.Fatalf("no frame from the client within %v", waitTimeout)
	}
	return nil
}

// expect returns the next message, which must be a T.
// expectPast is expect skipping the screen frames a capture sends.
func expectPast[T wire.Message](r *relay) T {
	r.t.Helper()
	for {
		m := r.next()
		if v, ok := m.(T); ok {
			return v
		}
		switch m.(type) {
		case wire.Tile, wire.FrameEnd:
		default:
			var want T
			r.t.Fatalf("got %T %+v, want %T", m, m, want)
		}
	}
}

func expect[T wire.Message](r *relay) T {
	r.t.Helper()
	m := r.next()
	v, ok := m.(T)
	if !ok {
		var want T
		r.t.Fatalf("got %T %+v, want %T", m, m, want)
	}
	return v
}

// barrier sends a Ping and returns every message before its Pong: the
// client handles frames in order, so all it did because of earlier
// frames is in the list.
func (r *relay) barrier() []wire.Message {
	r.t.Helper()
	nonce := uint64(time.Now().UnixNano())
	r.send(wire.Ping{Nonce: nonce})
	var before []wire.Message
	for {
		m := r.next()
		if p, ok := m.(wire.Pong); ok && p.Nonce == nonce {
			return before
		}
		before = append(before, m)
	}
}

func TestConsentDeniedSendsNoTile(t *testing.T) {
	screen := newScreen()
	p := &fakePrompter{answer: deny}
	in := &fakeInput{}
	r := start(t, Config{Prompter: p, Screen: screen, Input: in})

	r.send(wire.ConsentAsk{Technician: "Alice\x1b[2J", What: "view"})
	if c := expect[wire.ConsentReply](r); c.Granted || c.What != "view" {
		t.Fatalf("reply = %+v", c)
	}
	r.send(wire.FullFrame{})
	r.send(wire.ConsentAsk{Technician: "Alice", What: "control"})
	if c := expect[wire.ConsentReply](r); c.Granted || c.What != "control" {
		t.Fatalf("reply = %+v", c)
	}
	r.send(wire.Input{Kind: wire.InputKey, Code: 'a', Down: true})
	r.send(wire.FullFrame{})
	for _, m := range r.barrier() {
		t.Errorf("after denial the client sent %T", m)
	}
	if n := screen.captures.Load(); n != 0 {
		t.Errorf("the screen was captured %d times without consent", n)
	}
	if got := in.got(); len(got) != 0 {
		t.Errorf("input applied without consent: %+v", got)
	}
	q := p.asked()
	if len(q) != 2 || !strings.Contains(q[0], "Alice[2J wants to see your screen") {
		t.Errorf("questions = %q", q)
	}
}

// collectFrame reads tiles up to a FrameEnd, paints them and returns the
// picture and the FrameEnd.
func collectFrame(t *testing.T, r *relay, picture []byte) (wire.FrameEnd, int) {
	t.Helper()
	tiles := 0
	for {
		switch m := r.next().(type) {
		case wire.Tile:
			px, err := tile.Decode(m.Encoding, m.Data, int(m.W), int(m.H))
			if err != nil {
				t.Fatal(err)
			}
			for row := range int(m.H) {
				copy(picture[((int(m.Y)+row)*screenW+int(m.X))*3:], px[row*int(m.W)*3:(row+1)*int(m.W)*3])
			}
			tiles++
		case wire.FrameEnd:
			return m, tiles
		default:
			t.Fatalf("got %T in a frame", m)
		}
	}
}

func TestViewGranted(t *testing.T) {
	screen := newScreen()
	p := &fakePrompter{answer: allow}
	r := start(t, Config{Prompter: p, Screen: screen})
	r.send(wire.ConsentAsk{Technician: "Bob", What: "view"})
	if c := expect[wire.ConsentReply](r); !c.Granted {
		t.Fatalf("reply = %+v", c)
	}
	picture := make([]byte, len(screen.rgb))
	end, tiles := collectFrame(t, r, picture)
	if end.Seq != 1 || tiles != 6 || !bytes.Equal(picture, screen.rgb) {
		t.Fatalf("first frame: seq %d, %d tiles, picture right: %v", end.Seq, tiles, bytes.Equal(picture, screen.rgb))
	}
	// Nothing changed: nothing is sent.
	for _, m := range r.barrier() {
		t.Errorf("unchanged screen: the client sent %T", m)
	}
	// Asked again (a second viewer): granted without a new question.
	r.send(wire.ConsentAsk{Technician: "Carol", What: "view"})
	if c := expect[wire.ConsentReply](r); !c.Granted {
		t.Fatalf("second ask: %+v", c)
	}
	r.send(wire.FullFrame{})
	clear(picture)
	end, tiles = collectFrame(t, r, picture)
	if end.Seq != 2 || tiles != 6 || !bytes.Equal(picture, screen.rgb) {
		t.Fatalf("full frame: seq %d, %d tiles", end.Seq, tiles)
	}
	if q := p.asked(); len(q) != 1 {
		t.Errorf("questions = %q", q)
	}
	if out := r.out.String(); !strings.Contains(out, "Bob is viewing your screen") || !strings.Contains(out, "Connected to") {
		t.Errorf("the person read:\n%s", out)
	}
}

func TestControl(t *testing.T) {
	in := &fakeInput{}
	var clip atomic.Value
	r := start(t, Config{Prompter: &fakePrompter{answer: allow}, Input: in, Clipboard: func(s string) error { clip.Store(s); return nil }})
	r.send(wire.Input{Kind: wire.InputMove, X: 1, Y: 2}) // before consent: dropped
	r.send(wire.Clipboard{Text: "before"})
	r.send(wire.ConsentAsk{Technician: "Bob", What: "control", Viewer: 7})
	if c := expect[wire.ConsentReply](r); !c.Granted || c.What != "control" || c.Viewer != 7 {
		t.Fatalf("reply = %+v", c)
	}
	// Another technician in control, never allowed: still dropped.
	r.send(wire.Presence{Controller: 8, Viewers: []wire.Present{{ID: 7, Name: "Bob"}, {ID: 8, Name: "Eve"}}})
	r.send(wire.Input{Kind: wire.InputMove, X: 3, Y: 4})
	r.send(wire.Presence{Controller: 7, Viewers: []wire.Present{{ID: 7, Name: "Bob"}, {ID: 8, Name: "Eve"}}})
	want := wire.Input{Kind: wire.InputButton, Code: 1, Down: true, X: 5, Y: 6}
	r.send(want)
	r.send(wire.Clipboard{Text: "after"})
	r.barrier()
	if got := in.got(); len(got) != 1 || got[0] != want {
		t.Errorf("applied %+v, want only %+v", got, want)
	}
	if got, _ := clip.Load().(string); got != "after" {
		t.Errorf("clipboard = %q", got)
	}
}

// TestConsentPerTechnician: each technician is asked about by name; an
// answer is for that technician only; the person reads who is watching and
// who controls whenever it changes.
func TestConsentPerTechnician(t *testing.T) {
	p := &fakePrompter{answer: func(q string) bool { return !strings.Contains(q, "Bob") }}
	r := start(t, Config{Prompter: p, Screen: newScreen(), Input: &fakeInput{}})
	r.send(wire.Presence{Viewers: []wire.Present{{ID: 7, Name: "Ann"}, {ID: 9, Name: "Bob"}}})
	r.send(wire.ConsentAsk{Technician: "Ann", What: "view", Viewer: 7})
	if c := expectPast[wire.ConsentReply](r); !c.Granted || c.Viewer != 7 {
		t.Fatalf("Ann: %+v", c)
	}
	// Ann's yes is not Bob's: he is asked, by name, and refused.
	r.send(wire.ConsentAsk{Technician: "Bob", What: "view", Viewer: 9})
	if c := expectPast[wire.ConsentReply](r); c.Granted || c.Viewer != 9 {
		t.Fatalf("Bob: %+v", c)
	}
	r.send(wire.ConsentAsk{Technician: "Ann", What: "control", Viewer: 7})
	expectPast[wire.ConsentReply](r)
	r.send(wire.Presence{Controller: 7, Viewers: []wire.Present{{ID: 7, Name: "Ann"}, {ID: 9, Name: "Bob"}}})
	r.send(wire.Presence{Controller: 7, Viewers: []wire.Present{{ID: 9, Name: "Bob"}}})
	r.barrier()
	q := p.asked()
	if len(q) != 3 || !strings.Contains(q[0], "Ann wants to see") || !strings.Contains(q[1], "Bob wants to see") {
		t.Fatalf("questions %q", q)
	}
	out := r.out.String()
	for _, want := range []string{"Watching your screen now: Ann.\n", "Watching your screen now: Ann. Ann can use your mouse and keyboard.\n", "Nobody is watching your screen now.\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("the person did not read %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "now: Ann, Bob") {
		t.Errorf("Bob, who was refused, is shown as watching:\n%s", out)
	}
}

func TestNoScreen(t *testing.T) {
	r := start(t, Config{Prompter: &fakePrompter{answer: allow}})
	r.send(wire.ConsentAsk{Technician: "Bob", What: "view"})
	if c := expect[wire.ConsentReply](r); c.Granted {
		t.Fatalf("view granted without a screen")
	}
}

func TestStopAndClose(t *testing.T) {
	r := start(t, Config{Prompter: &fakePrompter{answer: allow}})
	r.stop()
	if c := expect[wire.Close](r); c.Reason != StopReason {
		t.Errorf("close = %+v", c)
	}
	if err := <-r.done; err != nil {
		t.Errorf("Run = %v after the customer stopped", err)
	}

	r = start(t, Config{Prompter: &fakePrompter{answer: allow}})
	r.send(wire.Close{Code: 2, Reason: "the technician ended the session"})
	var ce *ClosedError
	if err := <-r.done; !errors.As(err, &ce) || ce.Close.Reason != "the technician ended the session" {
		t.Errorf("Run = %v", err)
	}
}

func TestRefusedHello(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	go func() {
		wire.ReadFrame(server, nil)
		f, _ := wire.Encode(wire.Close{Code: 1, Reason: "this link was already used"})
		wire.WriteFrame(server, f)
		server.Close()
	}()
	err := Run(context.Background(), client, wire.Hello{Token: "t", DeviceID: "d"}, Config{Prompter: &fakePrompter{answer: allow}})
	var ce *ClosedError
	if !errors.As(err, &ce) || ce.Close.Reason != "this link was already used" {
		t.Fatalf("Run = %v", err)
	}
}

// sendFile offers data as name with id and sends it from the offset the
// client answers, returning the client's last frame.
func sendFile(t *testing.T, r *relay, id uint32, name string, data []byte, sum [32]byte) (wire.FileAnswer, wire.Message) {
	t.Helper()
	r.send(wire.FileOffer{ID: id, Name: name, Size: uint64(len(data))})
	a := expect[wire.FileAnswer](r)
	if !a.Accept {
		return a, nil
	}
	for off := a.Offset; off < uint64(len(data)); off += wire.MaxChunk {
		end := min(off+wire.MaxChunk, uint64(len(data)))
		r.send(wire.FileChunk{ID: id, Offset: off, Data: data[off:end]})
	}
	r.send(wire.FileDone{ID: id, SHA256: sum})
	return a, r.next()
}

func TestReceiveFile(t *testing.T) {
	dir := t.TempDir()
	answer := true
	p := &fakePrompter{answer: func(string) bool { return answer }}
	r := start(t, Config{Prompter: p, Downloads: dir})
	data := bytes.Repeat([]byte("switchboard "), 20000) // 240 kB: several chunks
	sum := sha256.Sum256(data)

	a, last := sendFile(t, r, 1, "report.txt", data, sum)
	if !a.Accept || a.Offset != 0 {
		t.Fatalf("answer %+v", a)
	}
	if d, ok := last.(wire.FileDone); !ok || d.SHA256 != sum {
		t.Fatalf("confirmation %+v", last)
	}
	// The same name again: kept beside the first.
	sendFile(t, r, 2, "report.txt", data, sum)
	for _, name := range []string{"report.txt", "report (1).txt"} {
		if got, err := os.ReadFile(filepath.Join(dir, name)); err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if q := p.asked(); len(q) == 0 || !strings.Contains(q[0], "report.txt (234 kB)") {
		t.Errorf("questions %q", q)
	}

	// Resume from what an earlier attempt left.
	os.WriteFile(filepath.Join(dir, "big.bin.part"), data[:1000], 0o600)
	a, last = sendFile(t, r, 3, "big.bin", data, sum)
	if a.Offset != 1000 {
		t.Errorf("resume offset %d, want 1000", a.Offset)
	}
	if _, ok := last.(wire.FileDone); !ok {
		t.Errorf("resumed transfer: %+v", last)
	}

	// Damaged: the .part is deleted, nothing is kept.
	_, last = sendFile(t, r, 4, "bad.bin", data, sha256.Sum256([]byte("other")))
	if c, ok := last.(wire.FileCancel); !ok || !strings.Contains(c.Reason, "damaged") {
		t.Errorf("damaged transfer: %+v", last)
	}

	// Refused: nothing at all is written.
	answer = false
	a, _ = sendFile(t, r, 5, "refused.bin", data, sum)
	if a.Accept {
		t.Error("refused offer accepted")
	}

	// Too large: refused without a question.
	asked := len(p.asked())
	r.send(wire.FileOffer{ID: 6, Name: "huge.iso", Size: MaxFileSize + 1})
	if c := expect[wire.FileCancel](r); c.Reason != "file is larger than 2 GiB" {
		t.Errorf("cancel %+v", c)
	}
	if len(p.asked()) != asked {
		t.Error("asked about a file over the limit")
	}

	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, ","); got != "big.bin,report (1).txt,report.txt" {
		t.Errorf("download directory holds %s", got)
	}
}

func TestPickFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "screenshot.png")
	data := bytes.Repeat([]byte{1, 2, 3, 4, 5}, 30000)
	os.WriteFile(path, data, 0o600)
	p := &fakePrompter{answer: allow, pick: path}
	r := start(t, Config{Prompter: p})

	r.send(wire.ConsentAsk{Technician: "Bob", What: "pick-file"})
	if c := expect[wire.ConsentReply](r); !c.Granted || c.What != "pick-file" {
		t.Fatalf("reply %+v", c)
	}
	o := expect[wire.FileOffer](r)
	if o.ID&outgoingBit == 0 || o.Name != "screenshot.png" || o.Size != uint64(len(data)) {
		t.Fatalf("offer %+v", o)
	}
	const resume = 70000
	r.send(wire.FileAnswer{ID: o.ID, Accept: true, Offset: resume})
	got := append([]byte(nil), data[:resume]...)
	for {
		m := r.next()
		if c, ok := m.(wire.FileChunk); ok {
			if c.Offset != uint64(len(got)) || len(c.Data) > wire.MaxChunk {
				t.Fatalf("chunk at %d (%d bytes) after %d", c.Offset, len(c.Data), len(got))
			}
			got = append(got, c.Data...)
			continue
		}
		d, ok := m.(wire.FileDone)
		if !ok || d.SHA256 != sha256.Sum256(data) || !bytes.Equal(got, data) {
			t.Fatalf("end of transfer: %T, file right: %v", m, bytes.Equal(got, data))
		}
		r.send(wire.FileDone{ID: o.ID, SHA256: d.SHA256})
		break
	}
	r.barrier()
	if out := r.out.String(); !strings.Contains(out, "screenshot.png was sent") {
		t.Errorf("the person read:\n%s", out)
	}

	p.pick = ""
	r.send(wire.ConsentAsk{Technician: "Bob", What: "pick-file"})
	if c := expect[wire.ConsentReply](r); c.Granted {
		t.Fatalf("no file picked, but granted")
	}
}

func TestDeviceID(t *testing.T) {
	id := DeviceID()
	if len(id) != 32 || len(id) > wire.MaxDeviceID {
		t.Fatalf("DeviceID = %q", id)
	}
	if _, err := os.Stat("/etc/machine-id"); err == nil && DeviceID() != id {
		t.Error("DeviceID is not stable")
	}
	info := DeviceInfo(nil)
	if info.Capture || info.Note != NoCaptureNote {
		t.Errorf("info without screens: %+v", info)
	}
	if _, err := wire.Encode(info); err != nil {
		t.Errorf("device info does not encode: %v", err)
	}
}

// notingPrompter is a fakePrompter with a desktop "stop sharing" notice:
// each notice stays up until the session replaces it.
type notingPrompter struct {
	fakePrompter
	notices chan string
}

func (p *notingPrompter) Sharing(ctx context.Context, text string) error {
	p.notices <- text
	<-ctx.Done()
	return ctx.Err()
}

// TestSharingNoticeFollowsPresence: the desktop notice says who is
// watching, and changes when that does, without stopping the session.
func TestSharingNoticeFollowsPresence(t *testing.T) {
	p := &notingPrompter{fakePrompter: fakePrompter{answer: allow}, notices: make(chan string, 8)}
	r := start(t, Config{Prompter: p, Screen: newScreen(), Input: &fakeInput{}})
	r.send(wire.Presence{Viewers: []wire.Present{{ID: 7, Name: "Ann"}}})
	r.send(wire.ConsentAsk{Technician: "Ann", What: "view", Viewer: 7})
	expectPast[wire.ConsentReply](r)
	// "Ann is viewing", replaced at once by "Watching your screen now:
	// Ann." as the presence line appears (in either order of starting).
	if n := <-p.notices; !strings.Contains(n, "Ann") {
		t.Fatalf("first notice %q", n)
	}
	r.send(wire.Presence{Viewers: []wire.Present{{ID: 7, Name: "Ann"}, {ID: 9, Name: "Bob"}}})
	r.send(wire.ConsentAsk{Technician: "Bob", What: "view", Viewer: 9})
	expectPast[wire.ConsentReply](r)
	for n := range p.notices {
		if strings.Contains(n, "Watching your screen now: Ann, Bob.") && strings.Contains(n, "Stop sharing") {
			break
		}
	}
	// The replaced notices did not end the session: it still answers.
	r.send(wire.Ping{Nonce: 5})
	for {
		if m, ok := r.next().(wire.Pong); ok {
			if m.Nonce != 5 {
				t.Fatalf("pong %+v", m)
			}
			break
		}
	}
}

// fakeClipboard is a clipboard the test copies to.
type fakeClipboard struct {
	mu      sync.Mutex
	text    string
	changed chan func() // the watcher's callback, once it runs
}

func (c *fakeClipboard) copy(text string) {
	c.mu.Lock()
	c.text = text
	c.mu.Unlock()
}

func (c *fakeClipboard) read() (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.text, nil
}

func (c *fakeClipboard) watch(ctx context.Context, changed func()) error {
	c.changed <- changed
	<-ctx.Done()
	return nil
}

// TestClipboardToTechnician: what the customer copies while a technician
// controls goes to the technician (and the customer is told); what was
// copied before, what the technician put there, and what is copied while
// nobody controls stay on the computer.
func TestClipboardToTechnician(t *testing.T) {
	cb := &fakeClipboard{changed: make(chan func(), 1), text: "copied before control"}
	r := start(t, Config{Prompter: &fakePrompter{answer: allow}, Input: &fakeInput{},
		Clipboard: func(s string) error { cb.copy(s); return nil }, WatchClipboard: cb.watch, ReadClipboard: cb.read})
	r.send(wire.Presence{Controller: 7, Viewers: []wire.Present{{ID: 7, Name: "Bob"}}})
	r.send(wire.ConsentAsk{Technician: "Bob", What: "control", Viewer: 7})
	expect[wire.ConsentReply](r)
	var changed func()
	select {
	case changed = <-cb.changed:
	case <-time.After(waitTimeout):
		t.Fatal("the clipboard is not watched once control is allowed")
	}
	changed() // a change of owner, the same text: what was there before control stays
	cb.copy("the error message")
	changed()
	if m := expect[wire.Clipboard](r); m.Text != "the error message" {
		t.Fatalf("sent %q", m.Text)
	}
	// The technician's own text is not sent back.
	r.send(wire.Clipboard{Text: "from Bob"})
	r.barrier()
	changed()
	// Nobody controls: nothing goes.
	r.send(wire.Presence{Viewers: []wire.Present{{ID: 7, Name: "Bob"}}})
	r.barrier()
	cb.copy("a password")
	changed()
	r.send(wire.Presence{Controller: 7, Viewers: []wire.Present{{ID: 7, Name: "Bob"}}})
	// The client must know Bob controls again before the next copy;
	// without the barrier a loaded machine let the change win the race.
	if ms := r.barrier(); len(ms) > 0 {
		t.Fatalf("sent %v when control came back", ms)
	}
	cb.copy("more")
	changed()
	if m := expect[wire.Clipboard](r); m.Text != "more" {
		t.Fatalf("sent %q; the technician's own text or what was copied without control went out", m.Text)
	}
	r.barrier()
	if out := r.out.String(); !strings.Contains(out, "The text you copied was sent to Bob.") {
		t.Errorf("the person read:\n%s", out)
	}
}
