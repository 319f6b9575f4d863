package bus

import (
	"testing"
	"time"
)

func TestPublishFiltersAndNeverBlocks(t *testing.T) {
	b := New(func() time.Time { return time.Unix(1, 0) })
	all := b.Subscribe(nil, 10)
	mine := b.Subscribe(func(e Event) bool { return e.Owner == 7 }, 10)
	slow := b.Subscribe(nil, 1)
	for i := range 5 {
		b.Publish(Event{Kind: "x", Owner: uint64(5 + i)})
	}
	if len(all.C) != 5 || len(mine.C) != 1 {
		t.Fatalf("all got %d, mine got %d", len(all.C), len(mine.C))
	}
	if e := <-mine.C; e.Owner != 7 || e.Seq != 3 || !e.At.Equal(time.Unix(1, 0)) {
		t.Fatalf("event %+v", e)
	}
	if !slow.Lagged() || slow.Lagged() {
		t.Fatal("the slow subscriber was not told it lagged, once")
	}
	all.Close()
	all.Close()
	n := 0
	for range all.C { // buffered events stay readable, then C is closed
		n++
	}
	if n != 5 {
		t.Fatalf("read %d events after Close, want the 5 buffered", n)
	}
	b.Publish(Event{Kind: "after close"})
	if b.Seq() != 6 {
		t.Fatalf("seq %d", b.Seq())
	}
}
