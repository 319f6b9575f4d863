package appliance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/switchboardhq/switchboard/appliance/account"
	"github.com/switchboardhq/switchboard/appliance/admin"
	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/box"
	"github.com/switchboardhq/switchboard/appliance/bus"
	"github.com/switchboardhq/switchboard/appliance/config"
	"github.com/switchboardhq/switchboard/appliance/console"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/netcfg"
	"github.com/switchboardhq/switchboard/appliance/portal"
	"github.com/switchboardhq/switchboard/appliance/samlsp"
	"github.com/switchboardhq/switchboard/appliance/store"
	"github.com/switchboardhq/switchboard/appliance/sysd"
	"github.com/switchboardhq/switchboard/appliance/tlscert"
	"github.com/switchboardhq/switchboard/appliance/web"
	"github.com/switchboardhq/switchboard/hw"
	hwlinux "github.com/switchboardhq/switchboard/hw/linux"
	"github.com/switchboardhq/switchboard/hw/sim"
)

// Env is what Run takes from its caller besides the configuration.
type Env struct {
	Stdout  io.Writer
	Log     *slog.Logger
	Version string
	// Board overrides the hardware board (tests); nil picks the simulated
	// board in dev mode and the real one otherwise.
	Board hw.Board
	// Now overrides the clock (tests).
	Now func() time.Time
	// Ready, if set, is called with the base URL once the appliance serves.
	Ready func(base string)
	// Demo fills an empty desk with demo data (dev mode only).
	Demo bool
	// NetApply lets dev mode change the network, which it refuses outside
	// a network namespace of its own.
	NetApply bool
}

// ownNetworkNamespace checks that the process does not share the network
// namespace of process 1, the machine's own, or where that cannot be read
// (a container's init), of the process that started it.
func ownNetworkNamespace() error {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return err
	}
	other, err := os.Readlink("/proc/1/ns/net")
	if err != nil {
		other, err = os.Readlink(fmt.Sprintf("/proc/%d/ns/net", os.Getppid()))
	}
	if err != nil {
		return fmt.Errorf("-net-apply: cannot tell whether this is the machine's own network namespace: %w", err)
	}
	if other == self {
		return errors.New("-net-apply changes the network of the namespace applianced runs in, and this one is the machine's own: run it in a namespace of its own (unshare -n, ip netns exec)")
	}
	return nil
}

// allowListGuard answers 403 to an address the allow-lists of /login,
// /console and /appliance leave out, before any handler (the mux redirects
// unclean paths, so the guard sees the clean one of the request served).
func allowListGuard(rt *web.Router, sys *netcfg.System) func(http.ResponseWriter, *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		from := rt.ClientAddr(r)
		if sys.Allowed(path.Clean(r.URL.Path), from) {
			return false
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "Your address, %s, may not open this part of the box.\nAn appliance administrator chooses who may in /appliance, Network (allow-lists), or at the box's console menu.\n", from)
		return true
	}
}

// services are the domain services the web surfaces share.
type services struct {
	auth *auth.Service
	desk *desk.Service
	bus  *bus.Bus
	// sso is the SAML side (portal logins, technicians' sign-in).
	sso *samlsp.Service
	// net is the box's network (read-only in dev mode unless -net-apply);
	// netSys its kernel side and DHCP clients.
	net    *netcfg.Manager
	netSys *netcfg.System
	// certs keeps each host name's certificate (import, CSR, ACME).
	certs *tlscert.Service
}

// newServices builds the domain services over db.
func newServices(db *store.DB, authSvc *auth.Service, now func() time.Time, netw netOptions, log *slog.Logger) (services, error) {
	b := bus.New(now)
	d := desk.New(db, now, log.With("subsys", "desk")).WithEvents(b).WithHasher(authSvc.KeyedHash)
	kernel, err := netcfg.OpenKernel()
	if err != nil {
		return services{}, fmt.Errorf("netlink: %w", err)
	}
	nlog := log.With("subsys", "netcfg")
	sys := netcfg.NewSystem(kernel, netcfg.SystemOptions{DefaultDHCP: netw.dhcpDefault, ResolvConf: netw.resolvConf, Log: nlog})
	n := netcfg.NewManager(db, sys, netcfg.Options{Hash: authSvc.KeyedHash, ReadOnly: netw.readOnly, Clock: netw.clock, Log: nlog})
	return services{auth: authSvc, desk: d, bus: b, net: n, netSys: sys}, nil
}

// netOptions are how the daemon owns the box's network.
type netOptions struct {
	readOnly    bool
	clock       netcfg.Clock // nil: real time
	dhcpDefault bool
	resolvConf  string
}

// buildWeb builds every browser surface on one router. port is the HTTPS
// port, advertised for HTTP/3.
func buildWeb(ctx context.Context, cfg config.Config, db *store.DB, svc services, board hw.Board, env Env, port string, rm *remote, log *slog.Logger) (*web.Router, error) {
	authSvc, deskSvc := svc.auth, svc.desk
	csrfKey, err := db.Secret(ctx, "csrf-key")
	if err != nil {
		return nil, err
	}
	proxies, err := cfg.Proxies()
	if err != nil {
		return nil, err
	}
	rt := web.NewRouter(web.Config{
		CSRFKey:        csrfKey,
		TrustedProxies: proxies,
		AltSvc:         fmt.Sprintf(`h3=":%s"; ma=86400`, port),
	}, log.With("subsys", "web"))
	rt.Guard(allowListGuard(rt, svc.netSys))
	issuer := "Switchboard"
	site := account.New(account.Config{Realm: auth.Site, Prefix: "/login", Surface: "Site administration",
		Home: "/login/dashboard", Issuer: issuer, Roles: desk.Roles, RoleName: desk.RoleName,
		Profile: func(id uint64) string { return fmt.Sprintf("/login/technicians/%d", id) }}, authSvc, rt, log.With("subsys", "login"))
	boxArea := account.New(account.Config{Realm: auth.Box, Prefix: "/appliance", Surface: "Appliance administration",
		Home: "/appliance/status", Issuer: issuer + " appliance"}, authSvc, rt, log.With("subsys", "appliance"))
	adm := admin.New(site, authSvc, deskSvc)
	adm.SetSSO(svc.sso)
	adm.Routes(rt)
	box.New(boxArea, box.Deps{Board: board, Store: db, Version: env.Version, Dev: cfg.Dev, Started: env.Now(), Net: svc.net,
		Certs: svc.certs, SiteHosts: siteHosts(deskSvc), Log: log.With("subsys", "appliance"), Ctx: ctx}).Routes(rt)
	con := console.New(site, deskSvc, svc.bus, log.With("subsys", "console"))
	pub := portal.New(deskSvc, svc.bus, cfg.PublicStartsPerMinute, log.With("subsys", "portal"))
	pub.SetSSO(svc.sso)
	if rm != nil {
		con.WithRemote(rm)
		pub.WithRemote(rm)
	}
	con.Routes(rt)
	pub.Routes(rt)
	site.Routes()
	boxArea.Routes()
	return rt, nil
}

// Run runs the appliance until ctx is cancelled, then stops gracefully.
// Cancellation is not an error.
func Run(ctx context.Context, cfg config.Config, env Env) error {
	log := env.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if env.Stdout == nil {
		env.Stdout = io.Discard
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	// In dev mode the desk's clock (session expiry) can be moved forward
	// over the control socket; sign-in sessions and certificates keep
	// real time.
	deskNow := env.Now
	var clock *devClock
	if cfg.Dev {
		clock = &devClock{now: env.Now}
		deskNow = clock.Now
	}
	board := env.Board
	if board == nil {
		if cfg.Dev {
			board = sim.New()
		} else {
			board = &hwlinux.Board{}
		}
	}
	if cfg.Dev && env.NetApply {
		if err := ownNetworkNamespace(); err != nil {
			return err
		}
	}
	notify := sysd.NewNotifier()
	notify.Status("opening the store")

	if err := factoryReset(cfg.StateDir, log); err != nil {
		return err
	}
	db, err := store.Open(cfg.StateDir)
	if err != nil {
		return err
	}
	defer db.Close()

	authSvc, err := auth.New(db, auth.Config{
		IdleTimeout:     time.Duration(cfg.IdleTimeout),
		AbsoluteTimeout: time.Duration(cfg.AbsoluteTimeout),
		Now:             env.Now,
	}, log.With("subsys", "auth"))
	if err != nil {
		return err
	}
	certs, err := loadCertificates(ctx, db, env.Now, log.With("subsys", "tls"))
	if err != nil {
		return err
	}
	ls, err := listen(cfg)
	if err != nil {
		return err
	}
	defer ls.Close()
	_, port, _ := net.SplitHostPort(ls.https.Addr().String())

	netReadOnly := cfg.Dev && !env.NetApply
	var netClock netcfg.Clock
	if clock != nil {
		netClock = clock // a trial's deadline moves with the dev clock
	}
	svc, err := newServices(db, authSvc, deskNow, netOptions{readOnly: netReadOnly, clock: netClock, dhcpDefault: cfg.DHCPDefault, resolvConf: cfg.ResolvConf}, log)
	if err != nil {
		return err
	}
	defer svc.netSys.Close()
	// A trial the last run left open is undone before anything serves; a
	// confirmed configuration is applied again (the kernel forgets it on
	// reboot). A failure is logged: the box serves on what it has.
	if err := svc.net.Resume(ctx); err != nil {
		log.Error("network configuration", "err", err)
	}
	svc.certs = tlscert.NewService(db, certs, tlscert.Options{
		Now: env.Now, Log: log.With("subsys", "tls"),
		HTTPSAddr: ls.https.Addr().String(), HTTPAddr: addrOf(ls.http),
		RenewCheck: time.Duration(cfg.CertRenewCheck),
	})
	if err := svc.certs.Start(ctx); err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	defer svc.certs.Stop()
	// SAML answers are timed by the identity provider's real clock, not
	// the dev desk clock.
	if svc.sso, err = samlsp.New(ctx, db, env.Now, log.With("subsys", "saml")); err != nil {
		return err
	}
	// In dev mode IdP metadata may come over plain http from this machine.
	svc.sso.SetFetchPolicy(samlsp.FetchPolicy{Insecure: cfg.Dev})
	svc.desk.SetKeyBudget(cfg.KeyFailuresPerHour)
	if env.Demo && cfg.Dev {
		if err := seedDemo(ctx, authSvc, svc.desk, env.Stdout); err != nil {
			return fmt.Errorf("demo data: %w", err)
		}
	}
	base := publicURL(cfg, port)
	rm, err := newRemote(cfg, svc.desk, certs, base, port, log.With("subsys", "remote"))
	if err != nil {
		return err
	}
	defer rm.Close()
	rt, err := buildWeb(ctx, cfg, db, svc, board, env, port, rm, log)
	if err != nil {
		return err
	}

	ctl, err := listenControl(cfg.StateDir, db, log.With("subsys", "control"))
	if err != nil {
		return err
	}
	ctl.desk, ctl.clock, ctl.net, ctl.auth, ctl.httpsPort = svc.desk, clock, svc.net, authSvc, port
	defer ctl.Close()

	srv := newServers(rt.Handler(), certs, svc.certs.HTTPChallenge, ls, log.With("subsys", "http"))
	srv.relay = rm.relay
	if err := announce(ctx, env.Stdout, log, authSvc, base); err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	srv.start(g)
	g.Go(func() error { return ctl.run(gctx) })
	g.Go(func() error { return pruneSessions(gctx, authSvc, svc.desk, svc.sso, log) })
	g.Go(func() error { return expireSessions(gctx, svc.desk, log) })
	g.Go(func() error { return rm.follow(gctx, svc.bus) })
	g.Go(func() error {
		return notify.RunWatchdog(gctx, func() error {
			_, err := db.Schema()
			return err
		})
	})
	// Every listener is bound and the store has migrated: tell systemd.
	notify.Ready()
	notify.Status("serving on " + base)
	log.Info("applianced ready", "url", base, "version", env.Version, "dev", cfg.Dev)
	if env.Ready != nil {
		env.Ready(base)
	}

	<-gctx.Done()
	notify.Stopping()
	notify.Status("stopping")
	stopCtx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.ShutdownTimeout))
	defer cancel()
	srv.shutdown(stopCtx)
	ctl.Close()
	err = g.Wait()
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		return nil
	}
	return err
}

// siteHosts lists the host names of every public site, for the
// certificates page.
func siteHosts(d *desk.Service) func(context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		sites, err := d.Sites(ctx)
		if err != nil {
			return nil, err
		}
		var out []string
		for _, st := range sites {
			out = append(out, st.Hostnames...)
		}
		return out, nil
	}
}

func addrOf(l net.Listener) string {
	if l == nil {
		return ""
	}
	return l.Addr().String()
}

// publicURL is the base URL printed for people to open.
func publicURL(cfg config.Config, port string) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	host, _, _ := net.SplitHostPort(cfg.HTTPSAddr)
	if host == "" || host == "0.0.0.0" || host == "::" {
		if h, err := os.Hostname(); err == nil && h != "" {
			host = h
		} else {
			host = "localhost"
		}
	}
	u := url.URL{Scheme: "https", Host: net.JoinHostPort(host, port)}
	if port == "443" {
		u.Host = host
	}
	return u.String()
}

// announce prints where each surface lives and, while a realm has no
// administrator, a fresh one-time setup link for it.
func announce(ctx context.Context, out io.Writer, log *slog.Logger, a *auth.Service, base string) error {
	fmt.Fprintf(out, "Switchboard is running.\n")
	fmt.Fprintf(out, "  Public site         %s/\n", base)
	fmt.Fprintf(out, "  Technician console  %s/console\n", base)
	fmt.Fprintf(out, "  Site administration %s/login\n", base)
	fmt.Fprintf(out, "  Appliance admin     %s/appliance\n", base)
	for _, r := range []struct {
		realm  auth.Realm
		prefix string
		what   string
	}{{auth.Site, "/login", "site administrator (/login)"}, {auth.Box, "/appliance", "appliance administrator (/appliance)"}} {
		token, expires, err := a.NewSetupToken(ctx, r.realm)
		if errors.Is(err, auth.ErrSetupClosed) {
			continue
		}
		if err != nil {
			return err
		}
		link := base + r.prefix + "/setup?token=" + token
		// Standard output reaches the console and, under systemd, the
		// journal; the log gets no token.
		fmt.Fprintf(out, "Create the first %s, once, before %s:\n  %s\n", r.what, expires.Format("15:04 MST"), link)
		log.Info("first-run setup link printed on standard output", "realm", r.realm, "expires", expires)
	}
	return nil
}

// pruneSessions deletes timed-out login sessions every hour (sessions whose
// browser comes back are checked at that moment anyway), and the desk's
// spent keys and the access records of long-ended support sessions.
func pruneSessions(ctx context.Context, a *auth.Service, d *desk.Service, sso *samlsp.Service, log *slog.Logger) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			for _, realm := range []auth.Realm{auth.Site, auth.Box} {
				if n, err := a.PruneSessions(ctx, realm); err != nil {
					log.Warn("pruning sessions", "realm", realm, "err", err)
				} else if n > 0 {
					log.Debug("pruned sessions", "realm", realm, "count", n)
				}
			}
			if n, err := d.Prune(ctx); err != nil {
				log.Warn("pruning desk access records", "err", err)
			} else if n > 0 {
				log.Debug("pruned desk access records", "count", n)
			}
			if err := sso.Prune(ctx); err != nil {
				log.Warn("pruning saml requests", "err", err)
			}
		}
	}
}

// expireSessions expires waiting and ready sessions whose time is up, every
// 15 seconds (the desk's clock decides what is due).
func expireSessions(ctx context.Context, d *desk.Service, log *slog.Logger) error {
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if n, err := d.ExpireDue(ctx); err != nil {
				log.Warn("expiring sessions", "err", err)
			} else if n > 0 {
				log.Info("sessions expired", "count", n)
			}
			// Important messages that began or ended reach the pages.
			if _, err := d.AnnounceDue(ctx); err != nil {
				log.Warn("announcing messages", "err", err)
			}
		}
	}
}
