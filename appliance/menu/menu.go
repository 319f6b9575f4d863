// Package menu is the box's console menu, `applianced console`, for the
// person who racks the box: on the screen (tty1) and the serial port, in
// place of a login prompt. It shows the box's addresses and URLs, sets an
// interface to DHCP or a static address as a trial confirmed from the menu,
// resets an appliance administrator's password or two-step verification,
// and reboots or powers off.
//
// It reads lines from the terminal and nothing else: no shell, no command
// built from what is typed. It talks to the running daemon over its control
// socket (the store is the daemon's alone), one JSON line per command.
package menu

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/appliance/netcfg"
)

// Status is what `net-status` answers.
type Status struct {
	State    netcfg.State `json:"state"`
	Trial    *TrialInfo   `json:"trial,omitempty"`
	Port     string       `json:"port"`
	ReadOnly bool         `json:"read_only"`
}

// TrialInfo is a change in progress.
type TrialInfo struct {
	By       string    `json:"by"`
	Deadline time.Time `json:"deadline"`
	Lines    []string  `json:"lines"`
}

// TryRequest is one interface's new settings, for `net-try`.
type TryRequest struct {
	Interface netcfg.Interface `json:"interface"`
	Gateway   netip.Addr       `json:"gateway,omitzero"`
	DNS       []netip.Addr     `json:"dns,omitempty"`
	Seconds   int              `json:"seconds,omitempty"`
	// OpenAllow empties both allow-lists (Interface may then be empty).
	OpenAllow bool `json:"open_allow,omitempty"`
}

// TryReply is the trial started.
type TryReply struct {
	Token    string       `json:"token"`
	Deadline time.Time    `json:"deadline"`
	Confirm  []netip.Addr `json:"confirm,omitempty"`
}

// User is an appliance administrator as the menu lists them.
type User struct {
	Username string `json:"username"`
	Name     string `json:"name"`
	TwoStep  bool   `json:"two_step"`
	Disabled bool   `json:"disabled"`
}

// PasswordRequest sets an appliance administrator's password.
type PasswordRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// Control sends one command to the daemon and returns its answer after
// "OK ", or an error with the daemon's words after "ERR ".
type Control interface {
	Do(ctx context.Context, cmd string) (string, error)
}

// Power reboots or powers off the box.
type Power interface {
	Reboot() error
	PowerOff() error
}

// Menu is one terminal's menu.
type Menu struct {
	in      *bufio.Reader
	out     io.Writer
	ctl     Control
	power   Power
	version string
	now     func() time.Time
	// Secret reads a password without echo when the menu runs on a
	// terminal; nil reads a plain line.
	Secret func() (string, error)
}

// New returns the menu on a terminal.
func New(in io.Reader, out io.Writer, ctl Control, power Power, version string) *Menu {
	return &Menu{in: bufio.NewReader(in), out: out, ctl: ctl, power: power, version: version, now: time.Now}
}

// errEOF ends the menu when the terminal closes.
var errEOF = errors.New("the terminal closed")

// errLong is a line longer than maxLine: refused, not cut.
var errLong = fmt.Errorf("that line is longer than %d characters, so it was not used", maxLine)

// maxLine bounds one typed line.
const maxLine = 512

// line reads one line, trimmed; typing more than maxLine is refused.
func (m *Menu) line() (string, error) {
	var b strings.Builder
	long := false
	for {
		chunk, prefix, err := m.in.ReadLine()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return "", errEOF
			}
			return "", err
		}
		if b.Len()+len(chunk) <= maxLine {
			b.Write(chunk)
		} else {
			long = true
		}
		if !prefix {
			break
		}
	}
	if long {
		return "", errLong
	}
	s := strings.TrimSpace(b.String())
	// Control characters (escape sequences of arrow keys) are dropped.
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s), nil
}

func (m *Menu) ask(prompt string) (string, error) {
	fmt.Fprint(m.out, prompt)
	return m.line()
}

func (m *Menu) say(format string, args ...any) { fmt.Fprintf(m.out, format+"\n", args...) }

// Run shows the menu until the terminal closes or the person quits.
func (m *Menu) Run(ctx context.Context) error {
	for {
		m.summary(ctx)
		m.say("")
		m.say("  1  Show the addresses and URLs again")
		m.say("  2  Set a network interface to DHCP or a static address")
		m.say("  3  Reset an appliance administrator's password")
		m.say("  4  Turn off an appliance administrator's two-step verification")
		m.say("  5  Reboot")
		m.say("  6  Power off")
		m.say("  7  Factory reset: erase every account, setting and session, then reboot")
		m.say("  8  Let every address reach /login, /console and /appliance (clear the allow-lists)")
		choice, err := m.ask("Choose 1-8: ")
		if errors.Is(err, errLong) {
			m.say("That is not on the menu.")
			continue
		}
		if err != nil {
			if errors.Is(err, errEOF) {
				return nil
			}
			return err
		}
		switch choice {
		case "1", "":
		case "2":
			err = m.network(ctx)
		case "3":
			err = m.password(ctx)
		case "4":
			err = m.twoStep(ctx)
		case "5":
			err = m.confirmPower("reboot", m.power.Reboot)
		case "6":
			err = m.confirmPower("power off", m.power.PowerOff)
		case "7":
			err = m.factoryReset(ctx)
		case "8":
			err = m.try(ctx, TryRequest{OpenAllow: true}, "")
		default:
			m.say("%q is not on the menu: type a number from 1 to 8.", choice)
		}
		if errors.Is(err, errEOF) {
			return nil
		}
		if errors.Is(err, errLong) {
			m.say("Nothing was changed: %v.", err)
		} else if err != nil {
			m.say("That did not work: %v", err)
		}
	}
}

func (m *Menu) status(ctx context.Context) (Status, error) {
	var st Status
	out, err := m.ctl.Do(ctx, "net-status")
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal([]byte(out), &st)
}

// summary prints the box's addresses and URLs.
func (m *Menu) summary(ctx context.Context) {
	m.say("")
	m.say("Switchboard appliance %s", m.version)
	st, err := m.status(ctx)
	if err != nil {
		m.say("The appliance daemon does not answer (%v). It may still be starting: choose 1 in a moment.", err)
		return
	}
	var urls []string
	for _, l := range st.State.Links {
		state := "no link"
		if !l.Up {
			state = "disabled"
		} else if l.Carrier {
			state = "up"
		}
		var addrs []string
		for _, a := range l.Addrs {
			s := a.Prefix.String()
			if a.Dynamic {
				s += dynamicNote(a.Prefix)
			}
			addrs = append(addrs, s)
			urls = append(urls, "https://"+hostPort(a.Prefix.Addr(), st.Port))
		}
		if len(addrs) == 0 {
			addrs = []string{"no address"}
		}
		m.say("  %-10s %-8s %s", l.Name, state, strings.Join(addrs, ", "))
	}
	if len(urls) > 0 {
		m.say("Open the appliance administration at %s/appliance", urls[0])
		for _, u := range urls[1:] {
			m.say("                                  or %s/appliance", u)
		}
	}
	if st.Trial != nil {
		m.say("A network change by %s is waiting for its confirmation until %s.", st.Trial.By, st.Trial.Deadline.Local().Format("15:04:05"))
	}
}

func (m *Menu) network(ctx context.Context) error {
	st, err := m.status(ctx)
	if err != nil {
		return err
	}
	if st.ReadOnly {
		m.say("The network is read-only here (development mode): nothing can be changed.")
		return nil
	}
	ports := st.State.Ports()
	name, err := m.ask(fmt.Sprintf("Interface (%s): ", strings.Join(ports, ", ")))
	if err != nil {
		return err
	}
	if st.State.Link(name) == nil {
		m.say("The box has no interface %q.", name)
		return nil
	}
	mode, err := m.ask("DHCP or static address? [d/s]: ")
	if err != nil {
		return err
	}
	req := TryRequest{Interface: netcfg.Interface{Name: name}}
	switch strings.ToLower(mode) {
	case "d", "dhcp":
		req.Interface.DHCP = true
	case "s", "static":
		s, err := m.ask("Address with its prefix length (such as 192.0.2.10/24): ")
		if err != nil {
			return err
		}
		addrs, perr := netcfg.ParseAddresses(s)
		if perr == nil && len(addrs) == 0 {
			perr = errors.New("an address is needed")
		}
		if perr != nil {
			m.say("%v Nothing was changed.", perr)
			return nil
		}
		req.Interface.Addresses = addrs
		if s, err = m.ask("Default gateway (empty for none): "); err != nil {
			return err
		}
		if s != "" {
			if req.Gateway, perr = netip.ParseAddr(s); perr != nil {
				m.say("%q is not an address. Nothing was changed.", s)
				return nil
			}
		}
		if s, err = m.ask("DNS servers (empty to keep them): "); err != nil {
			return err
		}
		if req.DNS, perr = netcfg.ParseAddrs(s); perr != nil {
			m.say("%v Nothing was changed.", perr)
			return nil
		}
	default:
		m.say("Type d for DHCP or s for a static address. Nothing was changed.")
		return nil
	}
	return m.try(ctx, req, st.Port)
}

// try starts a trial of req and asks whether to keep it.
func (m *Menu) try(ctx context.Context, req TryRequest, port string) error {
	if port == "" {
		st, err := m.status(ctx)
		if err != nil {
			return err
		}
		port = st.Port
	}
	b, _ := json.Marshal(req)
	out, err := m.ctl.Do(ctx, "net-try "+string(b))
	if err != nil {
		m.say("Refused: %v", err)
		m.say("Nothing was changed.")
		return nil
	}
	var tr TryReply
	if err := json.Unmarshal([]byte(out), &tr); err != nil {
		return err
	}
	left := tr.Deadline.Sub(m.now()).Round(time.Second)
	m.say("Applied. From your network, check that the box answers:")
	for _, a := range tr.Confirm {
		m.say("  https://%s/appliance", hostPort(a, port))
	}
	m.say("Unless you keep it, the box goes back to how it was in %s.", left)
	answer, err := m.ask("Keep these settings? [y/N]: ")
	if err != nil {
		// The trial's deadline undoes it.
		return err
	}
	if strings.EqualFold(answer, "y") || strings.EqualFold(answer, "yes") {
		if _, err := m.ctl.Do(ctx, "net-keep "+tr.Token); err != nil {
			m.say("Not kept: %v", err)
			return nil
		}
		m.say("Kept.")
		return nil
	}
	if _, err := m.ctl.Do(ctx, "net-undo "+tr.Token); err != nil {
		m.say("Undoing: %v", err)
		return nil
	}
	m.say("Undone: the network is back as it was.")
	return nil
}

// dynamicNote says where a dynamic address came from: a DHCP lease for
// IPv4, router advertisements for IPv6.
func dynamicNote(p netip.Prefix) string {
	if p.Addr().Is4() {
		return " (DHCP)"
	}
	return " (automatic)"
}

func hostPort(a netip.Addr, port string) string {
	if port != "" && port != "443" {
		return net.JoinHostPort(a.String(), port)
	}
	if a.Is6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

// pickUser lists the appliance administrators and reads one name.
func (m *Menu) pickUser(ctx context.Context) (string, bool, error) {
	out, err := m.ctl.Do(ctx, "box-users")
	if err != nil {
		return "", false, err
	}
	var us []User
	if err := json.Unmarshal([]byte(out), &us); err != nil {
		return "", false, err
	}
	if len(us) == 0 {
		m.say("There is no appliance administrator yet: use the setup link the box printed.")
		return "", false, nil
	}
	for _, u := range us {
		note := ""
		if u.TwoStep {
			note = " (two-step verification on)"
		}
		m.say("  %s — %s%s", u.Username, u.Name, note)
	}
	name, err := m.ask("Username: ")
	if err != nil {
		return "", false, err
	}
	for _, u := range us {
		if u.Username == name {
			return name, true, nil
		}
	}
	m.say("No appliance administrator is called %q.", name)
	return "", false, nil
}

func (m *Menu) password(ctx context.Context) error {
	name, ok, err := m.pickUser(ctx)
	if err != nil || !ok {
		return err
	}
	if m.Secret == nil {
		m.say("The password is shown as you type it: make sure nobody reads this screen.")
	}
	pw, err := m.secret("New password (at least 12 characters): ")
	if err != nil {
		return err
	}
	again, err := m.secret("The same password again: ")
	if err != nil {
		return err
	}
	if pw != again {
		m.say("The two passwords differ. Nothing was changed.")
		return nil
	}
	b, _ := json.Marshal(PasswordRequest{Username: name, Password: pw})
	if _, err := m.ctl.Do(ctx, "box-password "+string(b)); err != nil {
		m.say("Refused: %v", err)
		return nil
	}
	m.say("The password of %s is set, and %s is signed out everywhere.", name, name)
	return nil
}

// secret asks for a password, without echo on a terminal.
func (m *Menu) secret(prompt string) (string, error) {
	if m.Secret == nil {
		return m.ask(prompt)
	}
	fmt.Fprint(m.out, prompt)
	s, err := m.Secret()
	fmt.Fprintln(m.out)
	if len(s) > maxLine {
		return "", errLong
	}
	return s, err
}

func (m *Menu) twoStep(ctx context.Context) error {
	name, ok, err := m.pickUser(ctx)
	if err != nil || !ok {
		return err
	}
	if _, err := m.ctl.Do(ctx, "box-2fa-off "+name); err != nil {
		m.say("Refused: %v", err)
		return nil
	}
	m.say("Two-step verification is off for %s: they sign in with their password and should set it up again in My account.", name)
	return nil
}

func (m *Menu) confirmPower(what string, do func() error) error {
	answer, err := m.ask(fmt.Sprintf("Type %q to %s the box now: ", what, what))
	if err != nil {
		return err
	}
	if answer != what {
		m.say("Nothing was done.")
		return nil
	}
	return do()
}

func (m *Menu) factoryReset(ctx context.Context) error {
	m.say("This erases every account of /login and /appliance, the help desk's settings and history,")
	m.say("the network configuration and the box's keys and certificates. It cannot be undone.")
	answer, err := m.ask("Type ERASE to erase the box and reboot: ")
	if err != nil {
		return err
	}
	if answer != "ERASE" {
		m.say("Nothing was erased.")
		return nil
	}
	if _, err := m.ctl.Do(ctx, "factory-reset "+answer); err != nil {
		m.say("Refused: %v", err)
		return nil
	}
	m.say("The box erases itself as it starts again. Rebooting…")
	return m.power.Reboot()
}
