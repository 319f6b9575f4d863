package desk

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestChatBounds: what a customer writes before anyone accepts is bounded
// per session and box-wide; the count is given back on acceptance; the
// whole transcript is bounded; a session nobody accepted loses its chat a
// day after it ended and leaves the history after 30 days.
func TestChatBounds(t *testing.T) {
	f := newFixture(t)
	line := strings.Repeat("x", MaxChat)
	ss, _, err := f.d.StartWithTechnician(ctx, f.site, 2, Customer{Name: "Cleo"})
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	for {
		_, err := f.d.CustomerSays(ctx, ss, line)
		if errors.Is(err, ErrChatUnreadFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if sent++; sent > MaxUnreadChat/MaxChat {
			t.Fatal("the unread bound never held")
		}
	}
	if sent != MaxUnreadChat/MaxChat {
		t.Fatalf("%d messages before acceptance, want %d", sent, MaxUnreadChat/MaxChat)
	}
	if n, _ := f.d.UnreadChat(ctx); n != sent*MaxChat {
		t.Fatalf("box-wide unread %d, want %d", n, sent*MaxChat)
	}
	// A refused message leaves no trace.
	if msgs, _ := f.d.Messages(ctx, ss.ID, 0); len(msgs) != sent {
		t.Fatalf("%d messages stored", len(msgs))
	}
	if _, err := f.d.Accept(ctx, f.ann, ss.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.d.UnreadChat(ctx); n != 0 {
		t.Fatalf("unread after acceptance: %d", n)
	}
	// Accepted, the chat goes on up to the transcript bound.
	for i := 0; ; i++ {
		_, err := f.d.CustomerSays(ctx, ss, line)
		if errors.Is(err, ErrChatFull) {
			break
		}
		if err != nil || i > MaxTranscript/MaxChat {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if _, err := f.d.Say(ctx, f.ann, ss.ID, line); !errors.Is(err, ErrChatFull) {
		t.Fatalf("the technician past the bound: %v", err)
	}

	// The box-wide bound (lowered here from MaxUnreadChatBox to keep the
	// test short): many sessions, none accepted.
	f.d.unreadBox = 5 * MaxUnreadChat
	var open []Session
	for total := 0; total <= f.d.unreadBox; {
		s2, _, err := f.d.StartWithTechnician(ctx, f.site, 2, Customer{Name: "Spam"})
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, s2)
		for range MaxUnreadChat / MaxChat {
			if _, err := f.d.CustomerSays(ctx, s2, line); errors.Is(err, ErrChatBoxFull) {
				total = f.d.unreadBox + 1
				break
			} else if err != nil {
				t.Fatal(err)
			}
			total += MaxChat
		}
	}
	if n, _ := f.d.UnreadChat(ctx); n > f.d.unreadBox || n < f.d.unreadBox-MaxChat {
		t.Fatalf("box-wide unread %d, bound %d", n, f.d.unreadBox)
	}
	// They expire unanswered; a day later their chat is gone and the
	// budget is back; after 30 days the sessions are too.
	f.clk.t = f.clk.t.Add(25 * time.Hour)
	if _, err := f.d.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.d.UnreadChat(ctx); n == 0 {
		t.Fatal("the chat of sessions that just expired was dropped at once")
	}
	f.clk.t = f.clk.t.Add(KeepUnansweredChat + time.Minute)
	if _, err := f.d.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.d.UnreadChat(ctx); n != 0 {
		t.Fatalf("unread after the unanswered sessions aged out: %d", n)
	}
	if msgs, _ := f.d.Messages(ctx, open[0].ID, 0); len(msgs) != 0 {
		t.Fatalf("an unanswered session kept %d messages", len(msgs))
	}
	if _, _, err := f.d.Record(ctx, admin, open[0].ID); err != nil {
		t.Fatalf("an unanswered session left the history too early: %v", err)
	}
	f.clk.t = f.clk.t.Add(KeepUnanswered)
	if _, err := f.d.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.d.Record(ctx, admin, open[0].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an unanswered session 30 days on: %v", err)
	}
	// The accepted one stays, with its chat.
	if msgs, _ := f.d.Messages(ctx, ss.ID, 0); len(msgs) == 0 {
		t.Fatal("an accepted session lost its chat")
	}
}

// TestPruneKeepsTransferredSessions: a session accepted once and then
// transferred back to a queue (no owner) that expired there is history,
// not an unanswered session.
func TestPruneKeepsTransferredSessions(t *testing.T) {
	f := newFixture(t)
	ss, _, _ := f.d.StartWithTechnician(ctx, f.site, 2, Customer{Name: "Cleo"})
	if _, err := f.d.Accept(ctx, f.ann, ss.ID); err != nil {
		t.Fatal(err)
	}
	f.d.Say(ctx, f.ann, ss.ID, "hello")
	if _, err := f.d.Transfer(ctx, f.ann, ss.ID, Queue{QueueChannel, f.tier1.ID}, ""); err != nil {
		t.Fatal(err)
	}
	f.clk.t = f.clk.t.Add(2 * time.Hour)
	if n, err := f.d.ExpireDue(ctx); err != nil || n != 1 {
		t.Fatalf("expired %d: %v", n, err)
	}
	f.clk.t = f.clk.t.Add(KeepUnanswered + 24*time.Hour)
	if _, err := f.d.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	if _, msgs, err := f.d.Record(ctx, admin, ss.ID); err != nil || len(msgs) != 1 {
		t.Fatalf("a worked session left the history: %d messages, %v", len(msgs), err)
	}
}

// TestPruneFailedSignIns: failed sign-ins leave the audit log after 90
// days; every other entry stays.
func TestPruneFailedSignIns(t *testing.T) {
	f := newFixture(t)
	for _, action := range []string{"sign-in-failed", "sign-in", "sign-in-failed"} {
		if err := f.d.RecordAccount(ctx, AccountRecord{Action: action, UserID: 2, Name: "ann", Source: "192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
	}
	f.clk.t = f.clk.t.Add(KeepFailedSignIns + time.Hour)
	f.d.RecordAccount(ctx, AccountRecord{Action: "sign-in-failed", UserID: 2, Name: "ann"})
	if _, err := f.d.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	entries, err := f.d.Audit(ctx, admin, AuditFilter{Kind: KindAccount})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Action)
	}
	if len(got) != 2 || got[0] != "sign-in-failed" || got[1] != "sign-in" {
		t.Fatalf("after pruning: %v", got)
	}
}
