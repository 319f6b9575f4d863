package netcfg

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/store"
	"github.com/switchboardhq/switchboard/tools/testenv"
	"github.com/vishvananda/netlink"
)

// TestDHCP runs the box's DHCP client against Debian's dnsmasq in the
// client namespace: the first-boot default leases an address, the default
// route and DNS; a confirmed static configuration stops the client and
// drops the lease; going back to DHCP leases again. It needs only veth and
// packet sockets, so it runs on the host's kernel.
func TestDHCP(t *testing.T) {
	if testenv.InVM() {
		return // TestNetns's VM has no dnsmasq; the host runs this test
	}
	dnsmasq := testenv.RequireCommand(t, "dnsmasq")
	box, cli := testenv.NewNetns(t), testenv.NewNetns(t)
	box.Veth(t, "eth0", cli, "peer0")
	cli.Addr(t, "peer0", "192.0.2.254/24")
	dir := t.TempDir()
	srv := exec.Command(dnsmasq, "--keep-in-foreground", "--no-resolv", "--no-hosts", "--port=0",
		"--interface=peer0", "--bind-interfaces", "--user=root", "--pid-file=", "--log-facility=-", "--log-dhcp",
		"--dhcp-range=192.0.2.50,192.0.2.60,255.255.255.0,120",
		"--dhcp-option=option:router,192.0.2.254",
		"--dhcp-option=option:dns-server,192.0.2.53",
		"--dhcp-option=option:domain-search,corp.example",
		"--dhcp-leasefile="+filepath.Join(dir, "leases"))
	var out strings.Builder
	srv.Stdout, srv.Stderr = &out, &out
	if err := cli.Start(srv); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Process.Kill()
		srv.Wait()
		if t.Failed() {
			t.Logf("dnsmasq:\n%s", out.String())
		}
	})

	db, err := store.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	resolv := filepath.Join(dir, "resolv.conf")
	sys := NewSystem(NewKernel(box.Handle), SystemOptions{DefaultDHCP: true, ResolvConf: resolv, InNamespace: box.Do})
	defer sys.Close()
	m := NewManager(db, sys, Options{Hash: func(p string, b []byte) []byte { return append([]byte(p), b...) }})
	ctx := context.Background()

	updates := make(chan netlink.AddrUpdate, 64)
	done := make(chan struct{})
	defer close(done)
	if err := netlink.AddrSubscribeWithOptions(updates, done, netlink.AddrSubscribeOptions{Namespace: &box.NS}); err != nil {
		t.Fatal(err)
	}
	// waitAddr waits until eth0's addresses satisfy ok.
	waitAddr := func(what string, ok func([]Addr) bool) []Addr {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			s, err := m.Observe()
			if err != nil {
				t.Fatal(err)
			}
			if l := s.Link("eth0"); l != nil && ok(l.Addrs) {
				return l.Addrs
			}
			select {
			case <-updates:
			case <-timeout:
				t.Fatalf("eth0 never %s: %+v", what, s.Link("eth0"))
			}
		}
	}
	leased := func(as []Addr) bool {
		for _, a := range as {
			if a.Dynamic && a.Prefix.Bits() == 24 && netip.MustParsePrefix("192.0.2.48/28").Contains(a.Prefix.Addr()) {
				return true
			}
		}
		return false
	}

	if err := m.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	as := waitAddr("got a lease", leased)
	t.Logf("leased %v", as)
	// The resolver file is written once the lease's route is in.
	waitFile(t, resolv, "nameserver 192.0.2.53", "search corp.example")
	routes, err := box.Handle.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var viaGateway bool
	for _, r := range routes {
		viaGateway = viaGateway || (r.Dst == nil || r.Dst.String() == "0.0.0.0/0") && r.Gw.String() == "192.0.2.254"
	}
	if !viaGateway {
		t.Errorf("no default route via 192.0.2.254: %v", routes)
	}

	// Static: the lease goes, the static address and DNS stay.
	static := Config{Interfaces: []Interface{{Name: "eth0", Kind: KindEther, Addresses: []netip.Prefix{netip.MustParsePrefix("192.0.2.9/24")}}},
		DNS: []netip.Addr{netip.MustParseAddr("192.0.2.1")}}
	_, token, err := m.Start(ctx, Admin{}, "root", static, DefaultTrial, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Confirm(ctx, token, netip.MustParseAddr("192.0.2.9")); err != nil {
		t.Fatal(err)
	}
	waitAddr("went static", func(as []Addr) bool { return len(as) == 1 && !as[0].Dynamic && as[0].Prefix.String() == "192.0.2.9/24" })
	if b, _ := os.ReadFile(resolv); !strings.Contains(string(b), "nameserver 192.0.2.1\n") || strings.Contains(string(b), "192.0.2.53") {
		t.Errorf("resolv.conf after going static:\n%s", b)
	}

	// Back to DHCP.
	back := Config{Interfaces: []Interface{{Name: "eth0", Kind: KindEther, DHCP: true}}}
	_, token, err = m.Start(ctx, Admin{}, "root", back, DefaultTrial, false)
	if err != nil {
		t.Fatal(err)
	}
	as = waitAddr("leased again", func(as []Addr) bool { return len(as) == 1 && leased(as) })
	if _, err := m.Confirm(ctx, token, as[0].Prefix.Addr()); err != nil {
		t.Fatal(err)
	}
	waitFile(t, resolv, "nameserver 192.0.2.53")
}

// waitFile waits until the file holds every line.
func waitFile(t *testing.T, path string, lines ...string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		b, _ := os.ReadFile(path)
		ok := true
		for _, l := range lines {
			ok = ok && strings.Contains(string(b), l+"\n")
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never held %q:\n%s", path, lines, b)
		}
		time.Sleep(20 * time.Millisecond) // written by another goroutine after a lease; nothing to wait on
	}
}
