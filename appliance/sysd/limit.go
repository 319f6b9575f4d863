package sysd

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Settings of the repeat limit on log lines.
const (
	limitBurst  = 20          // lines with one message per window
	limitWindow = time.Minute // the window
	limitKeys   = 1000        // messages remembered at once
)

// limitHandler passes at most burst records below slog.LevelError with the
// same message per window and counts the rest: the first record let through
// after a window in which some were dropped carries "suppressed", their
// number. Refused requests log one line each; this keeps a flood of them
// from filling the journal while every kind of refusal still shows. Windows
// follow the records' own times.
type limitHandler struct {
	next  slog.Handler
	state *limitState
}

type limitState struct {
	burst  int
	window time.Duration
	mu     sync.Mutex
	counts map[string]*limitCount
}

type limitCount struct {
	start      time.Time
	n          int // records in the window
	suppressed int // dropped and not yet reported
}

// LimitRepeats wraps h so that a message below error level is written at
// most 20 times a minute; see limitHandler.
func LimitRepeats(h slog.Handler) slog.Handler {
	return &limitHandler{next: h, state: &limitState{
		burst: limitBurst, window: limitWindow, counts: make(map[string]*limitCount),
	}}
}

func (h *limitHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *limitHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &limitHandler{next: h.next.WithAttrs(attrs), state: h.state}
}

func (h *limitHandler) WithGroup(name string) slog.Handler {
	return &limitHandler{next: h.next.WithGroup(name), state: h.state}
}

func (h *limitHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		return h.next.Handle(ctx, r)
	}
	pass, suppressed := h.state.admit(r.Message, r.Time)
	if !pass {
		return nil
	}
	if suppressed > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", suppressed))
	}
	return h.next.Handle(ctx, r)
}

// admit reports whether a record with msg at t is written and how many
// records with msg were dropped before it.
func (s *limitState) admit(msg string, t time.Time) (bool, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.counts[msg]
	if !ok {
		if len(s.counts) >= limitKeys {
			for k, old := range s.counts { // let go of the settled ones
				if old.suppressed == 0 {
					delete(s.counts, k)
				}
			}
		}
		c = &limitCount{start: t}
		s.counts[msg] = c
	}
	if t.Sub(c.start) >= s.window || t.Before(c.start) {
		c.start, c.n = t, 0
	}
	c.n++
	if c.n > s.burst {
		c.suppressed++
		return false, 0
	}
	n := c.suppressed
	c.suppressed = 0
	return true, n
}
