package netcfg

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func pfx(s ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, x := range s {
		p, err := netip.ParsePrefix(x)
		if err != nil {
			p = netip.Prefix{}
		}
		out = append(out, p)
	}
	return out
}

// box is an observed box with two ports; the admin reaches eth0's
// 192.0.2.1 from 192.0.2.100.
var box = State{Links: []Link{
	{Name: "eth0", Kind: KindEther, Up: true, MTU: 1500, Addrs: []Addr{{Prefix: netip.MustParsePrefix("192.0.2.1/24")}}},
	{Name: "eth1", Kind: KindEther, Up: true, MTU: 1500},
}}

var adminOnEth0 = Admin{Local: netip.MustParseAddr("192.0.2.1"), Remote: netip.MustParseAddr("192.0.2.100")}

func TestValidateRefuses(t *testing.T) {
	eth0 := func(addrs ...string) Interface {
		return Interface{Name: "eth0", Kind: KindEther, Addresses: pfx(addrs...)}
	}
	for _, tc := range []struct {
		name  string
		c     Config
		field string
		says  string
	}{
		{"no prefix length", Config{Interfaces: []Interface{eth0("192.0.2.1/24"), {Name: "eth1", Kind: KindEther, Addresses: pfx("10.0.0.1")}}},
			"interfaces.1.addresses", "with a prefix length"},
		{"multicast", Config{Interfaces: []Interface{eth0("192.0.2.1/24", "224.0.0.5/24")}}, "interfaces.0.addresses", "cannot be given"},
		{"network address", Config{Interfaces: []Interface{eth0("192.0.2.1/24", "10.1.0.0/16")}}, "interfaces.0.addresses", "network or broadcast"},
		{"overlapping subnets", Config{Interfaces: []Interface{eth0("192.0.2.1/24"), {Name: "eth1", Kind: KindEther, Addresses: pfx("192.0.2.9/25")}}},
			"interfaces.1.addresses", "overlaps 192.0.2.0/24 on eth0"},
		{"gateway outside every subnet", Config{Interfaces: []Interface{eth0("192.0.2.1/24")}, Routes: []Route{{To: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("10.0.0.1")}}},
			"routes.0.via", "outside every subnet"},
		{"gateway of the other family", Config{Interfaces: []Interface{eth0("192.0.2.1/24")}, Routes: []Route{{To: netip.MustParsePrefix("::/0"), Via: netip.MustParseAddr("192.0.2.254")}}},
			"routes.0.via", "IPv4 but the destination is IPv6"},
		{"two default routes", Config{Interfaces: []Interface{eth0("192.0.2.1/24")}, Routes: []Route{
			{To: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("192.0.2.254")}, {To: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("192.0.2.253")}}},
			"routes.1.to", "already a default route"},
		{"removing the admin's last address", Config{Interfaces: []Interface{eth0("10.5.0.1/24")}}, "interfaces", "no address that 192.0.2.100 can reach"},
		{"taking the admin's interface down", Config{Interfaces: []Interface{{Name: "eth0", Kind: KindEther, Down: true, Addresses: pfx("192.0.2.1/24")}}}, "interfaces", "no address that 192.0.2.100 can reach"},
		{"bonding the admin's port away", Config{Interfaces: []Interface{{Name: "bond0", Kind: KindBond, BondMode: BondActiveBackup, Members: []string{"eth0", "eth1"}, Addresses: pfx("10.7.0.1/24")}}},
			"interfaces", "no address that 192.0.2.100 can reach"},
		{"VLAN 0", Config{Interfaces: []Interface{{Name: "eth1.0", Kind: KindVLAN, Parent: "eth1", VLAN: 0}}}, "interfaces.0.vlan", "between 1 and 4094"},
		{"VLAN 4095", Config{Interfaces: []Interface{{Name: "eth1.4095", Kind: KindVLAN, Parent: "eth1", VLAN: 4095}}}, "interfaces.0.vlan", "between 1 and 4094"},
		{"VLAN named like a port", Config{Interfaces: []Interface{{Name: "eth0", Kind: KindVLAN, Parent: "eth1", VLAN: 7}}}, "interfaces.0.name", "already exists and is not a VLAN"},
		{"VLAN on a missing port", Config{Interfaces: []Interface{{Name: "eth9.5", Kind: KindVLAN, Parent: "eth9", VLAN: 5}}}, "interfaces.0.parent", "no interface eth9"},
		{"unknown port", Config{Interfaces: []Interface{{Name: "eth7", Kind: KindEther}}}, "interfaces.0.name", "pick one of eth0, eth1"},
		{"bad name", Config{Interfaces: []Interface{{Name: "eth0; reboot", Kind: KindEther}}}, "interfaces.0.name", "not an interface name"},
		{"bond without mode", Config{Interfaces: []Interface{{Name: "bond0", Kind: KindBond, Members: []string{"eth1"}}}}, "interfaces.0.bond_mode", "active-backup or 802.3ad"},
		{"port in two bonds", Config{Interfaces: []Interface{{Name: "bond0", Kind: KindBond, BondMode: BondActiveBackup, Members: []string{"eth1"}},
			{Name: "bond1", Kind: KindBond, BondMode: Bond8023ad, Members: []string{"eth1"}}}}, "interfaces.1.members", "already a port of bond0"},
		{"addresses on a bond's port", Config{Interfaces: []Interface{{Name: "bond0", Kind: KindBond, BondMode: BondActiveBackup, Members: []string{"eth1"}},
			{Name: "eth1", Kind: KindEther, Addresses: pfx("10.0.0.1/24")}}}, "interfaces.1.addresses", "give the addresses to the bond"},
		{"MTU too small", Config{Interfaces: []Interface{{Name: "eth1", Kind: KindEther, MTU: 100}}}, "interfaces.0.mtu", "between 576 and 9216"},
		{"IPv6 under 1280", Config{Interfaces: []Interface{{Name: "eth1", Kind: KindEther, MTU: 1000, Addresses: pfx("2001:db8::1/64")}}}, "interfaces.0.mtu", "at least 1280"},
		{"DNS multicast", Config{DNS: []netip.Addr{netip.MustParseAddr("ff02::1")}}, "dns", "not a DNS server"},
		{"search domain", Config{Search: []string{"exa mple.com"}}, "search", "not a domain name"},
		{"allow-list without the admin", Config{Allow: Allow{Box: pfx("10.0.0.0/8")}}, "allow_box", "leaves out your own address 192.0.2.100"},
		{"allow-list entry", Config{Allow: Allow{Site: []netip.Prefix{{}}}}, "allow_site", "not a network"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.c, box, adminOnEth0)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate: %v, want refused", err)
			}
			var fe FieldErrors
			errors.As(err, &fe)
			for _, e := range fe {
				if e.Field == tc.field && strings.Contains(e.Msg, tc.says) {
					return
				}
			}
			t.Fatalf("Validate said %v; want %s: …%s…", err, tc.field, tc.says)
		})
	}
}

func TestValidateAccepts(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
	}{
		{"nothing", Config{}},
		{"a second address and a VLAN", Config{Interfaces: []Interface{
			{Name: "eth0", Kind: KindEther, Addresses: pfx("192.0.2.1/24", "192.0.2.2/24")},
			{Name: "eth0.10", Kind: KindVLAN, Parent: "eth0", VLAN: 10, Addresses: pfx("198.51.100.1/24", "2001:db8:10::1/64")},
		}, Routes: []Route{{To: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("192.0.2.254")},
			{To: netip.MustParsePrefix("::/0"), Via: netip.MustParseAddr("fe80::1"), Dev: "eth0.10"}},
			DNS: []netip.Addr{netip.MustParseAddr("192.0.2.53")}, Search: []string{"corp.example"}}},
		{"moving to an address in the admin's subnet", Config{Interfaces: []Interface{{Name: "eth0", Kind: KindEther, Addresses: pfx("192.0.2.50/24")}}}},
		{"moving behind a gateway", Config{Interfaces: []Interface{{Name: "eth0", Kind: KindEther, Addresses: pfx("10.5.0.1/24")}},
			Routes: []Route{{To: netip.MustParsePrefix("192.0.2.0/24"), Via: netip.MustParseAddr("10.5.0.254")}}}},
		{"allow-lists that keep the admin", Config{Allow: Allow{Box: pfx("192.0.2.0/24"), Site: pfx("10.0.0.0/8")}}},
		{"a bond on the other port", Config{Interfaces: []Interface{{Name: "bond0", Kind: KindBond, BondMode: Bond8023ad, Members: []string{"eth1"}, Addresses: pfx("10.8.0.1/24")}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Validate(tc.c, box, adminOnEth0); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestDiffAndConfigRoundTrip(t *testing.T) {
	s := State{Links: []Link{
		{Name: "bond0", Kind: KindBond, BondMode: BondActiveBackup, Up: true, MTU: 1500, Addrs: []Addr{{Prefix: netip.MustParsePrefix("10.0.0.1/24")}}},
		{Name: "eth0", Kind: KindEther, Master: "bond0", MTU: 1500, Up: true},
		{Name: "eth1", Kind: KindEther, MTU: 9000, Addrs: []Addr{{Prefix: netip.MustParsePrefix("10.1.0.9/24"), Dynamic: true}}},
	}, Routes: []Route{{To: netip.MustParsePrefix("0.0.0.0/0"), Via: netip.MustParseAddr("10.0.0.254"), Dev: "bond0"}}}
	c := s.Config()
	if b := c.Find("bond0"); b == nil || len(b.Members) != 1 || b.Members[0] != "eth0" {
		t.Fatalf("bond0 in %+v", c)
	}
	if e := c.Find("eth1"); e == nil || !e.DHCP || len(e.Addresses) != 0 || !e.Down {
		t.Fatalf("eth1 in %+v", c)
	}
	if d := Diff(s, s); d != nil {
		t.Fatalf("Diff of a state with itself: %v", d)
	}
	other := s
	other.Links = append([]Link(nil), s.Links...)
	other.Links[2].MTU = 1500
	other.Routes = nil
	d := Diff(s, other)
	if strings.Join(d, "; ") != "eth1 has MTU 1500 instead of 9000; the route default via 10.0.0.254 dev bond0 is missing" {
		t.Fatalf("Diff: %q", d)
	}
}

// FuzzParse feeds what a person may type into the address, route and DNS
// fields through the parsers and Validate: errors, never a panic, and
// what parses writes back to text that parses the same.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"192.0.2.10/24 2001:db8::1/64", "default via 192.0.2.254\n10.2.0.0/16 via 10.0.0.1 dev eth1", "default6 dev eth0", "::/0 via fe80::1 dev eth0", "1.2.3.4", "via", "0/0 dev"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		addrs, _ := ParseAddresses(s)
		dns, _ := ParseAddrs(s)
		routes, err := ParseRoutes(s)
		if err == nil {
			again, err := ParseRoutes(FormatRoutes(routes))
			if err != nil || len(again) != len(routes) {
				t.Fatalf("routes %v wrote %q, which reads back as %v, %v", routes, FormatRoutes(routes), again, err)
			}
		}
		c := Config{Interfaces: []Interface{{Name: "eth0", Kind: KindEther, Addresses: addrs}, {Name: "eth0.5", Kind: KindVLAN, Parent: "eth0", VLAN: len(s), Addresses: addrs}},
			Routes: routes, DNS: dns, Search: fields(s)}
		_ = Validate(c, box, adminOnEth0)
		_ = c.Lines()
	})
}
