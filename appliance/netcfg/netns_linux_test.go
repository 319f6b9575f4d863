package netcfg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/store"
	"github.com/switchboardhq/switchboard/tools/testenv"
	"github.com/vishvananda/netlink"
)

func TestMain(m *testing.M) {
	if testenv.InVM() {
		testenv.VMInit(m.Run)
	}
	os.Exit(m.Run())
}

// TestNetns runs the network tests in namespaces it creates: an
// "appliance" and a "client" joined by veth pairs. They need VLANs and
// bonds; on a kernel without them (this project's build machines have
// neither 8021q nor bonding) the same tests run in a VM on Debian's
// kernel instead.
func TestNetns(t *testing.T) {
	testenv.RequireRoot(t)
	if !testenv.InVM() {
		if missing := kernelLacks(t); missing != "" {
			t.Logf("this kernel has no %s: running the tests in a VM on Debian's kernel", missing)
			testenv.RunInVM(t, "^TestNetns$", "veth", "8021q", "bonding", "bridge")
			return
		}
	}
	t.Run("static address and VLAN confirmed from the new address", testStaticAndVLANConfirmedFromTheNewAddress)
	t.Run("unconfirmed change reverts at the deadline", testUnconfirmedChangeReverts)
	t.Run("restart during the trial reverts", testRestartDuringTrialReverts)
	t.Run("bond fails over", testBondFailsOver)
	t.Run("a change the kernel refuses is rolled back", testApplyFailureRestores)
}

// kernelLacks names what the kernel cannot create, or "".
func kernelLacks(t *testing.T) string {
	ns := testenv.NewNetns(t)
	if err := ns.Handle.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "probe0"}, PeerName: "probe1"}); err != nil {
		return "veth"
	}
	p, err := ns.Handle.LinkByName("probe0")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	if err := ns.Handle.LinkAdd(&netlink.Vlan{LinkAttrs: netlink.LinkAttrs{Name: "probe0.9", ParentIndex: p.Attrs().Index}, VlanId: 9}); err != nil {
		missing = append(missing, "8021q")
	}
	if err := ns.Handle.LinkAdd(netlink.NewLinkBond(netlink.LinkAttrs{Name: "probebond"})); err != nil {
		missing = append(missing, "bonding")
	}
	return strings.Join(missing, " or ")
}

// fakeClock is the injected clock: the test moves it, and the deadline
// fires when the test says so.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
	at  time.Time
	fn  func()
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at, c.fn = c.now.Add(d), f
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := c.fn != nil
		c.fn = nil
		return was
	}
}

// advance moves the clock and runs the armed function when it is due.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var fn func()
	if c.fn != nil && !c.now.Before(c.at) {
		fn, c.fn = c.fn, nil
	}
	c.mu.Unlock()
	if fn != nil {
		fn()
	}
}

func (c *fakeClock) armed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fn != nil
}

// lab is an "appliance" namespace and a "client" namespace joined by
// veth pairs: the appliance's ethN is the client's peerN.
type lab struct {
	t        *testing.T
	box, cli *testenv.Netns
	dir      string
	db       *store.DB
	clock    *fakeClock
	m        *Manager
}

func newLab(t *testing.T, pairs int) *lab {
	t.Helper()
	l := &lab{t: t, box: testenv.NewNetns(t), cli: testenv.NewNetns(t), dir: t.TempDir(),
		clock: &fakeClock{now: time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)}}
	for i := range pairs {
		l.box.Veth(t, fmt.Sprintf("eth%d", i), l.cli, fmt.Sprintf("peer%d", i))
	}
	l.open()
	return l
}

func (l *lab) rename(h *netlink.Handle, from, to string) {
	link, err := h.LinkByName(from)
	if err == nil {
		err = h.LinkSetName(link, to)
	}
	if err == nil {
		err = h.LinkSetUp(link)
	}
	if err != nil {
		l.t.Fatalf("%s → %s: %v", from, to, err)
	}
}

// open opens the store and a Manager on the appliance namespace, as the
// daemon does at start.
func (l *lab) open() {
	db, err := store.Open(l.dir)
	if err != nil {
		l.t.Fatal(err)
	}
	l.db = db
	l.m = NewManager(db, NewKernel(l.box.Handle), Options{Clock: l.clock, Hash: func(p string, b []byte) []byte {
		return append([]byte(p+"\x00"), b...)
	}})
	l.t.Cleanup(func() { db.Close() })
}

func (l *lab) observe() State {
	l.t.Helper()
	s, err := l.m.Observe()
	if err != nil {
		l.t.Fatal(err)
	}
	return s
}

// serve answers HTTP inside the appliance namespace on every address:
// POST /confirm?token= confirms the trial, naming the address it arrived
// at as the daemon does.
func (l *lab) serve() int {
	ln, err := l.box.Listen("tcp", "[::]:0")
	if err != nil {
		l.t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /confirm", func(w http.ResponseWriter, r *http.Request) {
		local, _ := netip.ParseAddrPort(r.Context().Value(http.LocalAddrContextKey).(net.Addr).String())
		if _, err := l.m.Confirm(r.Context(), r.URL.Query().Get("token"), local.Addr()); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		io.WriteString(w, "kept")
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") })
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	l.t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// client is an HTTP client in the client namespace.
func (l *lab) client() *http.Client {
	return &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DialContext: l.cli.Dial, DisableKeepAlives: true}}
}

func (l *lab) post(host string, port int, token string) (string, error) {
	res, err := l.client().Post(fmt.Sprintf("http://%s/confirm?token=%s", net.JoinHostPort(host, fmt.Sprint(port)), token), "text/plain", nil)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return "", errors.New(strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

// forgetNeighbours flushes the client's neighbour cache on a link.
func (l *lab) forgetNeighbours(link string) {
	lk, err := l.cli.Handle.LinkByName(link)
	if err != nil {
		l.t.Fatal(err)
	}
	ns, err := l.cli.Handle.NeighList(lk.Attrs().Index, 0)
	if err != nil {
		l.t.Fatal(err)
	}
	for _, n := range ns {
		l.cli.Handle.NeighDel(&n)
	}
}

func admin(local, remote string) Admin {
	return Admin{Local: netip.MustParseAddr(local), Remote: netip.MustParseAddr(remote)}
}

// TestStaticAndVLANConfirmedFromTheNewAddress applies a static address
// change and a VLAN, is refused a confirmation over the old address, and
// is confirmed from the client namespace over the new one.
func testStaticAndVLANConfirmedFromTheNewAddress(t *testing.T) {
	l := newLab(t, 1)
	ctx := context.Background()
	l.box.Addr(t, "eth0", "192.0.2.1/24")
	l.cli.Addr(t, "peer0", "192.0.2.100/24")
	// The client also has VLAN 10 on its side of the wire.
	peer, _ := l.cli.Handle.LinkByName("peer0")
	if err := l.cli.Handle.LinkAdd(&netlink.Vlan{LinkAttrs: netlink.LinkAttrs{Name: "peer0.10", ParentIndex: peer.Attrs().Index}, VlanId: 10}); err != nil {
		t.Fatal(err)
	}
	l.rename(l.cli.Handle, "peer0.10", "peer0.10")
	l.cli.Addr(t, "peer0.10", "198.51.100.100/24")
	port := l.serve()

	c := Config{Interfaces: []Interface{
		{Name: "eth0", Kind: KindEther, Addresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24"), netip.MustParsePrefix("192.0.2.2/24")}},
		{Name: "eth0.10", Kind: KindVLAN, Parent: "eth0", VLAN: 10, Addresses: []netip.Prefix{netip.MustParsePrefix("198.51.100.1/24")}},
	}, Routes: []Route{{To: netip.MustParsePrefix("203.0.113.0/24"), Via: netip.MustParseAddr("198.51.100.100")}}}
	tr, token, err := l.m.Start(ctx, admin("192.0.2.1", "192.0.2.100"), "root", c, DefaultTrial, false)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(tr.Confirm) != "[192.0.2.2 198.51.100.1]" {
		t.Errorf("confirm at %v, want the two new addresses", tr.Confirm)
	}
	got := l.observe()
	if v := got.Link("eth0.10"); v == nil || v.VLAN != 10 || v.Parent != "eth0" || len(v.Addrs) != 1 {
		t.Fatalf("eth0.10 after apply: %+v", v)
	}
	if _, err := l.post("192.0.2.1", port, token); err == nil || !strings.Contains(err.Error(), "new address") {
		t.Fatalf("a confirmation over the old address: %v, want refused", err)
	}
	if _, err := l.post("198.51.100.1", port, "bad"+token[3:]); err == nil {
		t.Fatal("a wrong token confirmed the change")
	}
	if body, err := l.post("198.51.100.1", port, token); err != nil || body != "kept" {
		t.Fatalf("confirming over the VLAN: %q, %v", body, err)
	}
	if l.clock.armed() {
		t.Error("the deadline is still armed after the confirmation")
	}
	l.clock.advance(time.Hour)
	after := l.observe()
	if d := Diff(got, after); d != nil {
		t.Errorf("the confirmed change did not stay: %v", d)
	}
	if len(after.Routes) != 1 || after.Routes[0].String() != "203.0.113.0/24 via 198.51.100.100 dev eth0.10" {
		t.Errorf("routes: %v", after.Routes)
	}
	d, err := l.m.Desired(ctx)
	if err != nil || d == nil || len(d.Interfaces) != 2 {
		t.Fatalf("desired: %+v, %v", d, err)
	}
	log, _ := l.m.Changes(ctx, 10)
	if len(log) != 1 || log[0].Outcome != Confirmed || log[0].By != "root" || len(log[0].After.Interfaces) != 2 || log[0].Before.Find("eth0") == nil {
		t.Fatalf("change log: %+v", log)
	}
}

// TestUnconfirmedChangeReverts tries a change, lets the deadline pass and
// checks the kernel is back to the snapshot and the client reaches the
// old address again.
func testUnconfirmedChangeReverts(t *testing.T) {
	l := newLab(t, 1)
	ctx := context.Background()
	l.box.Addr(t, "eth0", "192.0.2.1/24")
	l.cli.Addr(t, "peer0", "192.0.2.100/24")
	port := l.serve()
	snap := l.observe()
	// The admin works from another network through a gateway: moving the
	// box to 10.9.0.1 keeps a route to them.
	c := Config{Interfaces: []Interface{
		{Name: "eth0", Kind: KindEther, MTU: 1400, Addresses: []netip.Prefix{netip.MustParsePrefix("10.9.0.1/24")}},
		{Name: "eth0.20", Kind: KindVLAN, Parent: "eth0", VLAN: 20, Addresses: []netip.Prefix{netip.MustParsePrefix("10.20.0.1/24")}},
	}, Routes: []Route{{To: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("10.9.0.254")}}}
	cut := Config{Interfaces: c.Interfaces}
	if _, _, err := l.m.Start(ctx, admin("192.0.2.1", "192.0.2.100"), "root", cut, DefaultTrial, false); !errors.Is(err, ErrInvalid) {
		t.Fatalf("a change that cuts the admin off: %v, want refused", err)
	}
	if d := Diff(snap, l.observe()); d != nil {
		t.Fatalf("a refused change was applied: %v", d)
	}
	// Staged, as the network page does when the change takes its own
	// address away: nothing changes until ApplyStaged, and the deadline
	// counts from then.
	if _, _, err := l.m.Start(ctx, admin("192.0.2.1", "172.16.5.5"), "root", c, 45*time.Second, true); err != nil {
		t.Fatal(err)
	}
	if d := Diff(snap, l.observe()); d != nil {
		t.Fatalf("a staged change was applied before ApplyStaged: %v", d)
	}
	l.clock.advance(10 * time.Second)
	if err := l.m.ApplyStaged(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := l.client().Get(fmt.Sprintf("http://192.0.2.1:%d/", port)); err == nil {
		t.Fatal("the old address still answers during the trial")
	}
	l.clock.advance(44 * time.Second)
	if tr, _ := l.m.Trial(ctx); tr == nil {
		t.Fatal("reverted before the deadline")
	}
	l.clock.advance(time.Second)
	if tr, _ := l.m.Trial(ctx); tr != nil {
		t.Fatal("not reverted at the deadline")
	}
	if d := Diff(snap, l.observe()); d != nil {
		t.Fatalf("after the revert the kernel differs from the snapshot: %v", d)
	}
	// The client's failed lookup of 192.0.2.1 during the trial would make
	// it give up for a while; a fresh client does not have it.
	l.forgetNeighbours("peer0")
	if res, err := l.client().Get(fmt.Sprintf("http://192.0.2.1:%d/", port)); err != nil {
		t.Fatalf("the old address after the revert: %v", err)
	} else {
		res.Body.Close()
	}
	log, _ := l.m.Changes(ctx, 10)
	if len(log) != 1 || log[0].Outcome != Reverted || !strings.Contains(log[0].Reason, "not confirmed in time") || log[0].Differences != nil {
		t.Fatalf("change log: %+v", log)
	}
	if d, _ := l.m.Desired(ctx); d != nil {
		t.Errorf("a reverted change became the desired configuration: %+v", d)
	}
}

// TestRestartDuringTrialReverts drops the Manager mid-trial as a kill -9
// would and checks the next start restores the snapshot.
func testRestartDuringTrialReverts(t *testing.T) {
	l := newLab(t, 1)
	ctx := context.Background()
	l.box.Addr(t, "eth0", "192.0.2.1/24")
	snap := l.observe()
	c := Config{Interfaces: []Interface{{Name: "eth0", Kind: KindEther, Addresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24"), netip.MustParsePrefix("192.0.2.7/24")}},
		{Name: "eth0.30", Kind: KindVLAN, Parent: "eth0", VLAN: 30}}}
	if _, _, err := l.m.Start(ctx, Admin{}, "console", c, DefaultTrial, false); err != nil {
		t.Fatal(err)
	}
	if d := Diff(snap, l.observe()); d == nil {
		t.Fatal("nothing was applied")
	}
	l.db.Close()
	l.open()
	if err := l.m.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if d := Diff(snap, l.observe()); d != nil {
		t.Fatalf("after the restart the kernel differs from the snapshot: %v", d)
	}
	log, _ := l.m.Changes(ctx, 10)
	if len(log) != 1 || log[0].Outcome != Reverted || !strings.Contains(log[0].Reason, "restarted") {
		t.Fatalf("change log: %+v", log)
	}
}

// TestBondFailsOver bonds two ports in active-backup, then downs the
// active one: the other takes over and the client still reaches the box.
func testBondFailsOver(t *testing.T) {
	l := newLab(t, 2)
	ctx := context.Background()
	// The client's two ports are a bridge, as two switch ports would be.
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}}
	if err := l.cli.Handle.LinkAdd(br); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"peer0", "peer1"} {
		link, _ := l.cli.Handle.LinkByName(p)
		if err := l.cli.Handle.LinkSetMaster(link, br); err != nil {
			t.Fatal(err)
		}
	}
	l.rename(l.cli.Handle, "br0", "br0")
	l.cli.Addr(t, "br0", "192.0.2.100/24")
	port := l.serve()
	c := Config{Interfaces: []Interface{{Name: "bond0", Kind: KindBond, BondMode: BondActiveBackup, Members: []string{"eth0", "eth1"},
		Addresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")}}}}
	_, token, err := l.m.Start(ctx, Admin{}, "root", c, DefaultTrial, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.post("192.0.2.1", port, token); err != nil {
		t.Fatalf("confirming over the bond: %v", err)
	}
	bond := l.observe().Link("bond0")
	if bond == nil || bond.BondMode != BondActiveBackup || bond.Active == "" {
		t.Fatalf("bond0: %+v", bond)
	}
	first := bond.Active
	updates := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	defer close(done)
	if err := netlink.LinkSubscribeWithOptions(updates, done, netlink.LinkSubscribeOptions{Namespace: &l.box.NS}); err != nil {
		t.Fatal(err)
	}
	down, _ := l.box.Handle.LinkByName(first)
	if err := l.box.Handle.LinkSetDown(down); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(10 * time.Second)
	for l.observe().Link("bond0").Active == first {
		select {
		case <-updates:
		case <-timeout:
			t.Fatalf("bond0 still uses %s after it went down", first)
		}
	}
	res, err := l.client().Get(fmt.Sprintf("http://192.0.2.1:%d/", port))
	if err != nil {
		t.Fatalf("the box over the other port: %v", err)
	}
	res.Body.Close()
	t.Logf("bond0 failed over from %s to %s", first, l.observe().Link("bond0").Active)
}

// TestApplyFailureRestores makes the kernel refuse a change halfway (an
// MTU the veth cannot take) and checks the snapshot is back at once.
func testApplyFailureRestores(t *testing.T) {
	l := newLab(t, 1)
	ctx := context.Background()
	l.box.Addr(t, "eth0", "192.0.2.1/24")
	snap := l.observe()
	// A VLAN's MTU cannot exceed its parent's: the kernel refuses it
	// after the VLAN was created.
	c := Config{Interfaces: []Interface{{Name: "eth0", Kind: KindEther, Addresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")}},
		{Name: "eth0.40", Kind: KindVLAN, Parent: "eth0", VLAN: 40, MTU: 9000}}}
	_, _, err := l.m.Start(ctx, Admin{}, "root", c, DefaultTrial, false)
	var ae *ApplyError
	if !errors.As(err, &ae) {
		t.Fatalf("Start: %v, want an ApplyError", err)
	}
	if d := Diff(snap, l.observe()); d != nil {
		t.Fatalf("after the failed change the kernel differs from the snapshot: %v", d)
	}
	log, _ := l.m.Changes(ctx, 10)
	if len(log) != 1 || log[0].Outcome != Failed {
		t.Fatalf("change log: %+v", log)
	}
	if tr, _ := l.m.Trial(ctx); tr != nil {
		t.Fatal("a failed change left a trial")
	}
}
