package auth

import (
	"fmt"
	"testing"
	"time"
)

func fail(t *testing.T, th *throttle, account, source string) {
	t.Helper()
	if wait := th.begin(account, source); wait != 0 {
		t.Fatalf("begin(%q, %q) refused for %v", account, source, wait)
	}
	th.end(failed, account, source)
}

// peek is how long an attempt on key must wait, without reserving one.
func peek(th *throttle, key string) time.Duration {
	th.mu.Lock()
	defer th.mu.Unlock()
	return th.waitLocked(key, th.now())
}

func TestThrottleGrowthAndCap(t *testing.T) {
	clock := newFakeClock()
	th := newThrottle(clock.Now, 100)
	for range 3 {
		fail(t, th, "acct", "")
	}
	want := time.Second
	for i := range 20 {
		if got := th.begin("acct", ""); got != want {
			t.Fatalf("after %d failures: wait %v, want %v", 3+i, got, want)
		}
		clock.Advance(want - time.Millisecond)
		if got := th.begin("acct", ""); got != time.Millisecond {
			t.Fatalf("just before the window ends: wait %v", got)
		}
		clock.Advance(time.Millisecond)
		fail(t, th, "acct", "")
		want = min(2*want, 15*time.Minute)
	}
	if want != 15*time.Minute {
		t.Fatalf("delay never reached the cap: %v", want)
	}
	// Other keys are untouched.
	if got := th.begin("other", ""); got != 0 {
		t.Fatalf("unrelated key waits %v", got)
	}
}

func TestThrottleDelays(t *testing.T) {
	th := newThrottle(time.Now, 1)
	for n, want := range map[int]time.Duration{
		0: 0, 2: 0, 3: time.Second, 4: 2 * time.Second, 5: 4 * time.Second,
		12: 512 * time.Second, 13: 15 * time.Minute, 1000: 15 * time.Minute,
	} {
		if got := th.delay(n); got != want {
			t.Errorf("delay(%d) = %v, want %v", n, got, want)
		}
	}
}

func TestThrottleSuccess(t *testing.T) {
	clock := newFakeClock()
	th := newThrottle(clock.Now, 100)
	// Failures from one source spread over several accounts.
	for i := range 3 {
		fail(t, th, fmt.Sprint("acct", i), srcPrefix+"x")
	}
	if got := th.begin("acct9", srcPrefix+"x"); got != time.Second {
		t.Fatalf("source after 3 failures: wait %v", got)
	}
	clock.Advance(time.Second)
	if got := th.begin("acct0", srcPrefix+"x"); got != 0 {
		t.Fatalf("after the window: %v", got)
	}
	th.end(succeeded, "acct0", srcPrefix+"x")
	// The account key is cleared; the source key is halved to 1 failure.
	th.mu.Lock()
	_, acct := th.entries["acct0"]
	src := th.entries[srcPrefix+"x"].Value.(*throttleEntry).failures
	th.mu.Unlock()
	if acct || src != 1 {
		t.Fatalf("after success: account remembered %v, source failures %d", acct, src)
	}
	fail(t, th, "acct5", srcPrefix+"x")
	fail(t, th, "acct6", srcPrefix+"x")
	if got := th.begin("acct7", srcPrefix+"x"); got != time.Second {
		t.Fatalf("source at 3 failures again: wait %v", got)
	}
	// An abandoned attempt counts for nothing.
	clock.Advance(time.Second)
	if got := th.begin("acct7", srcPrefix+"x"); got != 0 {
		t.Fatal(got)
	}
	th.end(abandoned, "acct7", srcPrefix+"x")
	if got := th.begin("acct7", srcPrefix+"x"); got != 0 {
		t.Fatalf("abandoned attempt counted: %v", got)
	}
	th.end(abandoned, "acct7", srcPrefix+"x")
}

// TestThrottleInFlight checks that attempts not yet judged count as failures,
// so parallel guesses cannot all start before the first fails.
func TestThrottleInFlight(t *testing.T) {
	clock := newFakeClock()
	th := newThrottle(clock.Now, 100)
	for i := range 3 {
		if got := th.begin("acct", fmt.Sprint("src", i)); got != 0 {
			t.Fatalf("attempt %d refused: %v", i, got)
		}
	}
	if got := th.begin("acct", "src9"); got != time.Second {
		t.Fatalf("fourth parallel attempt: wait %v", got)
	}
	th.end(succeeded, "acct", "src0")
	if got := th.begin("acct", "src9"); got != 0 {
		t.Fatalf("after one ended: wait %v", got)
	}
	for _, s := range []string{"src1", "src2", "src9"} {
		th.end(abandoned, "acct", s)
	}
	if n := th.size(); n != 0 {
		t.Fatalf("%d keys remembered with nothing to remember", n)
	}
}

func TestThrottleBounded(t *testing.T) {
	clock := newFakeClock()
	th := newThrottle(clock.Now, 10)
	for i := range 25 {
		for range 3 {
			fail(t, th, fmt.Sprint("acct", i), "")
		}
		clock.Advance(time.Millisecond)
		if n := th.size(); n > 10 {
			t.Fatalf("%d keys remembered, limit 10", n)
		}
	}
	// The most recently failed keys are kept, the oldest were let go.
	if got := th.begin("acct24", ""); got == 0 {
		t.Fatal("recent key forgotten")
	}
	if got := th.begin("acct0", ""); got != 0 {
		t.Fatalf("oldest key still remembered: %v", got)
	}
}

func TestThrottleForgets(t *testing.T) {
	clock := newFakeClock()
	th := newThrottle(clock.Now, 100)
	for range 14 {
		clock.Advance(peek(th, "acct")) // wait out the delay, if any
		fail(t, th, "acct", "")
	}
	clock.Advance(16 * time.Minute)
	fail(t, th, "acct", "")
	if got := th.begin("acct", ""); got != 15*time.Minute {
		t.Fatalf("consecutive failures reset too early: %v", got)
	}
	clock.Advance(24 * time.Hour)
	if got := th.begin("acct", ""); got != 0 {
		t.Fatalf("a day later: %v", got)
	}
	th.end(succeeded, "acct", "")
	if n := th.size(); n != 0 {
		t.Fatalf("%d keys remembered", n)
	}
}
