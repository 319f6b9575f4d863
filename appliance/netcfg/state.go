package netcfg

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// State is the network as the kernel has it: what Observe reads back.
type State struct {
	Links []Link `json:"links"`
	// Routes are the static routes of the main table (those an
	// administrator or this package added; the kernel's own subnet
	// routes and those of DHCP clients and router advertisements are
	// left out).
	Routes []Route `json:"routes,omitempty"`
	// Allow are the allow-lists in force, and DNS and Search the resolver
	// settings configured (System only).
	Allow  Allow        `json:"allow,omitzero"`
	DNS    []netip.Addr `json:"dns,omitempty"`
	Search []string     `json:"search,omitempty"`
}

// Link is one interface as observed.
type Link struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // KindEther, KindVLAN or KindBond
	Type string `json:"type"` // the kernel's link type, such as "device" or "veth"
	MAC  string `json:"mac,omitempty"`
	MTU  int    `json:"mtu"`
	// Up is the administrative state; Carrier says whether the link is
	// operationally up.
	Up      bool   `json:"up"`
	Carrier bool   `json:"carrier"`
	Master  string `json:"master,omitempty"` // the bond this port belongs to
	Parent  string `json:"parent,omitempty"` // a VLAN's parent
	VLAN    int    `json:"vlan,omitempty"`
	// BondMode and Active are a bond's mode and its active port.
	BondMode string `json:"bond_mode,omitempty"`
	Active   string `json:"active,omitempty"`
	Addrs    []Addr `json:"addrs,omitempty"`
	// DHCP says a DHCP client of the box runs here (System only).
	DHCP bool `json:"dhcp,omitempty"`
}

// Addr is an address on a link. Dynamic addresses come from DHCP or
// router advertisements and expire.
type Addr struct {
	Prefix  netip.Prefix `json:"prefix"`
	Dynamic bool         `json:"dynamic,omitempty"`
}

// Link returns the named link, or nil.
func (s State) Link(name string) *Link {
	for i := range s.Links {
		if s.Links[i].Name == name {
			return &s.Links[i]
		}
	}
	return nil
}

// Ports lists the names of the physical ports.
func (s State) Ports() []string {
	var out []string
	for _, l := range s.Links {
		if l.Kind == KindEther {
			out = append(out, l.Name)
		}
	}
	return out
}

// LinkOf returns the name of the link holding address a, or "".
func (s State) LinkOf(a netip.Addr) string {
	for _, l := range s.Links {
		for _, x := range l.Addrs {
			if x.Prefix.Addr() == a.Unmap() {
				return l.Name
			}
		}
	}
	return ""
}

// Dynamic reports whether a is a dynamic address of the box.
func (s State) Dynamic(a netip.Addr) bool {
	for _, l := range s.Links {
		for _, x := range l.Addrs {
			if x.Prefix.Addr() == a.Unmap() {
				return x.Dynamic
			}
		}
	}
	return false
}

// Addresses lists every address of the box, in link order.
func (s State) Addresses() []netip.Addr {
	var out []netip.Addr
	for _, l := range s.Links {
		for _, x := range l.Addrs {
			out = append(out, x.Prefix.Addr())
		}
	}
	return out
}

// Config is the configuration that puts the box back into s: every link
// with its static addresses, MTU and state, bonds with their ports, VLANs,
// and the static routes. Links with dynamic addresses keep DHCP.
func (s State) Config() Config {
	var c Config
	for _, l := range s.Links {
		it := Interface{Name: l.Name, Kind: l.Kind, MTU: l.MTU, Down: !l.Up, Parent: l.Parent, VLAN: l.VLAN, BondMode: l.BondMode, DHCP: l.DHCP}
		for _, a := range l.Addrs {
			if a.Dynamic {
				it.DHCP = true
			} else {
				it.Addresses = append(it.Addresses, a.Prefix)
			}
		}
		if l.Kind == KindBond {
			for _, p := range s.Links {
				if p.Master == l.Name {
					it.Members = append(it.Members, p.Name)
				}
			}
		}
		c.Interfaces = append(c.Interfaces, it)
	}
	c.Routes = slices.Clone(s.Routes)
	c.Allow, c.DNS, c.Search = s.Allow, slices.Clone(s.DNS), slices.Clone(s.Search)
	return c
}

// Diff lists, in words, how got differs from want in what a configuration
// sets: links, their kind, MTU, state, bond and VLAN, static addresses and
// static routes. Carrier, active ports and dynamic addresses change by
// themselves and are not compared. Nil means they match.
func Diff(want, got State) []string {
	var out []string
	for _, w := range want.Links {
		g := got.Link(w.Name)
		if g == nil {
			out = append(out, fmt.Sprintf("%s is missing", w.Name))
			continue
		}
		if w.Kind != g.Kind {
			out = append(out, fmt.Sprintf("%s is a %s, not a %s", w.Name, g.Kind, w.Kind))
		}
		if w.MTU != g.MTU {
			out = append(out, fmt.Sprintf("%s has MTU %d instead of %d", w.Name, g.MTU, w.MTU))
		}
		if w.Up != g.Up {
			out = append(out, fmt.Sprintf("%s is %s instead of %s", w.Name, upDown(g.Up), upDown(w.Up)))
		}
		if w.Master != g.Master {
			out = append(out, fmt.Sprintf("%s belongs to bond %q instead of %q", w.Name, g.Master, w.Master))
		}
		if w.Parent != g.Parent || w.VLAN != g.VLAN {
			out = append(out, fmt.Sprintf("%s is VLAN %d on %q instead of %d on %q", w.Name, g.VLAN, g.Parent, w.VLAN, w.Parent))
		}
		if w.BondMode != g.BondMode {
			out = append(out, fmt.Sprintf("%s is in bond mode %q instead of %q", w.Name, g.BondMode, w.BondMode))
		}
		wa, ga := static(w.Addrs), static(g.Addrs)
		for _, a := range wa {
			if !slices.Contains(ga, a) {
				out = append(out, fmt.Sprintf("%s lacks the address %s", w.Name, a))
			}
		}
		for _, a := range ga {
			if !slices.Contains(wa, a) {
				out = append(out, fmt.Sprintf("%s has the extra address %s", w.Name, a))
			}
		}
	}
	for _, g := range got.Links {
		if want.Link(g.Name) == nil {
			out = append(out, fmt.Sprintf("%s (%s) is extra", g.Name, g.Kind))
		}
	}
	for _, r := range want.Routes {
		if !slices.Contains(got.Routes, r) {
			out = append(out, "the route "+r.String()+" is missing")
		}
	}
	for _, r := range got.Routes {
		if !slices.Contains(want.Routes, r) {
			out = append(out, "the route "+r.String()+" is extra")
		}
	}
	if !slices.Equal(want.Allow.Site, got.Allow.Site) {
		out = append(out, fmt.Sprintf("the allow-list of /login and /console is %v instead of %v", got.Allow.Site, want.Allow.Site))
	}
	if !slices.Equal(want.DNS, got.DNS) || !slices.Equal(want.Search, got.Search) {
		out = append(out, fmt.Sprintf("the DNS servers are %v (search %v) instead of %v (search %v)", got.DNS, got.Search, want.DNS, want.Search))
	}
	if !slices.Equal(want.Allow.Box, got.Allow.Box) {
		out = append(out, fmt.Sprintf("the allow-list of /appliance is %v instead of %v", got.Allow.Box, want.Allow.Box))
	}
	return out
}

func upDown(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

func static(as []Addr) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range as {
		if !a.Dynamic {
			out = append(out, a.Prefix)
		}
	}
	return out
}

// String writes a route the way ip(8) does.
func (r Route) String() string {
	var b strings.Builder
	if r.To.Bits() == 0 {
		b.WriteString("default")
		if r.To.Addr().Is6() {
			b.WriteString(" (IPv6)")
		}
	} else {
		b.WriteString(r.To.String())
	}
	r.writeVia(&b)
	return b.String()
}

// writeVia writes " via GATEWAY dev NAME", as far as r has them.
func (r Route) writeVia(b *strings.Builder) {
	if r.Via.IsValid() {
		b.WriteString(" via " + r.Via.String())
	}
	if r.Dev != "" {
		b.WriteString(" dev " + r.Dev)
	}
}

// sortState puts links, addresses and routes in a stable order.
func sortState(s *State) {
	slices.SortFunc(s.Links, func(a, b Link) int { return cmp.Compare(a.Name, b.Name) })
	for i := range s.Links {
		slices.SortFunc(s.Links[i].Addrs, func(a, b Addr) int { return cmp.Compare(a.Prefix.String(), b.Prefix.String()) })
	}
	slices.SortFunc(s.Routes, func(a, b Route) int { return cmp.Compare(a.String(), b.String()) })
}
