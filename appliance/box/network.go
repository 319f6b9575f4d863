package box

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/appliance/account"
	"github.com/switchboardhq/switchboard/appliance/netcfg"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// The network page: the observed network beside the confirmed
// configuration, a form that starts a trial, the countdown of a trial in
// progress with the links that confirm it from the new address, and the
// change log. The confirmation page needs no sign-in (the browser has no
// cookie for the new address); the one-time token in its link is the
// credential.

// trialCookie keeps the confirmation token in the browser that started the
// trial, so the page can show the links again after a reload. It is a
// __Host- cookie of the old address only.
const trialCookie = "netcfg-trial"

// row is one interface line of the form.
type row struct {
	N        int
	Name     string
	Kind     string
	New      bool // a blank line to add a VLAN or a bond
	Existing bool // a VLAN or bond that exists or is configured
	Observed *netcfg.Link
}

type networkPage struct {
	Admin    bool
	ReadOnly bool
	Dev      bool
	Observed netcfg.State
	Desired  *netcfg.Config
	Rows     []row
	Ports    []string
	Trial    *trialView
	Last     *netcfg.Change
	Changes  []netcfg.Change
	Error    string
	MinTrial int
	MaxTrial int
	From     string // the client's address, for the allow-lists
}

type trialView struct {
	netcfg.Trial
	Links     []string // where to confirm
	Remaining int      // seconds
	Lines     []string
	// Mine is set in the browser that started the trial (it has the
	// token): only that one applies a staged change.
	Mine bool
}

func (b *Box) network() *netcfg.Manager { return b.deps.Net }

func (b *Box) serveNetwork(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	return b.renderNetwork(w, r, who, http.StatusOK, nil, nil, "")
}

func (b *Box) renderNetwork(w http.ResponseWriter, r *http.Request, who *account.Who, status int, form url.Values, fe web.FieldErrors, msg string) error {
	ctx := r.Context()
	m := b.network()
	p := networkPage{Admin: who.Admin(), ReadOnly: m.ReadOnly(), Dev: b.deps.Dev, Error: msg,
		MinTrial: int(netcfg.MinTrial.Seconds()), MaxTrial: int(netcfg.MaxTrial.Seconds()), From: b.rt.ClientAddr(r).String()}
	var err error
	if p.Observed, err = m.Observe(); err != nil {
		p.Error = "The network could not be read: " + err.Error()
	}
	if p.Desired, err = m.Desired(ctx); err != nil {
		return err
	}
	if t, err := m.Trial(ctx); err != nil {
		return err
	} else if t != nil {
		p.Trial = b.trialView(r, *t, web.Cookie(r, trialCookie))
	}
	if p.Changes, err = m.Changes(ctx, 20); err != nil {
		return err
	}
	if len(p.Changes) > 0 {
		p.Last = &p.Changes[0]
	}
	p.Ports = p.Observed.Ports()
	p.Rows = rows(p.Observed, p.Desired)
	if form == nil {
		settings, err := m.Settings(ctx)
		if err != nil {
			return err
		}
		form = formOf(p.Rows, p.Observed, p.Desired, settings)
	}
	v := b.area.View(r, who, "Network")
	v.Form, v.Errors, v.Data = form, fe, p
	return b.area.Render(w, r, status, "network.html", v)
}

// rows lists the form's interfaces: every port, every VLAN and bond that
// exists or is configured, and one blank line each for a new VLAN and a
// new bond.
func rows(obs netcfg.State, desired *netcfg.Config) []row {
	var out []row
	add := func(name, kind string, existing bool) {
		if slices.ContainsFunc(out, func(r row) bool { return r.Name == name }) {
			return
		}
		out = append(out, row{N: len(out), Name: name, Kind: kind, Existing: existing, Observed: obs.Link(name)})
	}
	for _, l := range obs.Links {
		if l.Kind == netcfg.KindEther {
			add(l.Name, l.Kind, false)
		}
	}
	if desired != nil {
		for _, it := range desired.Interfaces {
			if it.Kind != netcfg.KindEther {
				add(it.Name, it.Kind, true)
			}
		}
	}
	for _, l := range obs.Links {
		if l.Kind != netcfg.KindEther {
			add(l.Name, l.Kind, true)
		}
	}
	out = append(out, row{N: len(out), Kind: netcfg.KindVLAN, New: true}, row{N: len(out) + 1, Kind: netcfg.KindBond, New: true})
	return out
}

// formOf fills the form from the confirmed configuration, or from what the
// box has where nothing is configured.
func formOf(rs []row, obs netcfg.State, desired *netcfg.Config, s netcfg.Settings) url.Values {
	f := url.Values{}
	f.Set("trial", strconv.Itoa(s.TrialSeconds))
	for _, r := range rs {
		k := func(field string) string { return fmt.Sprintf("if-%d-%s", r.N, field) }
		f.Set(k("name"), r.Name)
		f.Set(k("kind"), r.Kind)
		var it *netcfg.Interface
		if desired != nil {
			it = desired.Find(r.Name)
		}
		switch {
		case r.New:
			f.Set(k("mode"), "static")
			if r.Kind == netcfg.KindBond {
				f.Set(k("bond_mode"), netcfg.BondActiveBackup)
			}
		case it != nil:
			f.Set(k("mode"), modeOf(*it))
			f.Set(k("addresses"), netcfg.FormatPrefixes(it.Addresses))
			if it.MTU != 0 {
				f.Set(k("mtu"), strconv.Itoa(it.MTU))
			}
			f.Set(k("parent"), it.Parent)
			if it.VLAN != 0 {
				f.Set(k("vlan"), strconv.Itoa(it.VLAN))
			}
			f.Set(k("bond_mode"), it.BondMode)
			f[k("members")] = it.Members
		default:
			f.Set(k("mode"), "keep")
			if l := r.Observed; l != nil {
				var static []netip.Prefix
				for _, a := range l.Addrs {
					if !a.Dynamic {
						static = append(static, a.Prefix)
					}
				}
				f.Set(k("addresses"), netcfg.FormatPrefixes(static))
				f.Set(k("parent"), l.Parent)
				if l.VLAN != 0 {
					f.Set(k("vlan"), strconv.Itoa(l.VLAN))
				}
				f.Set(k("bond_mode"), l.BondMode)
				for _, p := range obs.Links {
					if p.Master == l.Name {
						f.Add(k("members"), p.Name)
					}
				}
			}
		}
	}
	if desired != nil {
		f.Set("routes", netcfg.FormatRoutes(desired.Routes))
		f.Set("dns", netcfg.FormatPrefixes(desired.DNS))
		f.Set("search", strings.Join(desired.Search, " "))
		f.Set("allow_site", netcfg.FormatPrefixes(desired.Allow.Site))
		f.Set("allow_box", netcfg.FormatPrefixes(desired.Allow.Box))
	} else {
		f.Set("routes", netcfg.FormatRoutes(obs.Routes))
	}
	return f
}

func modeOf(it netcfg.Interface) string {
	switch {
	case it.Down:
		return "down"
	case it.DHCP:
		return "dhcp"
	}
	return "static"
}

// parseNetwork reads the form into a configuration. Field errors name the
// form's fields; rowOf maps the configuration's interfaces back to rows.
func parseNetwork(f url.Values, rs []row) (netcfg.Config, []int, time.Duration, web.FieldErrors) {
	var c netcfg.Config
	var rowOf []int
	fe := web.FieldErrors{}
	for _, r := range rs {
		k := func(field string) string { return fmt.Sprintf("if-%d-%s", r.N, field) }
		name := strings.TrimSpace(f.Get(k("name")))
		if !r.New {
			name = r.Name // existing rows cannot be renamed
		}
		mode := f.Get(k("mode"))
		if r.New && name == "" {
			continue
		}
		if mode == "keep" && r.Kind == netcfg.KindEther {
			continue
		}
		if f.Get(k("remove")) == "1" && r.Existing {
			continue
		}
		it := netcfg.Interface{Name: name, Kind: r.Kind}
		switch mode {
		case "dhcp":
			it.DHCP = true
		case "down":
			it.Down = true
		case "static", "keep":
		default:
			fe.Add(k("mode"), "Choose how this interface gets its addresses.")
		}
		addrs, err := netcfg.ParseAddresses(f.Get(k("addresses")))
		if err != nil {
			fe.Add(k("addresses"), err.Error())
		}
		it.Addresses = addrs
		if s := strings.TrimSpace(f.Get(k("mtu"))); s != "" {
			if it.MTU, err = strconv.Atoi(s); err != nil {
				fe.Add(k("mtu"), "The MTU is a number of bytes, such as 1500.")
			}
		}
		switch r.Kind {
		case netcfg.KindVLAN:
			it.Parent = f.Get(k("parent"))
			if it.VLAN, err = strconv.Atoi(strings.TrimSpace(f.Get(k("vlan")))); err != nil {
				fe.Add(k("vlan"), "The VLAN id is a number between 1 and 4094.")
			}
		case netcfg.KindBond:
			it.BondMode = f.Get(k("bond_mode"))
			it.Members = f[k("members")]
		}
		c.Interfaces = append(c.Interfaces, it)
		rowOf = append(rowOf, r.N)
	}
	routes, err := netcfg.ParseRoutes(f.Get("routes"))
	if err != nil {
		fe.Add("routes", err.Error())
	}
	c.Routes = routes
	if c.DNS, err = netcfg.ParseAddrs(f.Get("dns")); err != nil {
		fe.Add("dns", err.Error())
	}
	c.Search = strings.Fields(f.Get("search"))
	for _, l := range []struct {
		field string
		dst   *[]netip.Prefix
	}{{"allow_site", &c.Allow.Site}, {"allow_box", &c.Allow.Box}} {
		ps, err := netcfg.ParseNetworks(f.Get(l.field))
		if err != nil {
			fe.Add(l.field, err.Error())
		}
		*l.dst = ps
	}
	secs, err := strconv.Atoi(strings.TrimSpace(f.Get("trial")))
	if err != nil || time.Duration(secs)*time.Second < netcfg.MinTrial || time.Duration(secs)*time.Second > netcfg.MaxTrial {
		fe.Add("trial", fmt.Sprintf("Choose between %d and %d seconds.", int(netcfg.MinTrial.Seconds()), int(netcfg.MaxTrial.Seconds())))
	}
	return c, rowOf, time.Duration(secs) * time.Second, fe
}

var fieldRe = regexp.MustCompile(`^interfaces\.(\d+)\.(\w+)$`)

// formField maps a configuration's field ("interfaces.2.vlan",
// "routes.1.via") to the form's.
func formField(field string, rowOf []int) string {
	if m := fieldRe.FindStringSubmatch(field); m != nil {
		i, _ := strconv.Atoi(m[1])
		if i < len(rowOf) {
			return fmt.Sprintf("if-%d-%s", rowOf[i], m[2])
		}
	}
	if strings.HasPrefix(field, "routes") {
		return "routes"
	}
	if field == "interfaces" {
		return "network"
	}
	return field
}

func (b *Box) postNetwork(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	m := b.network()
	if m.ReadOnly() {
		return web.Error(http.StatusConflict, "Networking is read-only here: the development server shows the network without changing it.",
			"Start applianced with -net-apply inside a network namespace to try changes.")
	}
	obs, err := m.Observe()
	if err != nil {
		return err
	}
	desired, err := m.Desired(r.Context())
	if err != nil {
		return err
	}
	rs := rows(obs, desired)
	c, rowOf, length, fe := parseNetwork(r.PostForm, rs)
	if fe.Any() {
		return b.renderNetwork(w, r, who, http.StatusUnprocessableEntity, r.PostForm, fe, "Nothing was changed: fix the fields marked below.")
	}
	admin := netcfg.Admin{Local: localAddr(r), Remote: b.rt.ClientAddr(r)}
	// A change that takes away the address this browser uses is applied
	// only once the page with its links is in the browser: the page asks
	// for it (postNetworkApply), since this answer could not arrive after.
	stage := admin.Local.IsValid() && !netcfg.Keeps(c, obs, admin.Local)
	t, token, err := m.Start(r.Context(), admin, who.User.Username, c, length, stage)
	var ve netcfg.FieldErrors
	var ae *netcfg.ApplyError
	switch {
	case errors.As(err, &ve):
		for _, e := range ve {
			fe.Add(formField(e.Field, rowOf), e.Msg)
		}
		return b.renderNetwork(w, r, who, http.StatusUnprocessableEntity, r.PostForm, fe, "Nothing was changed: fix the fields marked below.")
	case errors.As(err, &ae):
		return b.renderNetwork(w, r, who, http.StatusUnprocessableEntity, r.PostForm, nil,
			"The box could not apply this configuration, so it went straight back to the one it had: "+ae.Err.Error())
	case errors.Is(err, netcfg.ErrPending):
		return web.Error(http.StatusConflict, "Another network change is waiting for its confirmation.", "Confirm or undo it first.")
	case err != nil:
		return err
	}
	if err := m.SaveSettings(r.Context(), netcfg.Settings{TrialSeconds: int(length.Seconds())}); err != nil {
		return err
	}
	web.SetCookie(w, trialCookie, token, time.Until(t.Deadline)+t.Length+time.Minute)
	return web.Redirect(w, r, "/appliance/network")
}

// localAddr is the box's address the request arrived at.
func localAddr(r *http.Request) netip.Addr {
	a, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if a == nil {
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// trialView adds the confirmation links: the new addresses on the port
// this page was reached on.
func (b *Box) trialView(r *http.Request, t netcfg.Trial, token string) *trialView {
	v := &trialView{Trial: t, Remaining: max(int(time.Until(t.Deadline).Seconds()), 0), Lines: t.After.Lines()}
	if _, ok := b.network().CheckToken(r.Context(), token); !ok {
		return v
	}
	v.Mine = true
	_, port, _ := net.SplitHostPort(r.Host)
	hosts := t.Confirm
	if len(hosts) == 0 {
		if a := localAddr(r); a.IsValid() {
			hosts = []netip.Addr{a}
		}
	}
	for _, a := range hosts {
		host := a.String()
		if port != "" {
			host = net.JoinHostPort(host, port)
		} else if a.Is6() {
			host = "[" + host + "]"
		}
		v.Links = append(v.Links, (&url.URL{Scheme: "https", Host: host, Path: "/appliance/network/confirm", RawQuery: "t=" + url.QueryEscape(token)}).String())
	}
	return v
}

type confirmPage struct {
	Token   string
	Trial   *trialView
	Kept    *netcfg.Change
	Problem string
}

// serveConfirm is the page a confirmation link opens at the new address.
func (b *Box) serveConfirm(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("t")
	return b.renderConfirm(w, r, http.StatusOK, confirmPage{Token: token})
}

func (b *Box) renderConfirm(w http.ResponseWriter, r *http.Request, status int, p confirmPage) error {
	// Only the link's holder sees what is being tried.
	if p.Kept == nil && p.Token != "" {
		if t, ok := b.network().CheckToken(r.Context(), p.Token); ok {
			p.Trial = &trialView{Trial: *t, Remaining: max(int(time.Until(t.Deadline).Seconds()), 0), Lines: t.After.Lines()}
		} else if p.Problem == "" {
			p.Problem = "This link does not belong to a change in progress: it was confirmed already, undone, or mistyped."
			p.Token = ""
		}
	}
	v := web.View{Title: "Confirm the network change", Surface: "Appliance administration", Home: "/appliance/network", Data: p}
	return b.rt.Pages().Render(w, r, status, "network-confirm.html", v)
}

// confirmTries bounds the confirmations one network may try.
var confirmTries = web.NewLimiter(10, 6*time.Second)

func (b *Box) postConfirm(w http.ResponseWriter, r *http.Request) error {
	if ok, wait := confirmTries.Allow(web.SourceKey(b.rt.ClientAddr(r))); !ok {
		return web.Error(http.StatusTooManyRequests, "There were too many attempts to confirm.", "Wait "+wait.Round(time.Second).String()+", then try again.")
	}
	token := r.PostFormValue("t")
	ch, err := b.network().Confirm(r.Context(), token, localAddr(r))
	var old *netcfg.OldAddressError
	switch {
	case errors.As(err, &old):
		return b.renderConfirm(w, r, http.StatusConflict, confirmPage{Token: token,
			Problem: "This page was reached over the old configuration, which proves nothing about the new one. Open it at " + addrList(old.Want) + " and confirm there."})
	case errors.Is(err, netcfg.ErrNotApplied):
		return b.renderConfirm(w, r, http.StatusConflict, confirmPage{Token: token,
			Problem: "The change is not applied yet: the page that started it applies it. Try again in a moment."})
	case errors.Is(err, netcfg.ErrBadToken):
		return b.renderConfirm(w, r, http.StatusForbidden, confirmPage{Token: token,
			Problem: "This link does not belong to the change in progress. Use the link the network page shows."})
	case errors.Is(err, netcfg.ErrNoTrial):
		return b.renderConfirm(w, r, http.StatusConflict, confirmPage{
			Problem: "No network change is waiting for a confirmation: it was confirmed already, or undone when its time ran out."})
	case err != nil:
		return err
	}
	return b.renderConfirm(w, r, http.StatusOK, confirmPage{Kept: &ch})
}

func addrList(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, " or ")
}

// applyDelay lets the answer to postNetworkApply leave before the address
// it travels on goes away.
const applyDelay = 300 * time.Millisecond

// postNetworkApply applies a staged trial, after answering.
func (b *Box) postNetworkApply(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	t, err := b.network().Trial(r.Context())
	if err != nil {
		return err
	}
	if t == nil {
		return web.Redirect(w, r, "/appliance/network")
	}
	m, log, ctx := b.network(), b.deps.Log, b.deps.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	time.AfterFunc(applyDelay, func() {
		if ctx.Err() != nil {
			return // stopping: the trial is undone at the next start
		}
		if err := m.ApplyStaged(ctx); err != nil && log != nil {
			log.Warn("applying the network change", "err", err)
		}
	})
	if r.Header.Get(web.CSRFHeader) != "" {
		w.WriteHeader(http.StatusAccepted)
		return nil
	}
	return web.Redirect(w, r, "/appliance/network")
}

func (b *Box) postNetworkCancel(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	if _, err := b.network().Cancel(r.Context(), who.User.Username); err != nil && !errors.Is(err, netcfg.ErrNoTrial) {
		return err
	}
	return web.Redirect(w, r, "/appliance/network")
}

// serveNetworkState is what the network page polls during a trial.
func (b *Box) serveNetworkState(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	t, err := b.network().Trial(r.Context())
	if err != nil {
		return err
	}
	ch, err := b.network().Changes(r.Context(), 1)
	if err != nil {
		return err
	}
	out := struct {
		Trial     bool   `json:"trial"`
		Remaining int    `json:"remaining"`
		Last      uint64 `json:"last"`
	}{Trial: t != nil}
	if t != nil {
		out.Remaining = max(int(time.Until(t.Deadline).Seconds()), 0)
	}
	if len(ch) > 0 {
		out.Last = ch[0].Seq
	}
	w.Header().Set("Cache-Control", "no-store")
	return web.WriteJSON(w, http.StatusOK, out)
}
