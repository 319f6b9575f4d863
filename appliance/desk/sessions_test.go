package desk

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/bus"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// fixture is a desk with a clock, a bus, two technicians and two channels.
type fixture struct {
	d            *Service
	clk          *clock
	events       *bus.Sub
	ann, bob     Actor
	tier1, tier2 Channel
	site         Site
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{clk: &clock{time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)}}
	f.d = newDesk(t)
	f.d.now = f.clk.now
	f.d.guard.now = f.clk.now
	b := bus.New(f.clk.now)
	f.events = b.Subscribe(nil, 1000)
	key := []byte("test key")
	f.d.WithEvents(b).WithHasher(func(p string, s []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(p + "\x00"))
		m.Write(s)
		return m.Sum(nil)
	})
	for _, id := range []uint64{2, 3} {
		if _, err := f.d.SaveTechnician(ctx, admin, Technician{UserID: id, PrivateName: fmt.Sprint("tech", id), PublicName: fmt.Sprint("Tech ", id)}, RoleTechnician); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	f.tier1, err = f.d.SaveChannel(ctx, admin, Channel{Name: "Tier 1", ExpiryMinutes: 30, Technicians: []uint64{2, 3}, Default: true})
	if err != nil {
		t.Fatal(err)
	}
	f.tier2, _ = f.d.SaveChannel(ctx, admin, Channel{Name: "Tier 2", ExpiryMinutes: 60, Technicians: []uint64{3}})
	f.site, _ = f.d.SaveSite(ctx, admin, Site{Name: "Main", Hostnames: []string{"localhost"}, TechList: true, SessionKey: true, Survey: true, AskName: true})
	f.ann, _ = f.d.ActorFor(ctx, 2, "Ann", RoleTechnician)
	f.bob, _ = f.d.ActorFor(ctx, 3, "Bob", RoleTechnician)
	return f
}

// kinds drains the events published so far.
func (f *fixture) kinds() []string {
	var out []string
	for {
		select {
		case e := <-f.events.C:
			out = append(out, string(e.Kind))
		default:
			return out
		}
	}
}

func TestLifecycleAndEvents(t *testing.T) {
	f := newFixture(t)
	ss, tok, err := f.d.StartWithTechnician(ctx, f.site, 2, Customer{Name: "Cleo"})
	if err != nil {
		t.Fatal(err)
	}
	if ss.Status != Ready || ss.Queue != (Queue{QueueTechnician, 2}) || tok == "" {
		t.Fatalf("started: %+v", ss)
	}
	if got, err := f.d.SessionByCustomer(ctx, tok); err != nil || got.ID != ss.ID {
		t.Fatal("the customer token does not find the session")
	}
	if _, err := f.d.Accept(ctx, f.bob, ss.ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("bob accepted ann's personal session: %v", err)
	}
	if _, err := f.d.Accept(ctx, f.ann, ss.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.Say(ctx, f.ann, ss.ID, "Hello <b>Cleo</b>"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.Invite(ctx, f.ann, ss.ID, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.Say(ctx, f.bob, ss.ID, "I'm here too"); err != nil {
		t.Fatalf("collaborator chat: %v", err)
	}
	if _, err := f.d.Leave(ctx, f.bob, ss.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.Transfer(ctx, f.ann, ss.ID, Queue{QueueChannel, f.tier2.ID}, "needs tier 2"); err != nil {
		t.Fatal(err)
	}
	moved, _ := f.d.Session(ctx, f.bob, ss.ID)
	if moved.Status != Ready || moved.Owner != 0 || moved.Queue.ID != f.tier2.ID {
		t.Fatalf("after transfer: %+v", moved)
	}
	if _, err := f.d.Accept(ctx, f.ann, ss.ID); !errors.Is(err, ErrForbidden) {
		t.Fatal("ann took a session from a channel she does not serve")
	}
	if _, err := f.d.Accept(ctx, f.bob, ss.ID); err != nil {
		t.Fatal(err)
	}
	closed, err := f.d.Close(ctx, f.bob, ss.ID)
	if err != nil || closed.Status != Closed {
		t.Fatalf("close: %v %+v", err, closed)
	}
	msgs, _ := f.d.Messages(ctx, ss.ID, 0)
	if len(msgs) != 2 || msgs[0].Text != "Hello <b>Cleo</b>" {
		t.Fatalf("chat: %+v", msgs)
	}
	want := "session.ready session.active chat.message session.invited chat.message session.left session.transferred session.active session.closed"
	if got := fmt.Sprint(f.kinds()); got != "["+want+"]" {
		t.Fatalf("events %s\nwant [%s]", got, want)
	}
	var trail []string
	for _, e := range closed.Trail {
		trail = append(trail, e.Event)
	}
	if fmt.Sprint(trail) != "[created ready accepted invited left transferred accepted closed]" {
		t.Fatalf("trail %v", trail)
	}
	queues, _ := f.d.Queues(ctx, f.bob)
	for _, q := range queues {
		if len(q.Sessions) != 0 {
			t.Fatalf("a closed session is still queued in %s", q.Name)
		}
	}
}

func TestSessionKeys(t *testing.T) {
	f := newFixture(t)
	key, exp, err := f.d.GenerateKey(ctx, f.ann, 0, 0)
	if err != nil || len(key) != 9 || !exp.Equal(f.clk.t.Add(15*time.Minute)) {
		t.Fatalf("key %q %v %v", key, exp, err)
	}
	if _, _, err := f.d.GenerateKey(ctx, f.ann, 25*time.Hour, 0); !errors.Is(err, ErrInvalid) {
		t.Fatal("a 25-hour key was made")
	}
	ss, _, err := f.d.StartWithKey(ctx, f.site, key[:3]+" "+key[3:6]+"-"+key[6:], Customer{Name: "Dee"}, "1.2.3.4")
	if err != nil || ss.Queue != (Queue{QueueTechnician, 2}) || ss.Method != MethodKey {
		t.Fatalf("start with key: %+v %v", ss, err)
	}
	if _, _, err := f.d.StartWithKey(ctx, f.site, key, Customer{Name: "Eve"}, "5.6.7.8"); err != ErrBadKey {
		t.Fatalf("reused key: %v", err)
	}
	old, _, _ := f.d.GenerateKey(ctx, f.ann, time.Minute, 0)
	f.clk.t = f.clk.t.Add(2 * time.Minute)
	if _, _, err := f.d.StartWithKey(ctx, f.site, old, Customer{Name: "Eve"}, "5.6.7.9"); err != ErrBadKey {
		t.Fatalf("expired key: %v", err)
	}
	if _, _, err := f.d.StartWithKey(ctx, f.site, "000000000", Customer{Name: "Eve"}, "5.6.7.10"); err != ErrBadKey {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestKeyGuessingIsThrottled(t *testing.T) {
	f := newFixture(t)
	f.d.SetKeyBudget(20)
	// One source: a growing delay after three misses.
	for i := range 3 {
		if _, _, err := f.d.StartWithKey(ctx, f.site, fmt.Sprintf("%09d", i), Customer{Name: "x"}, "9.9.9.9"); err != ErrBadKey {
			t.Fatalf("guess %d: %v", i, err)
		}
	}
	var te *ThrottledError
	if _, _, err := f.d.StartWithKey(ctx, f.site, "123456789", Customer{Name: "x"}, "9.9.9.9"); !errors.As(err, &te) {
		t.Fatalf("fourth guess from one source: %v", err)
	}
	// Many sources: the box-wide budget holds, then everyone waits.
	for i := range 17 {
		f.d.StartWithKey(ctx, f.site, "111111111", Customer{Name: "x"}, fmt.Sprintf("10.0.%d.1", i))
	}
	if len(f.d.KeyAlerts()) != 1 {
		t.Fatal("no alert when the budget ran out")
	}
	// Past the budget, a source that missed before is spaced out box-wide:
	// one goes through, the next waits.
	if _, _, err := f.d.StartWithKey(ctx, f.site, "111111111", Customer{Name: "x"}, "10.0.0.1"); err != ErrBadKey {
		t.Fatalf("past the budget, the first attempt: %v", err)
	}
	if _, _, err := f.d.StartWithKey(ctx, f.site, "111111111", Customer{Name: "x"}, "10.0.1.1"); !errors.As(err, &te) {
		t.Fatalf("past the budget, a source that missed before: %v", err)
	}
	// A real customer with a valid key gets in at once: a source's first
	// attempt takes the fresh lane.
	key, _, _ := f.d.GenerateKey(ctx, f.ann, time.Hour, 0)
	if _, _, err := f.d.StartWithKey(ctx, f.site, key, Customer{Name: "real"}, "192.0.2.1"); err != nil {
		t.Fatalf("a valid key past the budget: %v", err)
	}
	// The fresh lane is bounded: a spray from many new addresses fills
	// it, and the next new address shares the slow lane.
	fresh := 0
	for i := range freshBurst + 5 {
		_, _, err := f.d.StartWithKey(ctx, f.site, "111111111", Customer{Name: "x"}, fmt.Sprintf("10.8.%d.1", i))
		if err == ErrBadKey {
			fresh++
		}
	}
	if fresh != freshBurst-1 {
		t.Fatalf("%d fresh guesses evaluated, want %d", fresh, freshBurst-1)
	}
	// After the pause, the slow lane lets one through again.
	f.clk.t = f.clk.t.Add(globalSlowdown)
	key, _, _ = f.d.GenerateKey(ctx, f.ann, time.Hour, 0)
	if _, _, err := f.d.StartWithKey(ctx, f.site, key, Customer{Name: "real"}, "192.0.2.2"); err != nil {
		t.Fatalf("a valid key past the budget, after the pause: %v", err)
	}
	f.clk.t = f.clk.t.Add(time.Hour + time.Second)
	if _, _, err := f.d.StartWithKey(ctx, f.site, "111111111", Customer{Name: "x"}, "10.9.9.9"); err != ErrBadKey {
		t.Fatalf("an hour later: %v", err)
	}
}

func TestConcurrentGuessesAreCounted(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	var checked atomic.Int32
	for range 50 {
		wg.Go(func() {
			if _, _, err := f.d.StartWithKey(ctx, f.site, "222222222", Customer{Name: "x"}, "203.0.113.5"); err == ErrBadKey {
				checked.Add(1)
			}
		})
	}
	wg.Wait()
	if n := checked.Load(); n > 3 {
		t.Fatalf("%d concurrent guesses from one source were checked, want at most 3", n)
	}
}

func TestClassicCodeGuessingIsLimited(t *testing.T) {
	f := newFixture(t)
	_, _, code, _ := f.d.StartCode(ctx, f.site, Customer{Name: "Gus"})
	var te *ThrottledError
	wrong := "000000000"
	if code == wrong {
		wrong = "000000001"
	}
	for i := range 4 {
		_, err := f.d.ClaimCode(ctx, f.bob, wrong)
		if i < 3 && !errors.Is(err, ErrInvalid) || i == 3 && !errors.As(err, &te) {
			t.Fatalf("wrong code %d: %v", i, err)
		}
	}
	if _, err := f.d.ClaimCode(ctx, f.bob, code); !errors.As(err, &te) {
		t.Fatal("a throttled technician claimed a code")
	}
	if _, err := f.d.ClaimCode(ctx, f.ann, code); err != nil {
		t.Fatalf("another technician: %v", err)
	}
	noPerm := f.bob
	noPerm.Perms = map[Perm]bool{}
	if _, err := f.d.ClaimCode(ctx, noPerm, code); !errors.Is(err, ErrForbidden) {
		t.Fatalf("without the permission: %v", err)
	}
}

func TestFinishedSessionsAreHistory(t *testing.T) {
	f := newFixture(t)
	l, _ := f.d.CreateSOS(ctx, admin, f.tier1.ID, "SOS")
	ss, _, err := f.d.StartSOS(ctx, f.site, l.Token, Customer{Name: "Hal"})
	if err != nil {
		t.Fatal(err)
	}
	f.d.Accept(ctx, f.ann, ss.ID)
	f.d.Say(ctx, f.ann, ss.ID, "secret")
	if _, err := f.d.Session(ctx, f.bob, ss.ID); err != nil {
		t.Fatalf("bob serves the channel and sees the open session: %v", err)
	}
	f.d.Close(ctx, f.ann, ss.ID)
	if _, err := f.d.Session(ctx, f.bob, ss.ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("bob read a finished session he took no part in: %v", err)
	}
	if _, err := f.d.Session(ctx, f.ann, ss.ID); err != nil {
		t.Fatalf("ann, who worked it: %v", err)
	}
}

func TestSupportLinkBindsFirstBrowserAndExpires(t *testing.T) {
	f := newFixture(t)
	ss, tok, err := f.d.CreateLink(ctx, f.ann, Queue{QueueChannel, f.tier1.ID})
	if err != nil || ss.Status != Waiting {
		t.Fatalf("link: %+v %v", ss, err)
	}
	if _, _, err := f.d.CreateLink(ctx, f.ann, Queue{QueueChannel, f.tier2.ID}); !errors.Is(err, ErrForbidden) {
		t.Fatal("a link for a channel ann does not serve")
	}
	got, browser, err := f.d.RedeemLink(ctx, f.site, tok, "")
	if err != nil || got.Status != Ready || browser == "" {
		t.Fatalf("redeem: %+v %v", got, err)
	}
	if _, again, err := f.d.RedeemLink(ctx, f.site, tok, browser); err != nil || again != browser {
		t.Fatalf("same browser again: %v", err)
	}
	if _, _, err := f.d.RedeemLink(ctx, f.site, tok, ""); err != ErrLinkTaken {
		t.Fatalf("second device: %v", err)
	}
	// A site with an agreement: the session takes its rules when the
	// customer opens the link, and cannot be accepted before they agree.
	site := f.site
	site.Agreement = "We may see your screen."
	agreeing, tok2, _ := f.d.CreateLink(ctx, f.ann, Queue{QueueTechnician, 2})
	got, _, err = f.d.RedeemLink(ctx, site, tok2, "")
	if err != nil || !got.AwaitingAgreement() || got.Site != site.ID || got.Label() != "In the queue, not agreed yet" {
		t.Fatalf("link on a site with an agreement: %+v %v", got, err)
	}
	if _, err := f.d.Accept(ctx, f.ann, agreeing.ID); !errors.Is(err, ErrAwaitingAgreement) {
		t.Fatalf("accepted before the agreement: %v", err)
	}
	if _, err := f.d.CustomerAgreed(ctx, got.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.Accept(ctx, f.ann, agreeing.ID); err != nil {
		t.Fatalf("after the agreement: %v", err)
	}
	// An unopened link expires after the channel's expiry.
	waiting, _, _ := f.d.CreateLink(ctx, f.ann, Queue{QueueTechnician, 2})
	f.clk.t = f.clk.t.Add(61 * time.Minute)
	n, err := f.d.ExpireDue(ctx)
	if err != nil || n != 2 {
		t.Fatalf("expired %d: %v", n, err)
	}
	if s, _ := f.d.Session(ctx, f.ann, waiting.ID); s.Status != Expired {
		t.Fatalf("waiting link after expiry: %s", s.Status)
	}
}

func TestSOSLinksAndClassicCodes(t *testing.T) {
	f := newFixture(t)
	if _, err := f.d.CreateSOS(ctx, f.bob, f.tier2.ID, "Tier 2 SOS"); !errors.Is(err, ErrForbidden) {
		t.Fatal("a technician without the permission made an SOS link")
	}
	f.bob.Perms[PermSOSLinks] = true // granted on top of the role
	l, err := f.d.CreateSOS(ctx, f.bob, f.tier2.ID, "Tier 2 SOS")
	if err != nil {
		t.Fatal(err)
	}
	ss, _, err := f.d.StartSOS(ctx, f.site, l.Token, Customer{Name: "Fay", Description: "printer"})
	if err != nil || ss.Queue != (Queue{QueueChannel, f.tier2.ID}) {
		t.Fatalf("sos: %+v %v", ss, err)
	}
	f.d.SetSOSPaused(ctx, f.bob, l.ID, true)
	if _, _, err := f.d.StartSOS(ctx, f.site, l.Token, Customer{Name: "Fay"}); err != ErrSOSPaused {
		t.Fatalf("paused: %v", err)
	}
	f.d.DeleteSOS(ctx, f.bob, l.ID)
	if _, _, err := f.d.StartSOS(ctx, f.site, l.Token, Customer{Name: "Fay"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted: %v", err)
	}
	cs, _, code, err := f.d.StartCode(ctx, f.site, Customer{Name: "Gus"})
	if err != nil || len(code) != 9 {
		t.Fatal(err)
	}
	if _, err := f.d.ClaimCode(ctx, f.ann, "999999999"); !errors.Is(err, ErrInvalid) && code != "999999999" {
		t.Fatalf("wrong code: %v", err)
	}
	claimed, err := f.d.ClaimCode(ctx, f.ann, code)
	if err != nil || claimed.ID != cs.ID || claimed.Queue != (Queue{QueueTechnician, 2}) {
		t.Fatalf("claim: %+v %v", claimed, err)
	}
	if _, err := f.d.ClaimCode(ctx, f.bob, code); err == nil {
		t.Fatal("a code was claimed twice")
	}
}

func TestCustomerInputChecks(t *testing.T) {
	f := newFixture(t)
	site := f.site
	site.Custom = []CustomField{{Label: "Asset tag", Required: true, MaxLen: 10}}
	cases := map[string]Customer{
		"missing name":     {},
		"long description": {Name: "x", Description: string(make([]rune, 2001)), Custom: []Answer{{"Asset tag", "1"}}},
		"missing custom":   {Name: "x"},
		"long custom":      {Name: "x", Custom: []Answer{{"Asset tag", "12345678901"}}},
		"reversed name":    {Name: "Cleo \u202Eevil", Custom: []Answer{{"Asset tag", "1"}}},
		"isolate in field": {Name: "x", Custom: []Answer{{"Asset tag", "\u20661\u2069"}}},
	}
	for name, c := range cases {
		if _, _, err := f.d.StartWithTechnician(ctx, site, 2, c); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := f.d.Say(ctx, f.ann, 999, "x"); err == nil {
		t.Error("chat into a missing session")
	}
	// A technician's name is refused the same way, with a message.
	err := CheckTechnician(&Technician{PrivateName: "Ann", PublicName: "Ann \u202Egro.live"})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "direction") {
		t.Errorf("technician name: %v", err)
	}
	// Chat keeps the words and drops the controls.
	ss, _, err := f.d.StartWithTechnician(ctx, f.site, 2, Customer{Name: "Cleo"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.d.Accept(ctx, f.ann, ss.ID); err != nil {
		t.Fatal(err)
	}
	m, err := f.d.CustomerSays(ctx, ss, "open \u202Efdp.exe now")
	if err != nil || m.Text != "open fdp.exe now" {
		t.Fatalf("chat with a control: %q %v", m.Text, err)
	}
}

func TestQueuePosition(t *testing.T) {
	f := newFixture(t)
	var ids []uint64
	for i := range 3 {
		ss, _, err := f.d.StartWithTechnician(ctx, f.site, 2, Customer{Name: fmt.Sprint("c", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, ss.ID)
		f.clk.t = f.clk.t.Add(time.Second)
	}
	pos, wait, err := f.d.Position(ctx, ids[2])
	if err != nil || pos != 3 || wait != 3*DefaultWait {
		t.Fatalf("third: %d %v %v", pos, wait, err)
	}
	f.clk.t = f.clk.t.Add(10 * time.Minute)
	for len(f.events.C) > 0 {
		<-f.events.C
	}
	f.d.Accept(ctx, f.ann, ids[0])
	pos, wait, _ = f.d.Position(ctx, ids[2])
	if pos != 2 || wait < 2*10*time.Minute {
		t.Fatalf("after one accept: %d %v", pos, wait)
	}
	// The customers behind are told, each on its own session only.
	moved := map[uint64]bool{}
	for len(f.events.C) > 0 {
		if e := <-f.events.C; e.Kind == bus.SessionPosition {
			if e.Owner != 0 || e.Channel != 0 || e.Data != nil {
				t.Fatalf("a position event says more than its session: %+v", e)
			}
			moved[e.Session] = true
		}
	}
	if len(moved) != 2 || !moved[ids[1]] || !moved[ids[2]] {
		t.Fatalf("position events for %v, want %v", moved, ids[1:])
	}
}

func TestDefaultChannelCatchesUnroutedSurveys(t *testing.T) {
	f := newFixture(t)
	site := f.site
	site.SurveyMode = SurveyIssue
	ss, _, err := f.d.StartSurvey(ctx, site, 0, 0, Customer{Name: "Ida"})
	if err != nil || ss.Queue != (Queue{QueueChannel, f.tier1.ID}) {
		t.Fatalf("survey without an issue type: %+v %v", ss.Queue, err)
	}
}

func TestDeletingAChannelEndsItsSOSLinks(t *testing.T) {
	f := newFixture(t)
	l, err := f.d.CreateSOS(ctx, admin, f.tier2.ID, "T2")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.d.DeleteChannel(ctx, admin, f.tier2.ID); err != nil {
		t.Fatal(err)
	}
	if links, _ := f.d.SOSLinks(ctx, admin); len(links) != 0 {
		t.Fatalf("links of a deleted channel: %+v", links)
	}
	if _, _, err := f.d.StartSOS(ctx, f.site, l.Token, Customer{Name: "x"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a deleted channel's link: %v", err)
	}
}

func TestPruneKeepsHistoryDropsAccess(t *testing.T) {
	f := newFixture(t)
	key, _, _ := f.d.GenerateKey(ctx, f.ann, time.Hour, 0)
	ss, tok, _ := f.d.StartWithKey(ctx, f.site, key, Customer{Name: "Kim"}, "198.51.100.1")
	f.d.GenerateKey(ctx, f.ann, time.Minute, 0) // expires unused
	if n, _ := f.d.Prune(ctx); n != 0 {
		t.Fatalf("pruned %d fresh records", n)
	}
	f.d.Accept(ctx, f.ann, ss.ID)
	f.d.Close(ctx, f.ann, ss.ID)
	f.clk.t = f.clk.t.Add(8 * 24 * time.Hour)
	n, err := f.d.Prune(ctx)
	if err != nil || n != 3 { // two keys, one customer token
		t.Fatalf("pruned %d: %v", n, err)
	}
	if _, err := f.d.SessionByCustomer(ctx, tok); !errors.Is(err, ErrNotFound) {
		t.Fatal("an old customer token still opens its session")
	}
	if _, _, err := f.d.Record(ctx, f.ann, ss.ID); err != nil {
		t.Fatalf("the session left history: %v", err)
	}
}
