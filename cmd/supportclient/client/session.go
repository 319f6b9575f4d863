// Package client is the customer's side of a remote-support session
// (docs/remote-control.md): it says hello with the stamped token, reports
// the device, asks the person at the keyboard before anything is shown or
// done, then streams the screen as tiles, applies a technician's input and
// exchanges files, until either side ends the session.
//
// Run drives one session over any byte stream (a QUIC stream in the
// program, a pipe in tests). It has one loop that owns the session's
// state; prompts, screen capture and outgoing files run in goroutines that
// write frames through one locked writer and hand results back to the loop.
package client

import (
	"context"
	"errors"
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/i18n"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboardhq/switchboard/appliance/wire"
	"github.com/switchboardhq/switchboard/cmd/supportclient/prompt"
)

// Default timings of a session.
const (
	DefaultConsentTimeout = 60 * time.Second
	DefaultFrameInterval  = 50 * time.Millisecond
	DefaultPingInterval   = 15 * time.Second
)

// StopReason is what the relay and technicians are told when the customer
// ends the session.
const StopReason = "the customer stopped the session"

// Screen captures the screen to share.
type Screen interface {
	// Capture returns the whole screen as RGB pixels, row-major, and its
	// size. The slice may be reused by the next call.
	Capture() (rgb []byte, w, h int, err error)
}

// Input applies a technician's input to the machine.
type Input interface {
	Apply(in wire.Input) error
	// ReleaseAll lets go of keys and buttons held down through Apply.
	ReleaseAll()
}

// Config is what a session works with.
type Config struct {
	Box      string // the box's name, shown to the person
	Lang     string // the language of what the person reads (i18n)
	Prompter prompt.Prompter
	// Screen and Input are nil where capture or input is not available.
	Screen Screen
	Input  Input
	// Clipboard sets the clipboard to text a controlling technician sent;
	// nil tells the person it arrived and drops it.
	Clipboard func(text string) error
	// WatchClipboard has changed called whenever what is copied changes,
	// until ctx ends (it may return at once, or only then); ReadClipboard
	// reads the clipboard's text. Either nil: the
	// customer's clipboard is never sent.
	WatchClipboard func(ctx context.Context, changed func()) error
	ReadClipboard  func() (string, error)
	Info           wire.DeviceInfo
	Downloads      string    // directory for received files
	Out            io.Writer // what the person at the keyboard reads
	Log            *slog.Logger

	ConsentTimeout time.Duration // no answer in this time is a denial
	FrameInterval  time.Duration // the shortest time between frames
	PingInterval   time.Duration
}

// ClosedError is the peer's Close: the relay refused the hello or ended
// the session.
type ClosedError struct{ Close wire.Close }

func (e *ClosedError) Error() string { return "the session was closed: " + e.Close.Reason }

// errStopped means the person at the keyboard stopped the session.
var errStopped = errors.New("the customer stopped the session")

// session is the state of one Run; fields without a note belong to the
// loop goroutine.
type session struct {
	cfg Config
	log *slog.Logger
	out io.Writer

	wmu sync.Mutex // one frame at a time on the stream
	w   io.Writer

	ctx  context.Context   // ends with the session
	do   chan func() error // work handed back to the loop
	jobs chan func()       // prompts, asked one at a time
	wg   sync.WaitGroup    // goroutines to wait for
	full atomic.Bool       // the capture loop resends every tile

	technician string                    // the last name a question came with
	viewers    map[uint64]*viewerConsent // the answers, per technician
	present    []wire.Present            // who is in the session (Presence)
	controller uint64                    // who controls (Presence)
	shown      string                    // the last "who is watching" line
	// noticeCancel closes the "stop sharing" notice shown, to show a newer.
	noticeCancel context.CancelFunc
	stopCapture  context.CancelFunc
	watching     bool                 // the clipboard is followed
	clipSeen     string               // the clipboard's text when last seen (sent or not)
	fromTech     string               // the text a technician last put on the clipboard
	prompting    int                  // questions on screen or waiting: input is dropped meanwhile
	incoming     map[uint32]*incoming // nil value: offer being asked
	outgoing     map[uint32]*outgoing
	nextOut      uint32
}

// consentState is one consent: not asked, being asked, granted.
type consentState uint8

const (
	notAsked consentState = iota
	asking
	granted
)

// closeTimeout bounds the writes of a session that is ending.
const closeTimeout = 2 * time.Second

// maxQueuedPrompts bounds the questions waiting for the person; more are
// refused at once.
const maxQueuedPrompts = 8

// Run says hello on rw, reports the device and serves the session until
// the relay closes it (a *ClosedError), the connection fails, or ctx is
// done — then it tells the relay the customer stopped and returns nil.
// The caller closes rw after Run returns.
func Run(ctx context.Context, rw io.ReadWriter, hello wire.Hello, cfg Config) error {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.ConsentTimeout == 0 {
		cfg.ConsentTimeout = DefaultConsentTimeout
	}
	if cfg.FrameInterval == 0 {
		cfg.FrameInterval = DefaultFrameInterval
	}
	if cfg.PingInterval == 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &session{
		cfg: cfg, log: cfg.Log, out: cfg.Out, w: rw, ctx: ctx,
		do: make(chan func() error), jobs: make(chan func(), maxQueuedPrompts),
		incoming: map[uint32]*incoming{}, outgoing: map[uint32]*outgoing{}, viewers: map[uint64]*viewerConsent{},
	}
	defer func() {
		cancel()
		s.wg.Wait() // every goroutine but the reader watches ctx
	}()

	hello.Role = wire.RoleClient
	hello.Version = wire.Version
	if err := s.send(hello); err != nil {
		return fmt.Errorf("hello: %w", err)
	}
	welcome, err := s.welcome(rw)
	if err != nil {
		return err
	}
	s.log.Info("session open", "session", welcome.Session)
	if err := s.send(cfg.Info); err != nil {
		return fmt.Errorf("device info: %w", err)
	}
	s.say("Connected to %s. Waiting for a technician…", cfg.Box)
	s.say("Press Ctrl-C or close this window to stop at any time.")

	msgs := make(chan wire.Message)
	readErr := make(chan error, 1)
	// The reader ends when the caller closes rw.
	go func() { readErr <- s.read(rw, msgs) }()
	s.wg.Go(s.prompts)

	err = s.loop(msgs, readErr)
	cancel() // stop capture, prompts and senders
	if wd, ok := rw.(interface{ SetWriteDeadline(time.Time) error }); ok {
		// A write stuck on a peer that stopped reading must not keep the
		// session from ending.
		wd.SetWriteDeadline(time.Now().Add(closeTimeout))
	}
	if s.anyone(viewState) || s.anyone(controlState) {
		s.say("Screen sharing has ended.")
	}
	s.endTransfers()
	if cfg.Input != nil {
		cfg.Input.ReleaseAll()
	}
	if errors.Is(err, errStopped) {
		s.send(wire.Close{Reason: StopReason})
		s.say("You stopped the session.")
		return nil
	}
	return err
}

// welcome reads the relay's answer to the hello.
func (s *session) welcome(r io.Reader) (wire.Welcome, error) {
	f, err := wire.ReadFrame(r, nil)
	if err != nil {
		return wire.Welcome{}, fmt.Errorf("waiting for the box to answer: %w", err)
	}
	m, err := wire.Decode(f)
	if err != nil {
		return wire.Welcome{}, fmt.Errorf("the box's answer: %w", err)
	}
	switch m := m.(type) {
	case wire.Welcome:
		return m, nil
	case wire.Close:
		return wire.Welcome{}, &ClosedError{Close: m}
	}
	return wire.Welcome{}, fmt.Errorf("the box answered the hello with %T", m)
}

// send writes one message as a frame.
func (s *session) send(m wire.Message) error {
	f, err := wire.Encode(m)
	if err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return wire.WriteFrame(s.w, f)
}

// read passes decoded messages to the loop until the stream fails.
func (s *session) read(r io.Reader, msgs chan<- wire.Message) error {
	for {
		f, err := wire.ReadFrame(r, nil)
		if err != nil {
			return err
		}
		m, err := wire.Decode(f)
		if err != nil {
			return fmt.Errorf("from the box: %w", err)
		}
		select {
		case msgs <- m:
		case <-s.ctx.Done():
			return nil
		}
	}
}

// post hands f to the loop, unless the session is over.
func (s *session) post(f func() error) {
	select {
	case s.do <- f:
	case <-s.ctx.Done():
	}
}

func (s *session) loop(msgs <-chan wire.Message, readErr <-chan error) error {
	ping := time.NewTicker(s.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return errStopped
		case err := <-readErr:
			if errors.Is(err, io.EOF) {
				return errors.New("the box closed the connection")
			}
			return fmt.Errorf("connection lost: %w", err)
		case f := <-s.do:
			if err := f(); err != nil {
				return err
			}
		case <-ping.C:
			if err := s.send(wire.Ping{Nonce: rand.Uint64()}); err != nil {
				return err
			}
		case m := <-msgs:
			if err := s.handle(m); err != nil {
				return err
			}
		}
	}
}

func (s *session) handle(m wire.Message) error {
	switch m := m.(type) {
	case wire.Ping:
		return s.send(wire.Pong(m))
	case wire.Pong:
	case wire.Close:
		return &ClosedError{Close: m}
	case wire.ConsentAsk:
		return s.consent(m)
	case wire.Presence:
		s.presence(m)
	case wire.FullFrame:
		s.full.Store(true)
	case wire.Input:
		if !s.controlling() || s.cfg.Input == nil {
			s.log.Debug("input dropped: no control")
			return nil
		}
		if s.prompting > 0 {
			// A question is on the screen: the technician in control
			// must not answer it for the customer.
			s.log.Debug("input dropped: a question is open")
			return nil
		}
		if err := s.cfg.Input.Apply(m); err != nil {
			s.log.Warn("input", "err", err)
		}
	case wire.Clipboard:
		s.clipboard(m.Text)
	case wire.FileOffer:
		return s.fileOffer(m)
	case wire.FileAnswer:
		return s.fileAnswer(m)
	case wire.FileChunk:
		return s.fileChunk(m)
	case wire.FileDone:
		return s.fileDone(m)
	case wire.FileCancel:
		s.fileCancel(m)
	default:
		s.log.Debug("ignored", "type", fmt.Sprintf("%T", m))
	}
	return nil
}

func (s *session) clipboard(text string) {
	if !s.controlling() {
		s.log.Debug("clipboard dropped: no control")
		return
	}
	if s.cfg.Clipboard != nil {
		if err := s.cfg.Clipboard(text); err == nil {
			s.fromTech = strings.ReplaceAll(text, "\r\n", "\n")
			s.say("%s put text on your clipboard.", s.tech())
			return
		} else {
			s.log.Warn("clipboard", "err", err)
		}
	}
	s.say("%s sent text for your clipboard, which cannot be set here:", s.tech())
	fmt.Fprintln(s.out, prompt.Clean(text, 2000))
}

// tech is the technician's name for messages.
// say tells the person at the keyboard format, in their language, on a
// line of its own.
func (s *session) say(format string, args ...any) {
	fmt.Fprintln(s.out, s.t(format, args...))
}

// t is format in the person's language.
func (s *session) t(format string, args ...any) string { return i18n.T(s.cfg.Lang, format, args...) }

func (s *session) tech() string {
	if s.technician == "" {
		return s.t("The technician")
	}
	return s.technician
}
