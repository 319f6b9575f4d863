// Package config reads applianced's versioned JSON configuration.
//
// A file looks like
//
//	{"version": 1, "state_dir": "/var/lib/applianced", "https_addr": ":443"}
//
// Fields left out take the defaults of the mode (box or dev). Unknown fields,
// a missing or unknown version and invalid values are errors that name the
// field, so a typo never passes silently.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"
)

// Version is the only configuration version this build reads.
const Version = 1

// Box defaults.
const (
	DefaultPath     = "/etc/applianced/config.json"
	DefaultStateDir = "/var/lib/applianced"
)

// Config is the daemon's configuration.
type Config struct {
	Version int `json:"version"`
	// Dev runs on unprivileged loopback ports with a simulated board and
	// read-only networking (make run).
	Dev bool `json:"dev"`
	// StateDir holds the store and the control socket.
	StateDir string `json:"state_dir"`
	// HTTPSAddr is the TCP address for HTTPS and the UDP address for QUIC
	// (HTTP/3 and the relay share it).
	HTTPSAddr string `json:"https_addr"`
	// HTTPAddr serves redirects to HTTPS (and ACME http-01 later).
	HTTPAddr string `json:"http_addr"`
	// PublicURL is the base URL people use to reach the box; empty means
	// derived from the listener.
	PublicURL string `json:"public_url"`
	// TrustedProxies lists the proxies whose X-Forwarded-For is believed.
	TrustedProxies []string `json:"trusted_proxies"`
	// LogLevel is debug, info, warn or error.
	LogLevel string `json:"log_level"`
	// IdleTimeout and AbsoluteTimeout bound sign-in sessions.
	IdleTimeout     Duration `json:"idle_timeout"`
	AbsoluteTimeout Duration `json:"absolute_timeout"`
	// ShutdownTimeout bounds a graceful stop.
	ShutdownTimeout Duration `json:"shutdown_timeout"`
	// PublicStartsPerMinute bounds the support sessions one network (an
	// address, or an IPv6 /64) may start on the public site; 0 is no limit.
	PublicStartsPerMinute int `json:"public_starts_per_minute"`
	// KeyFailuresPerHour is the box-wide budget of wrong session keys per
	// hour; past it, key entry slows down for everyone and admins are
	// alerted in /login.
	KeyFailuresPerHour int `json:"key_failures_per_hour"`
	// RTCAddr is the one UDP address of every WebRTC peer connection
	// (browsers viewing screens, screen shares, presentations).
	RTCAddr string `json:"rtc_udp_addr"`
	// RTCPublicIPs are the addresses browsers reach the box at when it sits
	// behind a 1:1 NAT; empty means the box's own addresses.
	RTCPublicIPs []string `json:"rtc_public_ips"`
	// ClientsDir holds the support app builds handed to customers
	// (supportclient-<os>-<arch>[.exe]).
	ClientsDir string `json:"clients_dir"`
	// SessionMbps and TotalMbps cap the screen traffic of one remote
	// session and of the whole box, in megabits per second (0: no cap).
	SessionMbps int `json:"session_mbps"`
	TotalMbps   int `json:"total_mbps"`
	// DHCPDefault asks DHCP on every port /appliance/network does not
	// configure (the box's first-boot default; applianced is the box's
	// DHCP client).
	DHCPDefault bool `json:"dhcp_default"`
	// ResolvConf is the resolver file applianced writes from the
	// configured and leased DNS servers (/etc/resolv.conf links to it on
	// the image); empty writes none.
	ResolvConf string `json:"resolv_conf"`
	// CertRenewCheck is how often ACME certificates are checked for
	// renewal; 0 is the ACME client's default (10 minutes).
	CertRenewCheck Duration `json:"cert_renew_check"`
}

// Duration is a time.Duration written as a string such as "30m".
type Duration time.Duration

// UnmarshalJSON reads "90s", "30m", "12h".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`want a duration string such as "30m"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: want a value such as \"30m\" or \"12h\"", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Box returns the defaults for a real appliance.
func Box() Config {
	return Config{
		Version:         Version,
		StateDir:        DefaultStateDir,
		HTTPSAddr:       ":443",
		HTTPAddr:        ":80",
		LogLevel:        "info",
		IdleTimeout:     Duration(30 * time.Minute),
		AbsoluteTimeout: Duration(12 * time.Hour),
		ShutdownTimeout: Duration(4 * time.Second),

		PublicStartsPerMinute: 30,
		KeyFailuresPerHour:    100,

		RTCAddr:     ":3478",
		ClientsDir:  "/usr/lib/switchboard/clients",
		SessionMbps: 50,
		TotalMbps:   900,

		DHCPDefault: true,
		ResolvConf:  "/run/applianced/resolv.conf",
	}
}

// Dev returns the defaults for make run.
func Dev() Config {
	c := Box()
	c.Dev = true
	c.DHCPDefault, c.ResolvConf = false, ""
	c.StateDir = "var"
	c.HTTPSAddr = "127.0.0.1:8443"
	c.HTTPAddr = "127.0.0.1:8080"
	c.RTCAddr = "127.0.0.1:8478"
	c.ClientsDir = "out/clients"
	c.LogLevel = "info"
	return c
}

// maxFile bounds a configuration file.
const maxFile = 1 << 20

// Load reads the file at path over base. A missing file is an error only if
// required is set.
func Load(path string, base Config, required bool) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !required {
			return base, base.Validate()
		}
		return Config{}, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	c, err := Parse(io.LimitReader(f, maxFile+1), base)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes one JSON document over base and validates the result.
func Parse(r io.Reader, base Config) (Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Config{}, err
	}
	if len(data) > maxFile {
		return Config{}, fmt.Errorf("file is larger than %d bytes", maxFile)
	}
	var probe struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return Config{}, describe(err)
	}
	if probe.Version == nil {
		return Config{}, fmt.Errorf(`field "version": missing; start the file with {"version": %d, ...}`, Version)
	}
	if *probe.Version != Version {
		return Config{}, fmt.Errorf(`field "version": %d is not supported; this applianced reads version %d`, *probe.Version, Version)
	}
	c := base
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Config{}, describe(err)
	}
	if dec.More() {
		return Config{}, errors.New("trailing data after the JSON object")
	}
	return c, c.Validate()
}

// describe turns a decoding error into one that names the field.
func describe(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		return fmt.Errorf("field %q: want %s, got %s", te.Field, te.Type, te.Value)
	case errors.As(err, &se):
		return fmt.Errorf("not valid JSON at byte %d: %v", se.Offset, err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return err
}

// Validate checks every field and names the first bad one.
func (c Config) Validate() error {
	if c.StateDir == "" {
		return errors.New(`field "state_dir": must not be empty`)
	}
	for name, addr := range map[string]string{"https_addr": c.HTTPSAddr, "http_addr": c.HTTPAddr, "rtc_udp_addr": c.RTCAddr} {
		if addr == "" && (name == "http_addr" || name == "rtc_udp_addr") {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("field %q: %q is not host:port", name, addr)
		}
	}
	if _, err := c.Proxies(); err != nil {
		return err
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf(`field "log_level": %q is not one of debug, info, warn, error`, c.LogLevel)
	}
	if c.IdleTimeout <= 0 || c.AbsoluteTimeout <= 0 || c.IdleTimeout > c.AbsoluteTimeout {
		return errors.New(`fields "idle_timeout" and "absolute_timeout": both must be positive, idle not above absolute`)
	}
	if c.PublicStartsPerMinute < 0 || c.PublicStartsPerMinute > 100000 {
		return errors.New(`field "public_starts_per_minute": use 0 (no limit) to 100000`)
	}
	if c.KeyFailuresPerHour < 1 || c.KeyFailuresPerHour > 1_000_000 {
		return errors.New(`field "key_failures_per_hour": use 1 to 1000000`)
	}
	for _, ip := range c.RTCPublicIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			return fmt.Errorf(`field "rtc_public_ips": %q is not an IP address`, ip)
		}
	}
	if c.SessionMbps < 0 || c.TotalMbps < 0 || c.SessionMbps > 100_000 || c.TotalMbps > 100_000 {
		return errors.New(`fields "session_mbps" and "total_mbps": use 0 (no cap) to 100000`)
	}
	if c.CertRenewCheck < 0 || (c.CertRenewCheck > 0 && time.Duration(c.CertRenewCheck) < time.Second) {
		return errors.New(`field "cert_renew_check": use 0 (the default) or at least 1s`)
	}
	if c.ShutdownTimeout <= 0 || time.Duration(c.ShutdownTimeout) > 5*time.Second {
		return errors.New(`field "shutdown_timeout": must be between 0 and 5s`)
	}
	return nil
}

// Proxies parses TrustedProxies as prefixes (a bare address is a /32 or /128).
func (c Config) Proxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf(`field "trusted_proxies": %q is not an address or prefix`, s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
