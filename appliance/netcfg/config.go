package netcfg

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Interface kinds.
const (
	KindEther = "ether" // a physical (or virtual) port the box already has
	KindVLAN  = "vlan"  // an 802.1Q VLAN on a parent interface
	KindBond  = "bond"  // a bond of ports
)

// Bond modes offered.
const (
	BondActiveBackup = "active-backup"
	Bond8023ad       = "802.3ad"
)

// Config is the desired network configuration of the box. Interfaces it
// does not name are left as they are.
type Config struct {
	Interfaces []Interface `json:"interfaces"`
	// Routes are static routes; a default route has To 0.0.0.0/0 or ::/0.
	Routes []Route `json:"routes,omitempty"`
	// DNS servers, in order, and search domains.
	DNS    []netip.Addr `json:"dns,omitempty"`
	Search []string     `json:"search,omitempty"`
	// Allow are the IP allow-lists of the web surfaces.
	Allow Allow `json:"allow,omitzero"`
}

// Allow lists the networks that may reach the staff surfaces: Site for
// /login and /console, Box for /appliance. An empty list lets everyone
// in. The public site is never restricted. Changing them is a trial like
// any network change.
type Allow struct {
	Site []netip.Prefix `json:"site,omitempty"`
	Box  []netip.Prefix `json:"box,omitempty"`
}

// Allows reports whether a is in list (an empty list holds everyone).
func Allows(list []netip.Prefix, a netip.Addr) bool {
	if len(list) == 0 {
		return true
	}
	a = a.Unmap()
	for _, p := range list {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Interface is the desired state of one interface.
type Interface struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Parent and VLAN are a VLAN interface's parent and id (1–4094).
	Parent string `json:"parent,omitempty"`
	VLAN   int    `json:"vlan,omitempty"`
	// Members and BondMode make a bond.
	Members  []string `json:"members,omitempty"`
	BondMode string   `json:"bond_mode,omitempty"`
	// Down keeps the interface administratively down.
	Down bool `json:"down,omitempty"`
	// DHCP leaves the interface's dynamic addresses to the DHCP client
	// and router advertisements; Addresses are added beside them.
	DHCP      bool           `json:"dhcp,omitempty"`
	Addresses []netip.Prefix `json:"addresses,omitempty"`
	// MTU is the link MTU; 0 keeps the current one.
	MTU int `json:"mtu,omitempty"`
}

// Route is a static route. Dev may be empty when Via is in the subnet of
// exactly one interface.
type Route struct {
	To  netip.Prefix `json:"to"`
	Via netip.Addr   `json:"via,omitzero"`
	Dev string       `json:"dev,omitempty"`
}

// Find returns the named interface of c, or nil.
func (c *Config) Find(name string) *Interface {
	for i := range c.Interfaces {
		if c.Interfaces[i].Name == name {
			return &c.Interfaces[i]
		}
	}
	return nil
}

// WithInterface returns c with it in place of the interface of the same
// name (keeping that one's kind, VLAN and bond shape), or added as a port.
func (c Config) WithInterface(it Interface) Config {
	c.Interfaces = slices.Clone(c.Interfaces)
	if old := c.Find(it.Name); old != nil {
		it.Kind, it.Parent, it.VLAN, it.Members, it.BondMode = old.Kind, old.Parent, old.VLAN, old.Members, old.BondMode
		*old = it
		return c
	}
	it.Kind = KindEther
	c.Interfaces = append(c.Interfaces, it)
	return c
}

// WithDefaultRoute returns c with its default route of gw's family going
// through gw.
func (c Config) WithDefaultRoute(gw netip.Addr) Config {
	var routes []Route
	for _, r := range c.Routes {
		if r.To.Bits() != 0 || r.To.Addr().Is4() != gw.Is4() {
			routes = append(routes, r)
		}
	}
	zero := netip.IPv4Unspecified()
	if gw.Is6() {
		zero = netip.IPv6Unspecified()
	}
	c.Routes = append(routes, Route{To: netip.PrefixFrom(zero, 0), Via: gw})
	return c
}

// Limits on what one configuration may hold.
const (
	maxInterfaces = 64
	maxAddresses  = 16 // per interface
	maxRoutes     = 64
	maxDNS        = 4
	maxAllow      = 64 // networks per allow-list
	maxSearch     = 6
	minMTU        = 576
	minMTU6       = 1280
	maxMTU        = 9216
)

// ErrInvalid is matched by every validation error.
var ErrInvalid = errors.New("invalid network configuration")

// FieldError is one thing to fix, with the form field it belongs to
// ("interfaces.2.addresses", "routes.0.via", "dns") and words for people.
type FieldError struct{ Field, Msg string }

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap makes a FieldError match ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// FieldErrors are every problem of one configuration.
type FieldErrors []*FieldError

func (fe FieldErrors) Error() string {
	if len(fe) == 0 {
		return "no errors"
	}
	if len(fe) == 1 {
		return fe[0].Error()
	}
	return fmt.Sprintf("%s (and %d more)", fe[0].Error(), len(fe)-1)
}

// Unwrap makes FieldErrors match ErrInvalid.
func (fe FieldErrors) Unwrap() error { return ErrInvalid }

func (fe *FieldErrors) add(field, format string, args ...any) {
	*fe = append(*fe, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

// Admin is where the administrator who makes a change reaches the box
// from: the box's address their connection arrived at and their own
// address. Validate refuses a configuration that leaves them no way in.
type Admin struct {
	Local, Remote netip.Addr
}

// Validate checks c against the interfaces the box has (observed) and the
// administrator making the change, and returns every problem as
// FieldErrors, or nil. Nothing is applied by Validate.
func Validate(c Config, observed State, admin Admin) error {
	var fe FieldErrors
	if len(c.Interfaces) > maxInterfaces {
		fe.add("interfaces", "At most %d interfaces can be configured.", maxInterfaces)
		return fe
	}
	names := map[string]int{}
	for i, it := range c.Interfaces {
		f := fmt.Sprintf("interfaces.%d", i)
		if !validName(it.Name) {
			fe.add(f+".name", "%q is not an interface name: use 1 to 15 letters, digits, '.', '-' or '_'.", it.Name)
			continue
		}
		if _, dup := names[it.Name]; dup {
			fe.add(f+".name", "%s is configured twice: keep one entry.", it.Name)
			continue
		}
		names[it.Name] = i
	}
	member := map[string]string{} // port → bond
	for i, it := range c.Interfaces {
		f := fmt.Sprintf("interfaces.%d", i)
		switch it.Kind {
		case KindEther:
			if l := observed.Link(it.Name); l == nil {
				fe.add(f+".name", "The box has no interface %s: pick one of %s.", it.Name, strings.Join(observed.Ports(), ", "))
			} else if l.Kind != KindEther {
				fe.add(f+".kind", "%s is a %s, not a port.", it.Name, l.Kind)
			}
		case KindVLAN:
			if l := observed.Link(it.Name); l != nil && l.Kind != KindVLAN {
				fe.add(f+".name", "%s already exists and is not a VLAN: choose another name, such as %s.%d.", it.Name, it.Parent, it.VLAN)
			}
			if it.VLAN < 1 || it.VLAN > 4094 {
				fe.add(f+".vlan", "A VLAN id is between 1 and 4094 (0 and 4095 are reserved); %d is not.", it.VLAN)
			}
			p, inCfg := names[it.Parent]
			switch {
			case it.Parent == "":
				fe.add(f+".parent", "Choose the interface VLAN %d runs on.", it.VLAN)
			case inCfg && c.Interfaces[p].Kind == KindVLAN:
				fe.add(f+".parent", "A VLAN cannot run on another VLAN (%s).", it.Parent)
			case !inCfg && observed.Link(it.Parent) == nil:
				fe.add(f+".parent", "The box has no interface %s to carry VLAN %d.", it.Parent, it.VLAN)
			}
			for j, o := range c.Interfaces[:i] {
				if o.Kind == KindVLAN && o.Parent == it.Parent && o.VLAN == it.VLAN {
					fe.add(f+".vlan", "VLAN %d on %s is already %s.", it.VLAN, it.Parent, c.Interfaces[j].Name)
				}
			}
		case KindBond:
			if it.BondMode != BondActiveBackup && it.BondMode != Bond8023ad {
				fe.add(f+".bond_mode", "A bond's mode is %s or %s.", BondActiveBackup, Bond8023ad)
			}
			if len(it.Members) == 0 {
				fe.add(f+".members", "A bond needs at least one port.")
			}
			for _, m := range it.Members {
				l := observed.Link(m)
				switch {
				case l == nil || l.Kind != KindEther:
					fe.add(f+".members", "%s is not a port of this box.", m)
				case member[m] != "":
					fe.add(f+".members", "%s is already a port of %s.", m, member[m])
				default:
					member[m] = it.Name
					if j, ok := names[m]; ok && (c.Interfaces[j].DHCP || len(c.Interfaces[j].Addresses) > 0) {
						fe.add(fmt.Sprintf("interfaces.%d.addresses", j), "%s is a port of %s: give the addresses to the bond instead.", m, it.Name)
					}
				}
			}
			if l := observed.Link(it.Name); l != nil && l.Kind != KindBond {
				fe.add(f+".name", "%s already exists and is not a bond: choose another name.", it.Name)
			}
		default:
			fe.add(f+".kind", "The kind of %s is %s, %s or %s.", it.Name, KindEther, KindVLAN, KindBond)
		}
		if it.MTU != 0 && (it.MTU < minMTU || it.MTU > maxMTU) {
			fe.add(f+".mtu", "An MTU is between %d and %d bytes.", minMTU, maxMTU)
		}
		if len(it.Addresses) > maxAddresses {
			fe.add(f+".addresses", "At most %d addresses per interface.", maxAddresses)
		}
		for _, p := range it.Addresses {
			if msg := badAddress(p); msg != "" {
				fe.add(f+".addresses", "%s: %s", p, msg)
			} else if p.Addr().Is6() && it.MTU != 0 && it.MTU < minMTU6 {
				fe.add(f+".mtu", "IPv6 needs an MTU of at least %d bytes.", minMTU6)
			}
		}
	}
	// Two interfaces in the same subnet make replies leave by either;
	// BeyondTrust's appliance warns against it too.
	type owned struct {
		p     netip.Prefix
		field string
		name  string
	}
	var subnets []owned
	for i, it := range c.Interfaces {
		for _, p := range it.Addresses {
			if badAddress(p) != "" {
				continue
			}
			for _, o := range subnets {
				if o.p.Masked().Overlaps(p.Masked()) {
					if o.name == it.Name {
						if o.p.Addr() == p.Addr() {
							fe.add(fmt.Sprintf("interfaces.%d.addresses", i), "%s is listed twice.", p.Addr())
						}
						continue
					}
					fe.add(fmt.Sprintf("interfaces.%d.addresses", i), "%s overlaps %s on %s: put each subnet on one interface.", p.Masked(), o.p.Masked(), o.name)
				}
			}
			subnets = append(subnets, owned{p, "", it.Name})
		}
	}
	if len(c.Routes) > maxRoutes {
		fe.add("routes", "At most %d routes.", maxRoutes)
	}
	defaults := map[bool]int{}
	for i, r := range c.Routes {
		f := fmt.Sprintf("routes.%d", i)
		if !r.To.IsValid() {
			fe.add(f+".to", "Give the destination as an address with a prefix length, such as 10.2.0.0/16 or 0.0.0.0/0.")
			continue
		}
		if r.To.Bits() == 0 {
			defaults[r.To.Addr().Is4()]++
			if defaults[r.To.Addr().Is4()] > 1 {
				fe.add(f+".to", "There is already a default route for %s.", family(r.To.Addr()))
			}
		}
		if r.Dev != "" {
			if _, ok := names[r.Dev]; !ok && observed.Link(r.Dev) == nil {
				fe.add(f+".dev", "There is no interface %s.", r.Dev)
			}
		}
		if !r.Via.IsValid() {
			if r.Dev == "" {
				fe.add(f+".via", "Give the gateway, or the interface the destination is directly on.")
			}
			continue
		}
		if r.Via.Is4() != r.To.Addr().Is4() {
			fe.add(f+".via", "The gateway %s is %s but the destination is %s.", r.Via, family(r.Via), family(r.To.Addr()))
			continue
		}
		if r.Via.Is6() && r.Via.IsLinkLocalUnicast() && r.Dev != "" {
			continue // fe80::1 on a named interface is how IPv6 routers are reached
		}
		if dev := gatewayDev(c, r.Via); dev == "" || (r.Dev != "" && dev != r.Dev) {
			where := "any interface"
			if r.Dev != "" {
				where = r.Dev
			}
			fe.add(f+".via", "The gateway %s is outside every subnet of %s: fix the gateway or add an address in its subnet.", r.Via, where)
		}
	}
	if len(c.DNS) > maxDNS {
		fe.add("dns", "At most %d DNS servers.", maxDNS)
	}
	for _, a := range c.DNS {
		if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() {
			fe.add("dns", "%s is not a DNS server's address.", a)
		}
	}
	if len(c.Search) > maxSearch {
		fe.add("search", "At most %d search domains.", maxSearch)
	}
	for _, d := range c.Search {
		if !validDomain(d) {
			fe.add("search", "%q is not a domain name.", d)
		}
	}
	for _, l := range []struct {
		field string
		list  []netip.Prefix
	}{{"allow_site", c.Allow.Site}, {"allow_box", c.Allow.Box}} {
		if len(l.list) > maxAllow {
			fe.add(l.field, "At most %d networks per allow-list.", maxAllow)
		}
		for _, p := range l.list {
			if !p.IsValid() || p.Addr().Zone() != "" {
				fe.add(l.field, "%s is not a network such as 192.0.2.0/24 or 2001:db8::/48.", p)
			}
		}
	}
	// The administrator making the change keeps /appliance: the
	// confirmation arrives there.
	if admin.Remote.IsValid() && !Allows(c.Allow.Box, admin.Remote) {
		fe.add("allow_box", "This list leaves out your own address %s, so you could not confirm the change: add %s or a network that holds it.",
			admin.Remote, netip.PrefixFrom(admin.Remote, admin.Remote.BitLen()))
	}
	if len(fe) == 0 && admin.Local.IsValid() && !reaches(c, observed, admin) {
		fe.add("interfaces", "After this change the box would have no address that %s can reach: keep %s, add an address in %s's subnet, or a route to it.",
			admin.Remote, admin.Local, admin.Remote)
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// badAddress says what is wrong with an interface address, or "".
func badAddress(p netip.Prefix) string {
	a := p.Addr()
	switch {
	case !p.IsValid():
		return "not an address with a prefix length, such as 192.0.2.10/24"
	case a.Zone() != "":
		return "an address here takes no zone"
	case a.IsUnspecified(), a.IsLoopback(), a.IsMulticast(), a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "this address cannot be given to an interface"
	case a.Is4() && (p.Bits() == 0 || p.Bits() > 32), a.Is6() && (p.Bits() == 0 || p.Bits() > 128):
		return "the prefix length is out of range"
	case a.Is4() && p.Bits() < 31 && (a == p.Masked().Addr() || a == broadcast(p)):
		return "this is the subnet's network or broadcast address, not a host's"
	}
	return ""
}

func broadcast(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "IPv4"
	}
	return "IPv6"
}

// gatewayDev returns the interface whose subnet holds the gateway, or "".
func gatewayDev(c Config, via netip.Addr) string {
	for _, it := range c.Interfaces {
		for _, p := range it.Addresses {
			if p.Masked().Contains(via) {
				return it.Name
			}
		}
	}
	return ""
}

// reaches reports whether the administrator keeps a way in after c: the
// address they use now stays (on an interface that is up), or the box
// gets an address in their subnet, or a route towards them through a
// gateway it can reach. A DHCP interface counts when it is the one they
// reach now, since its lease stays.
func reaches(c Config, observed State, admin Admin) bool {
	if Keeps(c, observed, admin.Local) {
		return true
	}
	for _, it := range c.Interfaces {
		if it.Down || isMember(c, it.Name) {
			continue
		}
		for _, p := range it.Addresses {
			if p.Masked().Contains(admin.Remote) {
				return true
			}
		}
	}
	for _, r := range c.Routes {
		if r.To.Contains(admin.Remote) && (gatewayDev(c, r.Via) != "" || r.Dev != "") {
			return true
		}
	}
	// An address the admin uses on an interface c leaves alone.
	for _, l := range observed.Links {
		if c.Find(l.Name) != nil || isMember(c, l.Name) {
			continue
		}
		for _, a := range l.Addrs {
			if a.Prefix.Masked().Contains(admin.Remote) {
				return true
			}
		}
	}
	return false
}

// Keeps reports whether the box still has address a after c: its
// interface is not touched, or keeps it as a static address, or as a DHCP
// lease.
func Keeps(c Config, observed State, a netip.Addr) bool {
	current := observed.LinkOf(a)
	if current == "" {
		return false
	}
	it := c.Find(current)
	if it == nil {
		return !isMember(c, current)
	}
	return !it.Down && (it.DHCP && observed.Dynamic(a) || slices.ContainsFunc(it.Addresses, func(p netip.Prefix) bool { return p.Addr() == a }))
}

func isMember(c Config, port string) bool {
	for _, it := range c.Interfaces {
		if it.Kind == KindBond && slices.Contains(it.Members, port) {
			return true
		}
	}
	return false
}

func validName(s string) bool {
	if len(s) == 0 || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// validDomain accepts a DNS name of letters, digits and hyphens.
func validDomain(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
