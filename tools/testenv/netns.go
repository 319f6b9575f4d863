package testenv

import (
	"context"
	"net"
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

// ListenPacket opens a packet socket inside the namespace.
func (n *Netns) ListenPacket(network, addr string) (net.PacketConn, error) {
	var c net.PacketConn
	err := n.in(func() error {
		var err error
		c, err = net.ListenPacket(network, addr)
		return err
	})
	return c, err
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
