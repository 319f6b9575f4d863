package netcfg

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// The text forms of addresses and routes, as people type them on the
// /appliance network page and in the console menu.

// Problem is what is wrong with a text a person typed, in words for them.
type Problem string

func (p Problem) Error() string { return string(p) }

func problem(format string, args ...any) error { return Problem(fmt.Sprintf(format, args...)) }

// maxText bounds any one text a person types here.
const maxText = 4096

// fields splits on commas, spaces and line breaks.
func fields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ';' })
}

// ParseAddresses reads interface addresses with their prefix length
// ("192.0.2.10/24 2001:db8::10/64"). An address typed without a prefix
// length is refused with a message, since guessing /32 would cut the box
// off its subnet.
func ParseAddresses(s string) ([]netip.Prefix, error) {
	if len(s) > maxText {
		return nil, problem("That is too long: at most %d addresses.", maxAddresses)
	}
	var out []netip.Prefix
	for _, f := range fields(s) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			if _, aerr := netip.ParseAddr(f); aerr == nil {
				return nil, problem("%s needs its prefix length, such as %s/24.", f, f)
			}
			return nil, problem("%q is not an address with a prefix length, such as 192.0.2.10/24.", f)
		}
		out = append(out, p)
	}
	return out, nil
}

// ParseNetworks reads networks for an allow-list ("192.0.2.0/24
// 2001:db8::/48"); a lone address is that one host.
func ParseNetworks(s string) ([]netip.Prefix, error) {
	if len(s) > maxText {
		return nil, problem("That is too long: at most %d networks.", maxAllow)
	}
	var out []netip.Prefix
	for _, f := range fields(s) {
		if p, err := netip.ParsePrefix(f); err == nil && p.Addr().Zone() == "" {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil || a.Zone() != "" {
			return nil, problem("%q is not a network such as 192.0.2.0/24, or an address.", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// ParseAddrs reads plain addresses (DNS servers).
func ParseAddrs(s string) ([]netip.Addr, error) {
	if len(s) > maxText {
		return nil, problem("That is too long.")
	}
	var out []netip.Addr
	for _, f := range fields(s) {
		a, err := netip.ParseAddr(f)
		if err != nil || a.Zone() != "" {
			return nil, problem("%q is not an IP address.", f)
		}
		out = append(out, a)
	}
	return out, nil
}

// LineError is a problem on one line of a multi-line text.
type LineError struct {
	Line int // from 1
	Msg  string
}

func (e *LineError) Error() string { return fmt.Sprintf("Line %d: %s", e.Line, e.Msg) }

// ParseRoutes reads one route per line, as ip(8) writes them:
//
//	default via 192.0.2.254
//	10.2.0.0/16 via 10.0.0.1 dev eth1
//	198.51.100.0/24 dev eth0.10
//
// Blank lines and lines starting with # are skipped.
func ParseRoutes(s string) ([]Route, error) {
	if len(s) > maxText {
		return nil, &LineError{Line: 1, Msg: fmt.Sprintf("There are too many routes: at most %d.", maxRoutes)}
	}
	var out []Route
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := parseRoute(line)
		if err != nil {
			return nil, &LineError{Line: i + 1, Msg: err.Error()}
		}
		out = append(out, r)
	}
	return out, nil
}

func parseRoute(line string) (Route, error) {
	words := strings.Fields(line)
	var r Route
	switch to := words[0]; {
	case to == "default" || to == "default4":
		r.To = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	case to == "default6":
		r.To = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	default:
		p, err := netip.ParsePrefix(to)
		if err != nil {
			return Route{}, problem("%q is not a destination: write default, or a subnet such as 10.2.0.0/16.", to)
		}
		r.To = p.Masked()
	}
	rest := words[1:]
	for len(rest) > 0 {
		if len(rest) < 2 {
			return Route{}, problem("%q needs a value after it.", rest[0])
		}
		switch rest[0] {
		case "via":
			a, err := netip.ParseAddr(rest[1])
			if err != nil || a.Zone() != "" {
				return Route{}, problem("%q is not a gateway address.", rest[1])
			}
			r.Via = a
			if words[0] == "default" && a.Is6() {
				r.To = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
			}
		case "dev":
			if !validName(rest[1]) {
				return Route{}, problem("%q is not an interface name.", rest[1])
			}
			r.Dev = rest[1]
		default:
			return Route{}, problem("%q is not understood: write DESTINATION via GATEWAY, optionally followed by dev INTERFACE.", rest[0])
		}
		rest = rest[2:]
	}
	if !r.Via.IsValid() && r.Dev == "" {
		return Route{}, problem("Give the gateway (via ADDRESS) or the interface (dev NAME).")
	}
	return r, nil
}

// FormatRoutes writes routes one per line, the way ParseRoutes reads them.
func FormatRoutes(rs []Route) string {
	var b strings.Builder
	for _, r := range rs {
		if r.To.Bits() == 0 && r.To.Addr().Is6() && !r.Via.IsValid() {
			b.WriteString("default6")
		} else if r.To.Bits() == 0 {
			b.WriteString("default")
		} else {
			b.WriteString(r.To.String())
		}
		r.writeVia(&b)
		b.WriteByte('\n')
	}
	return b.String()
}

// FormatPrefixes writes prefixes separated by spaces.
func FormatPrefixes[T fmt.Stringer](ps []T) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}

// Lines describes c in a few lines for the change log.
func (c Config) Lines() []string {
	var out []string
	for _, it := range c.Interfaces {
		var b strings.Builder
		b.WriteString(it.Name)
		switch it.Kind {
		case KindVLAN:
			fmt.Fprintf(&b, " (VLAN %d on %s)", it.VLAN, it.Parent)
		case KindBond:
			fmt.Fprintf(&b, " (%s bond of %s)", it.BondMode, strings.Join(it.Members, ", "))
		}
		switch {
		case it.Down:
			b.WriteString(": down")
		case it.DHCP:
			b.WriteString(": DHCP")
		default:
			b.WriteString(": static")
		}
		if len(it.Addresses) > 0 {
			b.WriteString(" " + FormatPrefixes(it.Addresses))
		}
		if it.MTU != 0 {
			b.WriteString(", MTU " + strconv.Itoa(it.MTU))
		}
		out = append(out, b.String())
	}
	for _, r := range c.Routes {
		out = append(out, "route "+r.String())
	}
	if len(c.DNS) > 0 {
		out = append(out, "DNS "+FormatPrefixes(c.DNS))
	}
	if len(c.Search) > 0 {
		out = append(out, "search "+strings.Join(c.Search, " "))
	}
	if len(c.Allow.Site) > 0 {
		out = append(out, "/login and /console only from "+FormatPrefixes(c.Allow.Site))
	}
	if len(c.Allow.Box) > 0 {
		out = append(out, "/appliance only from "+FormatPrefixes(c.Allow.Box))
	}
	return out
}
