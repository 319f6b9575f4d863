package sysd

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLimitRepeats(t *testing.T) {
	var buf bytes.Buffer
	h := LimitRepeats(slog.NewTextHandler(&buf, nil))
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	emit := func(level slog.Level, msg string, t time.Time) {
		r := slog.NewRecord(t, level, msg, 0)
		if err := h.Handle(context.Background(), r); err != nil {
			panic(err)
		}
	}
	for i := range 100 {
		emit(slog.LevelInfo, "wrong session key", at.Add(time.Duration(i)*time.Millisecond))
		emit(slog.LevelError, "store failed", at)
	}
	emit(slog.LevelWarn, "other", at)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	count := func(s string) (n int) {
		for _, l := range lines {
			if strings.Contains(l, s) {
				n++
			}
		}
		return n
	}
	if n := count("wrong session key"); n != limitBurst {
		t.Fatalf("%d repeated lines written, want %d", n, limitBurst)
	}
	if n := count("store failed"); n != 100 {
		t.Fatalf("errors were limited: %d of 100", n)
	}
	if count("msg=other") != 1 {
		t.Fatal("another message was held back by the first")
	}
	// The next window lets the message through again, with the count.
	buf.Reset()
	emit(slog.LevelInfo, "wrong session key", at.Add(time.Minute))
	if !strings.Contains(buf.String(), "suppressed=80") {
		t.Fatalf("next window: %q", buf.String())
	}
	// WithAttrs shares the count.
	buf.Reset()
	l := slog.New(h).With("subsys", "portal")
	for range limitBurst + 5 {
		l.Info("limited twice")
	}
	if n := strings.Count(buf.String(), "limited twice"); n != limitBurst {
		t.Fatalf("through With: %d lines", n)
	}
}
