package netcfg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// System is the box's network as the daemon owns it: the kernel over
// netlink, a DHCPv4 client (insomniacslk/dhcp) on every interface that asks
// for one, and the resolver file written from the configured and leased
// DNS servers. systemd-networkd does not run on the image.
type System struct {
	k    *Kernel
	opts SystemOptions

	mu      sync.Mutex
	clients map[string]*dhcpClient
	static  Config // the last configuration applied, for DNS
	allow   atomic.Pointer[Allow]
}

// SystemOptions configure a System.
type SystemOptions struct {
	// DefaultDHCP asks DHCP on every port no configuration names (the
	// box's first-boot default).
	DefaultDHCP bool
	// ResolvConf is the resolver file to write; empty writes none.
	ResolvConf string
	// InNamespace runs fn in the namespace the kernel handle drives (a
	// test's); nil runs it here.
	InNamespace func(fn func() error) error
	Log         *slog.Logger
}

// NewSystem owns the network k drives.
func NewSystem(k *Kernel, o SystemOptions) *System {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.InNamespace == nil {
		o.InNamespace = func(fn func() error) error { return fn() }
	}
	return &System{k: k, opts: o, clients: map[string]*dhcpClient{}}
}

// Observe reads the kernel's state and the allow-lists in force.
func (s *System) Observe() (State, error) {
	st, err := s.k.Observe()
	if a := s.allow.Load(); a != nil {
		st.Allow = *a
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st.DNS, st.Search = slices.Clone(s.static.DNS), slices.Clone(s.static.Search)
	for i := range st.Links {
		st.Links[i].DHCP = s.clients[st.Links[i].Name] != nil
	}
	return st, err
}

// Allowed reports whether a may reach the staff surface of path: /login
// and /console check the site list, /appliance the box's.
func (s *System) Allowed(path string, a netip.Addr) bool {
	lists := s.allow.Load()
	if lists == nil {
		return true
	}
	switch {
	case under(path, "/appliance"):
		return Allows(lists.Box, a)
	case under(path, "/login"), under(path, "/console"):
		return Allows(lists.Site, a)
	}
	return true
}

func under(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// Apply stops the DHCP clients of interfaces that leave DHCP, applies c,
// then starts clients where c (or the default) asks for DHCP.
func (s *System) Apply(c Config) error {
	obs, err := s.k.Observe()
	if err != nil {
		return err
	}
	want := s.dhcpWanted(c, obs)
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, cl := range s.clients {
		if !slices.Contains(want, name) {
			cl.stop()
			delete(s.clients, name)
		}
	}
	s.static = c
	allow := c.Allow
	s.allow.Store(&allow)
	if err := s.k.Apply(c); err != nil {
		return err
	}
	for _, name := range want {
		if s.clients[name] == nil {
			s.clients[name] = s.startClient(name)
		}
	}
	return s.writeResolv()
}

// Default starts DHCP where nothing is configured; the Manager calls it at
// start when no configuration was ever confirmed.
func (s *System) Default() error {
	obs, err := s.k.Observe()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range s.dhcpWanted(Config{}, obs) {
		if s.clients[name] == nil {
			s.clients[name] = s.startClient(name)
		}
	}
	return s.writeResolv()
}

// Settle waits until every DHCP client has its first lease, at most d:
// at start, the box's addresses are then there before the servers that
// list them (WebRTC) begin. A port without a DHCP server only costs d.
func (s *System) Settle(d time.Duration) {
	s.mu.Lock()
	var waits []chan struct{}
	for _, c := range s.clients {
		waits = append(waits, c.leased)
	}
	s.mu.Unlock()
	timeout := time.After(d)
	for _, w := range waits {
		select {
		case <-w:
		case <-timeout:
			return
		}
	}
}

// Close stops every DHCP client; the leases stay in the kernel until they
// expire, so a restarting daemon does not drop the box off the network.
func (s *System) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, cl := range s.clients {
		cl.cancel()
		<-cl.done
		delete(s.clients, name)
	}
}

func (s *System) dhcpWanted(c Config, obs State) []string {
	var out []string
	for _, it := range c.Interfaces {
		if it.DHCP && !it.Down && !isMember(c, it.Name) {
			out = append(out, it.Name)
		}
	}
	if s.opts.DefaultDHCP {
		for _, l := range obs.Links {
			if l.Kind == KindEther && l.Master == "" && c.Find(l.Name) == nil && !isMember(c, l.Name) {
				out = append(out, l.Name)
			}
		}
	}
	return out
}

// Leases returns the DNS servers and search domains leased, per interface.
func (s *System) leasedDNS() (servers []netip.Addr, search []string) {
	for _, name := range sortedKeys(s.clients) {
		d, sr := s.clients[name].dns()
		servers, search = appendNew(servers, d...), appendNew(search, sr...)
	}
	return servers, search
}

// appendNew appends the values list does not hold yet, in order.
func appendNew[T comparable](list []T, vs ...T) []T {
	for _, v := range vs {
		if !slices.Contains(list, v) {
			list = append(list, v)
		}
	}
	return list
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// writeResolv writes the configured DNS servers first, then the leased
// ones, atomically. Called with s.mu held.
func (s *System) writeResolv() error {
	if s.opts.ResolvConf == "" {
		return nil
	}
	servers, search := slices.Clone(s.static.DNS), slices.Clone(s.static.Search)
	ls, lsearch := s.leasedDNS()
	servers, search = appendNew(servers, ls...), appendNew(search, lsearch...)
	var b strings.Builder
	b.WriteString("# Written by applianced from /appliance/network and DHCP; changes here are lost.\n")
	for i, a := range servers {
		if i == 3 {
			break // the C library reads three
		}
		fmt.Fprintf(&b, "nameserver %s\n", a)
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	tmp := s.opts.ResolvConf + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil { // the daemon's umask is 077
		return err
	}
	if err := os.Rename(tmp, s.opts.ResolvConf); err != nil {
		return err
	}
	return syncDir(filepath.Dir(s.opts.ResolvConf))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// dhcpClient keeps one interface's lease.
type dhcpClient struct {
	sys    *System
	iface  string
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	lease *nclient4.Lease
	addr  netip.Prefix
	gw    netip.Addr
	// leased is closed at the first lease; holds counts leases taken.
	leased     chan struct{}
	leasedOnce sync.Once
	holds      atomic.Uint64
}

func (s *System) startClient(iface string) *dhcpClient {
	ctx, cancel := context.WithCancel(context.Background())
	c := &dhcpClient{sys: s, iface: iface, cancel: cancel, done: make(chan struct{}), leased: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.run(ctx)
	}()
	return c
}

// stop ends the client and removes what its lease put in the kernel.
func (c *dhcpClient) stop() {
	c.cancel()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lease != nil {
		c.unapply()
	}
}

func (c *dhcpClient) dns() ([]netip.Addr, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lease == nil {
		return nil, nil
	}
	// What a DHCP server says goes into the resolver file: only plain
	// addresses and domain names, a few of each.
	var out []netip.Addr
	for _, ip := range c.lease.ACK.DNS() {
		if a, ok := netip.AddrFromSlice(ip); ok && len(out) < maxDNS {
			if a = a.Unmap(); !a.IsUnspecified() && !a.IsLoopback() && !a.IsMulticast() {
				out = append(out, a)
			}
		}
	}
	var search []string
	if l := c.lease.ACK.DomainSearch(); l != nil {
		for _, d := range l.Labels {
			if validDomain(d) && len(search) < maxSearch {
				search = append(search, d)
			}
		}
	}
	return out, search
}

// Backoff between failed discoveries.
const (
	dhcpMinWait = 2 * time.Second
	dhcpMaxWait = 60 * time.Second
)

func (c *dhcpClient) run(ctx context.Context) {
	log := c.sys.opts.Log.With("iface", c.iface)
	wait := dhcpMinWait
	for ctx.Err() == nil {
		cl, err := c.open()
		if err != nil {
			log.Warn("DHCP: cannot open the interface", "err", err)
		} else {
			held := c.holds.Load()
			err = c.hold(ctx, cl)
			cl.Close()
			if c.holds.Load() != held {
				wait = dhcpMinWait // it had a lease: start over from the short wait
			}
			if ctx.Err() == nil {
				log.Info("DHCP: no lease", "err", err)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, dhcpMaxWait)
	}
}

func (c *dhcpClient) open() (*nclient4.Client, error) {
	var conn net.PacketConn
	var hw net.HardwareAddr
	err := c.sys.opts.InNamespace(func() error {
		link, err := c.sys.k.h.LinkByName(c.iface)
		if err != nil {
			return err
		}
		hw = link.Attrs().HardwareAddr
		// Nothing else brings a port up on the image.
		if link.Attrs().Flags&net.FlagUp == 0 {
			if err := c.sys.k.h.LinkSetUp(link); err != nil {
				return fmt.Errorf("bringing %s up: %w", c.iface, err)
			}
		}
		conn, err = nclient4.NewRawUDPConn(c.iface, nclient4.ClientPort)
		return err
	})
	if err != nil {
		return nil, err
	}
	return nclient4.NewWithConn(conn, hw, nclient4.WithTimeout(2*time.Second), nclient4.WithRetry(3))
}

// hold gets a lease and keeps renewing it; it returns nil when the lease
// was lost and discovery should start again at once.
func (c *dhcpClient) hold(ctx context.Context, cl *nclient4.Client) error {
	lease, err := cl.Request(ctx, dhcpv4.WithRequestedOptions(dhcpv4.OptionDNSDomainSearchList))
	if err != nil {
		return err
	}
	for {
		if err := c.set(lease); err != nil {
			return err
		}
		total := leaseTime(lease)
		t1 := min(max(lease.ACK.IPAddressRenewalTime(total/2), minRenew), total)
		expiry := lease.CreationTime.Add(total)
		renewAt := lease.CreationTime.Add(t1)
		for {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Until(renewAt)):
			}
			next, err := cl.Renew(ctx, lease)
			if err == nil {
				lease = next
				break
			}
			var nak *nclient4.ErrNak
			if errors.As(err, &nak) || !time.Now().Before(expiry) {
				c.mu.Lock()
				c.unapply()
				c.lease = nil
				c.mu.Unlock()
				return fmt.Errorf("the lease ended: %w", err)
			}
			// Try again halfway to the expiry, as RFC 2131 §4.4.5 has it.
			renewAt = time.Now().Add(max(time.Until(expiry)/2, time.Second))
		}
	}
}

// set puts the lease's address and default route in the kernel.
func (c *dhcpClient) set(lease *nclient4.Lease) error {
	ip, ok := netip.AddrFromSlice(lease.ACK.YourIPAddr)
	if !ok {
		return errors.New("the lease has no address")
	}
	ones, _ := lease.ACK.SubnetMask().Size()
	if lease.ACK.SubnetMask() == nil {
		ones = 24
	}
	p := netip.PrefixFrom(ip.Unmap(), ones)
	if badAddress(p) != "" {
		return fmt.Errorf("the lease's address %s cannot be used", p)
	}
	secs := int(leaseTime(lease).Seconds())
	h := c.sys.k.h
	link, err := h.LinkByName(c.iface)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.addr.IsValid() && c.addr != p {
		c.unapply()
	}
	// A finite lifetime: the kernel drops the address if we die and the
	// lease ends, and Observe sees it as dynamic.
	if err := h.AddrReplace(link, &netlink.Addr{IPNet: ipNet(p), ValidLft: secs, PreferedLft: secs}); err != nil {
		return fmt.Errorf("adding %s: %w", p, err)
	}
	c.addr, c.lease = p, lease
	if rs := lease.ACK.Router(); len(rs) > 0 {
		if gw, ok := netip.AddrFromSlice(rs[0]); ok && p.Masked().Contains(gw.Unmap()) {
			c.gw = gw.Unmap()
			r := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipNet(netip.MustParsePrefix("0.0.0.0/0")), Gw: c.gw.AsSlice(),
				Protocol: unix.RTPROT_DHCP, Priority: dhcpMetric + link.Attrs().Index, Table: unix.RT_TABLE_MAIN, Family: unix.AF_INET}
			if err := h.RouteReplace(r); err != nil {
				return fmt.Errorf("adding the default route via %s: %w", c.gw, err)
			}
		}
	}
	c.sys.opts.Log.Info("DHCP lease", "iface", c.iface, "addr", p, "gateway", c.gw, "seconds", secs)
	c.leasedOnce.Do(func() { close(c.leased) })
	c.holds.Add(1)
	go func() {
		c.sys.mu.Lock()
		defer c.sys.mu.Unlock()
		if err := c.sys.writeResolv(); err != nil {
			c.sys.opts.Log.Warn("writing the resolver file", "err", err)
		}
	}()
	return nil
}

// Bounds on what a lease says: a lifetime of 0 or "infinite" would make
// the kernel keep the address as permanent, and a tiny renewal time would
// spin.
const (
	minLease = time.Minute
	maxLease = 365 * 24 * time.Hour
	minRenew = 30 * time.Second
)

func leaseTime(l *nclient4.Lease) time.Duration {
	return min(max(l.ACK.IPAddressLeaseTime(time.Hour), minLease), maxLease)
}

// dhcpMetric ranks a leased default route behind a static one (metric 0),
// as systemd-networkd does; each interface adds its index, so two leases'
// routes stand side by side instead of one replacing the other.
const dhcpMetric = 1024

// unapply removes the lease's address and route. Called with c.mu held.
func (c *dhcpClient) unapply() {
	h := c.sys.k.h
	link, err := h.LinkByName(c.iface)
	if err != nil || !c.addr.IsValid() {
		return
	}
	h.AddrDel(link, &netlink.Addr{IPNet: ipNet(c.addr)})
	if c.gw.IsValid() {
		h.RouteDel(&netlink.Route{LinkIndex: link.Attrs().Index, Dst: ipNet(netip.MustParsePrefix("0.0.0.0/0")), Gw: c.gw.AsSlice(),
			Protocol: unix.RTPROT_DHCP, Priority: dhcpMetric + link.Attrs().Index, Table: unix.RT_TABLE_MAIN})
	}
	c.addr, c.gw = netip.Prefix{}, netip.Addr{}
}
