package desk

import (
	"errors"
	"testing"
	"time"
)

func TestPresentations(t *testing.T) {
	f := newFixture(t)
	p, key, link, ended, err := f.d.StartPresentation(ctx, f.ann)
	if err != nil || len(key) != 9 || link == "" || len(ended) != 0 || p.Name != f.ann.Public() {
		t.Fatalf("start: %+v %q %q %v %v", p, key, link, ended, err)
	}
	for _, code := range []string{key, key[:3] + " " + key[3:6] + " " + key[6:], link} {
		if got, err := f.d.PresentationFor(ctx, code); err != nil || got.ID != p.ID {
			t.Fatalf("join with %q: %+v %v", code, got, err)
		}
	}
	if _, err := f.d.PresentationFor(ctx, "000000000"); !errors.Is(err, ErrNoPresentation) {
		t.Fatalf("a wrong key: %v", err)
	}
	// Only the presenter publishes to it and ends it.
	if _, err := f.d.PresentationOf(ctx, f.bob, p.ID); !errors.Is(err, ErrNoPresentation) {
		t.Fatalf("another technician's: %v", err)
	}
	if err := f.d.EndPresentation(ctx, f.bob, p.ID); !errors.Is(err, ErrNoPresentation) {
		t.Fatalf("ended by another: %v", err)
	}
	// A second one by the same technician ends the first.
	p2, key2, _, ended, err := f.d.StartPresentation(ctx, f.ann)
	if err != nil || len(ended) != 1 || ended[0] != p.ID {
		t.Fatalf("second: %v %v", ended, err)
	}
	if _, err := f.d.PresentationFor(ctx, key); !errors.Is(err, ErrNoPresentation) {
		t.Fatalf("the first key after the second start: %v", err)
	}
	// Forgotten ones expire.
	f.clk.t = f.clk.t.Add(MaxPresentation)
	if _, err := f.d.PresentationFor(ctx, key2); !errors.Is(err, ErrNoPresentation) {
		t.Fatalf("after %v: %v", MaxPresentation, err)
	}
	_, _, _, ended, _ = f.d.StartPresentation(ctx, f.bob)
	if len(ended) != 1 || ended[0] != p2.ID {
		t.Fatalf("the expired one was not ended: %v", ended)
	}
	f.clk.t = f.clk.t.Add(time.Minute)
	if err := f.d.EndPresentation(ctx, f.ann, p2.ID); !errors.Is(err, ErrNoPresentation) {
		t.Fatalf("ending an ended one: %v", err)
	}
	// A technician without the permission cannot present.
	noStart := f.bob
	noStart.Perms = map[Perm]bool{}
	if _, _, _, _, err := f.d.StartPresentation(ctx, noStart); !errors.Is(err, ErrForbidden) {
		t.Fatalf("without start-sessions: %v", err)
	}
}
