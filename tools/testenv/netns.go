package testenv

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Netns is a network namespace a test created, with only a loopback
// until the test adds links. The test's goroutines stay in the host
// namespace: Handle configures the namespace over netlink, and Listen and
// Dial open sockets inside it.
type Netns struct {
	NS     netns.NsHandle
	Handle *netlink.Handle
}

// NewNetns requires root, creates a namespace with its loopback up, and
// deletes it at the test's end.
func NewNetns(t testing.TB) *Netns {
	t.Helper()
	RequireRoot(t)
	var ns netns.NsHandle
	err := onThread(func(orig netns.NsHandle) error {
		var err error
		ns, err = netns.New() // switches this thread, which onThread restores
		return err
	})
	if err != nil {
		t.Fatalf("creating a network namespace: %v", err)
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		ns.Close()
		t.Fatalf("netlink in the namespace: %v", err)
	}
	t.Cleanup(func() {
		h.Close()
		ns.Close()
	})
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		t.Fatalf("bringing lo up: %v", err)
	}
	return &Netns{NS: ns, Handle: h}
}

// onThread runs fn on a locked OS thread and puts the thread back into the
// host namespace after.
func onThread(fn func(orig netns.NsHandle) error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			runtime.UnlockOSThread()
			return
		}
		defer orig.Close()
		err = fn(orig)
		if serr := netns.Set(orig); serr != nil {
			// The thread is in the wrong namespace: let it die with the
			// goroutine rather than reuse it.
			errc <- serr
			return
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

// in runs fn with the calling thread inside n.
func (n *Netns) in(fn func() error) error {
	return onThread(func(netns.NsHandle) error {
		if err := netns.Set(n.NS); err != nil {
			return err
		}
		return fn()
	})
}

// Listen opens a listener inside the namespace; the socket stays there.
func (n *Netns) Listen(network, addr string) (net.Listener, error) {
	var l net.Listener
	err := n.in(func() error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	return l, err
}

// Dial connects from inside the namespace: its DialContext fits
// http.Transport.
func (n *Netns) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.in(func() error {
		var err error
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

// Start starts cmd inside the namespace: the child is forked from a
// thread that is in it.
func (n *Netns) Start(cmd *exec.Cmd) error {
	return n.in(cmd.Start)
}

// Veth joins n and peer with a veth pair named name in n and peerName in
// peer, both up.
func (n *Netns) Veth(t testing.TB, name string, peer *Netns, peerName string) {
	t.Helper()
	host, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	// Temporary names in the host namespace, unlikely to clash with the
	// machine's own or another test's.
	var b [4]byte
	rand.Read(b[:])
	tmp := fmt.Sprintf("sbv%x", b)
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: tmp + "a"}, PeerName: tmp + "b"}
	if err := host.LinkAdd(v); err != nil {
		t.Fatalf("veth: %v", err)
	}
	for _, end := range []struct {
		tmp, name string
		ns        *Netns
	}{{tmp + "a", name, n}, {tmp + "b", peerName, peer}} {
		l, err := host.LinkByName(end.tmp)
		if err == nil {
			err = host.LinkSetNsFd(l, int(end.ns.NS))
		}
		if err == nil {
			l, err = end.ns.Handle.LinkByName(end.tmp)
		}
		if err == nil {
			err = end.ns.Handle.LinkSetName(l, end.name)
		}
		if err == nil {
			err = end.ns.Handle.LinkSetUp(l)
		}
		if err != nil {
			t.Fatalf("veth end %s: %v", end.name, err)
		}
	}
}

// Addr adds a static address ("192.0.2.1/24") to a link of n.
func (n *Netns) Addr(t testing.TB, link, prefix string) {
	t.Helper()
	l, err := n.Handle.LinkByName(link)
	if err != nil {
		t.Fatal(err)
	}
	a, err := netlink.ParseAddr(prefix)
	if err == nil {
		err = n.Handle.AddrAdd(l, a)
	}
	if err != nil {
		t.Fatalf("%s on %s: %v", prefix, link, err)
	}
}

// Do runs fn on a thread inside the namespace (sockets it opens stay
// there).
func (n *Netns) Do(fn func() error) error { return n.in(fn) }

// DialFrom returns a dial function that connects from inside n with the
// given source address (one of n's own).
func (n *Netns) DialFrom(local string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := n.in(func() error {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}
			var err error
			c, err = d.DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}
