package netcfg

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Kernel is the box's network stack driven over netlink: one namespace,
// through a handle (netlink.NewHandle for the daemon's own namespace,
// netlink.NewHandleAt for a test's).
type Kernel struct {
	h *netlink.Handle
}

// OpenKernel drives the network namespace the process runs in.
func OpenKernel() (*Kernel, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	return &Kernel{h: h}, nil
}

// NewKernel drives the network through h.
func NewKernel(h *netlink.Handle) *Kernel { return &Kernel{h: h} }

// retries bounds how often a dump interrupted by a concurrent change is
// read again.
const retries = 5

func dump[T any](fn func() (T, error)) (T, error) {
	var v T
	var err error
	for range retries {
		v, err = fn()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return v, err
}

// Observe reads links, addresses and static routes.
func (k *Kernel) Observe() (State, error) {
	links, err := dump(k.h.LinkList)
	if err != nil {
		return State{}, fmt.Errorf("listing links: %w", err)
	}
	byIndex := map[int]string{}
	for _, l := range links {
		byIndex[l.Attrs().Index] = l.Attrs().Name
	}
	var s State
	for _, l := range links {
		a := l.Attrs()
		if a.Flags&net.FlagLoopback != 0 {
			continue
		}
		o := Link{Name: a.Name, Type: l.Type(), Kind: KindEther, MAC: a.HardwareAddr.String(), MTU: a.MTU,
			Up: a.Flags&net.FlagUp != 0, Carrier: a.OperState == netlink.OperUp || a.OperState == netlink.OperUnknown && a.RawFlags&unix.IFF_LOWER_UP != 0,
			Master: byIndex[a.MasterIndex]}
		switch v := l.(type) {
		case *netlink.Vlan:
			o.Kind, o.VLAN, o.Parent = KindVLAN, v.VlanId, byIndex[a.ParentIndex]
		case *netlink.Bond:
			o.Kind, o.BondMode = KindBond, v.Mode.String()
			if v.ActiveSlave > 0 {
				o.Active = byIndex[v.ActiveSlave]
			}
		}
		addrs, err := dump(func() ([]netlink.Addr, error) { return k.h.AddrList(l, netlink.FAMILY_ALL) })
		if err != nil {
			return State{}, fmt.Errorf("listing the addresses of %s: %w", a.Name, err)
		}
		for _, ad := range addrs {
			p, ok := prefixOf(ad.IPNet)
			if !ok || p.Addr().IsLinkLocalUnicast() {
				continue
			}
			o.Addrs = append(o.Addrs, Addr{Prefix: p, Dynamic: ad.Flags&unix.IFA_F_PERMANENT == 0})
		}
		s.Links = append(s.Links, o)
	}
	routes, err := dump(func() ([]netlink.Route, error) {
		return k.h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return State{}, fmt.Errorf("listing routes: %w", err)
	}
	for _, r := range routes {
		if rt, ok := staticRoute(r, byIndex); ok {
			s.Routes = append(s.Routes, rt)
		}
	}
	sortState(&s)
	return s, nil
}

// staticRoute turns a kernel route into a Route when it is one this
// package manages: a unicast route in the main table added by hand or by
// us (protocol boot or static).
func staticRoute(r netlink.Route, byIndex map[int]string) (Route, bool) {
	if r.Type != unix.RTN_UNICAST || (r.Protocol != unix.RTPROT_BOOT && r.Protocol != unix.RTPROT_STATIC) || len(r.MultiPath) > 0 {
		return Route{}, false
	}
	var rt Route
	if r.Dst != nil {
		p, ok := prefixOf(r.Dst)
		if !ok {
			return Route{}, false
		}
		rt.To = p.Masked()
	} else if r.Family == unix.AF_INET6 {
		rt.To = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	} else {
		rt.To = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	if a, ok := netip.AddrFromSlice(r.Gw); ok {
		rt.Via = a.Unmap()
	}
	rt.Dev = byIndex[r.LinkIndex]
	return rt, true
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	ones, bits := n.Mask.Size()
	if bits == 0 || (a.Is4() && bits != 32) {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, ones), true
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// Apply makes the kernel match c: bonds and VLANs that c does not name are
// removed, those it names are created or corrected, and the interfaces it
// names get exactly its addresses (beside dynamic ones on DHCP interfaces),
// MTU and state; the static routes become c's. Interfaces c does not name
// keep their addresses. Apply stops at the first error; the caller restores
// a snapshot then.
func (k *Kernel) Apply(c Config) error {
	cur, err := k.Observe()
	if err != nil {
		return err
	}
	// Bonds and VLANs that are no longer wanted, or are of the wrong shape.
	for _, l := range cur.Links {
		if l.Kind == KindEther {
			continue
		}
		it := c.Find(l.Name)
		wrong := it == nil || it.Kind != l.Kind ||
			l.Kind == KindVLAN && (it.VLAN != l.VLAN || it.Parent != l.Parent) ||
			l.Kind == KindBond && it.BondMode != l.BondMode
		if wrong {
			if err := k.del(l.Name); err != nil {
				return err
			}
		}
	}
	// Ports that leave their bond.
	for _, l := range cur.Links {
		if l.Master == "" {
			continue
		}
		if b := c.Find(l.Master); b != nil && b.Kind == KindBond && slices.Contains(b.Members, l.Name) {
			continue
		}
		link, err := k.h.LinkByName(l.Name)
		if err != nil {
			continue // its bond went with the links removed above
		}
		if link.Attrs().MasterIndex != 0 {
			if err := k.h.LinkSetNoMaster(link); err != nil {
				return fmt.Errorf("taking %s out of %s: %w", l.Name, l.Master, err)
			}
		}
	}
	for _, it := range c.Interfaces {
		if it.Kind == KindBond {
			if err := k.bond(it); err != nil {
				return err
			}
		}
	}
	for _, it := range c.Interfaces {
		if it.Kind == KindVLAN {
			if err := k.vlan(it); err != nil {
				return err
			}
		}
	}
	for _, it := range c.Interfaces {
		if err := k.iface(it, isMember(c, it.Name)); err != nil {
			return err
		}
	}
	return k.routes(c)
}

func (k *Kernel) del(name string) error {
	link, err := k.h.LinkByName(name)
	if err != nil {
		return nil // already gone
	}
	if err := k.h.LinkDel(link); err != nil {
		return fmt.Errorf("removing %s: %w", name, err)
	}
	return nil
}

func (k *Kernel) bond(it Interface) error {
	link, err := k.h.LinkByName(it.Name)
	if err != nil {
		b := netlink.NewLinkBond(netlink.LinkAttrs{Name: it.Name})
		b.Mode = netlink.StringToBondMode(it.BondMode)
		// Link monitoring every 100 ms is what makes a bond fail over
		// when a port loses its carrier.
		b.Miimon = 100
		if it.BondMode == Bond8023ad {
			b.LacpRate = netlink.BOND_LACP_RATE_FAST
		}
		if err := k.h.LinkAdd(b); err != nil {
			return fmt.Errorf("creating bond %s: %w", it.Name, err)
		}
		if link, err = k.h.LinkByName(it.Name); err != nil {
			return err
		}
	}
	for _, m := range it.Members {
		port, err := k.h.LinkByName(m)
		if err != nil {
			return fmt.Errorf("finding port %s: %w", m, err)
		}
		if port.Attrs().MasterIndex == link.Attrs().Index {
			continue
		}
		// A port joins a bond only while down, and without addresses.
		if err := k.h.LinkSetDown(port); err != nil {
			return fmt.Errorf("taking %s down: %w", m, err)
		}
		if err := k.flushAddrs(port); err != nil {
			return err
		}
		if err := k.h.LinkSetMasterByIndex(port, link.Attrs().Index); err != nil {
			return fmt.Errorf("adding %s to bond %s: %w", m, it.Name, err)
		}
	}
	return nil
}

func (k *Kernel) flushAddrs(link netlink.Link) error {
	addrs, err := dump(func() ([]netlink.Addr, error) { return k.h.AddrList(link, netlink.FAMILY_ALL) })
	if err != nil {
		return err
	}
	for _, a := range addrs {
		if p, ok := prefixOf(a.IPNet); ok && p.Addr().IsLinkLocalUnicast() {
			continue
		}
		if err := k.h.AddrDel(link, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("removing %s from %s: %w", a.IPNet, link.Attrs().Name, err)
		}
	}
	return nil
}

func (k *Kernel) vlan(it Interface) error {
	if _, err := k.h.LinkByName(it.Name); err == nil {
		return nil // right shape: others were removed by Apply
	}
	parent, err := k.h.LinkByName(it.Parent)
	if err != nil {
		return fmt.Errorf("finding %s, the parent of %s: %w", it.Parent, it.Name, err)
	}
	v := &netlink.Vlan{LinkAttrs: netlink.LinkAttrs{Name: it.Name, ParentIndex: parent.Attrs().Index}, VlanId: it.VLAN}
	if err := k.h.LinkAdd(v); err != nil {
		return fmt.Errorf("creating VLAN %d on %s: %w", it.VLAN, it.Parent, err)
	}
	return nil
}

func (k *Kernel) iface(it Interface, member bool) error {
	link, err := k.h.LinkByName(it.Name)
	if err != nil {
		return fmt.Errorf("finding %s: %w", it.Name, err)
	}
	if it.MTU != 0 && link.Attrs().MTU != it.MTU {
		if err := k.h.LinkSetMTU(link, it.MTU); err != nil {
			return fmt.Errorf("setting the MTU of %s to %d: %w", it.Name, it.MTU, err)
		}
	}
	if it.Down {
		if err := k.h.LinkSetDown(link); err != nil {
			return fmt.Errorf("taking %s down: %w", it.Name, err)
		}
	} else if err := k.h.LinkSetUp(link); err != nil {
		return fmt.Errorf("bringing %s up: %w", it.Name, err)
	}
	if member {
		return nil // a bond's port has no addresses of its own
	}
	addrs, err := dump(func() ([]netlink.Addr, error) { return k.h.AddrList(link, netlink.FAMILY_ALL) })
	if err != nil {
		return err
	}
	for _, a := range addrs {
		p, ok := prefixOf(a.IPNet)
		if !ok || p.Addr().IsLinkLocalUnicast() || slices.Contains(it.Addresses, p) {
			continue
		}
		if it.DHCP && a.Flags&unix.IFA_F_PERMANENT == 0 {
			continue
		}
		if err := k.h.AddrDel(link, &a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("removing %s from %s: %w", p, it.Name, err)
		}
	}
	for _, p := range it.Addresses {
		a := &netlink.Addr{IPNet: ipNet(p)}
		if p.Addr().Is6() {
			a.Flags = unix.IFA_F_NODAD // the box's own static address is not probed for duplicates
		}
		if err := k.h.AddrReplace(link, a); err != nil {
			return fmt.Errorf("adding %s to %s: %w", p, it.Name, err)
		}
	}
	return nil
}

func (k *Kernel) routes(c Config) error {
	cur, err := k.Observe()
	if err != nil {
		return err
	}
	want := make([]Route, 0, len(c.Routes))
	for _, r := range c.Routes {
		if r.Dev == "" {
			r.Dev = gatewayDev(c, r.Via)
		}
		r.To = r.To.Masked()
		want = append(want, r)
	}
	for _, r := range cur.Routes {
		if slices.Contains(want, r) {
			continue
		}
		nr, err := k.route(r)
		if err != nil {
			continue // its interface is gone, and the route with it
		}
		if err := k.h.RouteDel(nr); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("removing the route %s: %w", r, err)
		}
	}
	for _, r := range want {
		nr, err := k.route(r)
		if err != nil {
			return err
		}
		if err := k.h.RouteReplace(nr); err != nil {
			return fmt.Errorf("adding the route %s: %w", r, err)
		}
	}
	return nil
}

func (k *Kernel) route(r Route) (*netlink.Route, error) {
	nr := &netlink.Route{Dst: ipNet(r.To), Protocol: unix.RTPROT_STATIC, Table: unix.RT_TABLE_MAIN, Type: unix.RTN_UNICAST}
	if r.To.Addr().Is4() {
		nr.Family = unix.AF_INET
	} else {
		nr.Family = unix.AF_INET6
	}
	if r.Via.IsValid() {
		nr.Gw = r.Via.AsSlice()
	} else {
		nr.Scope = netlink.SCOPE_LINK
	}
	if r.Dev != "" {
		link, err := k.h.LinkByName(r.Dev)
		if err != nil {
			return nil, fmt.Errorf("finding %s for the route %s: %w", r.Dev, r, err)
		}
		nr.LinkIndex = link.Attrs().Index
	}
	return nr, nil
}
