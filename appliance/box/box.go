// Package box serves /appliance, the administration of the box itself:
// status and hardware health, the network (package netcfg: every change a
// trial confirmed from the new address), the certificate of each host name
// (package tlscert: self-signed, imported, a request made on the box, or
// ACME), and a download of a live backup. Time and updates join it.
package box

import (
	"context"
	"embed"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/switchboardhq/switchboard/appliance/account"
	"github.com/switchboardhq/switchboard/appliance/netcfg"
	"github.com/switchboardhq/switchboard/appliance/tlscert"
	"github.com/switchboardhq/switchboard/appliance/web"
	"github.com/switchboardhq/switchboard/hw"
)

//go:embed templates/*.html
var templates embed.FS

// Deps are the surface's collaborators.
type Deps struct {
	Board   hw.Board
	Store   Store
	Version string
	Dev     bool
	Started time.Time
	// Net is the box's network.
	Net *netcfg.Manager
	// Certs keeps each host name's certificate; SiteHosts lists the
	// public sites' host names.
	Certs     Certs
	SiteHosts func(context.Context) ([]string, error)
	Log       *slog.Logger
	// Ctx ends when the daemon stops: a staged change is not applied
	// after that.
	Ctx context.Context
}

// Store is what the surface needs of the store.
type Store interface {
	Path() string
	Schema() (int, error)
	Snapshot(ctx context.Context) (*os.File, int64, error)
}

// Box is the /appliance surface.
type Box struct {
	area *account.Area
	deps Deps
	rt   *web.Router
}

// New returns the surface over the box realm's account area.
func New(area *account.Area, deps Deps) *Box { return &Box{area: area, deps: deps} }

// Routes registers the surface's pages and its navigation.
func (b *Box) Routes(rt *web.Router) {
	b.rt = rt
	rt.Pages().MustAdd(templates, "templates/*.html")
	b.area.AddNav("Status", "/appliance/status", false)
	b.area.AddNav("Network", "/appliance/network", false)
	if b.deps.Certs != nil {
		b.certRoutes(rt)
	}
	b.area.AddNav("Backup", "/appliance/backup", false)
	b.area.AddNav("Users", "/appliance/users", true)
	b.area.AddNav("My account", "/appliance/account", false)
	rt.Handle("GET /appliance/status", b.area.Require(false, b.serveStatus))
	rt.Handle("GET /appliance/network", b.area.Require(false, b.serveNetwork))
	rt.Handle("GET /appliance/network/state", b.area.Require(false, b.serveNetworkState))
	rt.Handle("POST /appliance/network", b.area.Require(true, b.postNetwork))
	rt.Handle("POST /appliance/network/cancel", b.area.Require(true, b.postNetworkCancel))
	rt.Handle("POST /appliance/network/apply", b.area.Require(true, b.postNetworkApply))
	// The confirmation arrives at the new address, where the browser has
	// no sign-in cookie: the one-time token is the credential.
	rt.Handle("GET /appliance/network/confirm", b.serveConfirm)
	rt.Handle("POST /appliance/network/confirm", b.postConfirm)
	rt.Handle("GET /appliance/backup", b.area.Require(false, b.serveBackup))
	rt.Handle("GET /appliance/backup/download", b.area.Require(true, b.serveBackupDownload))
}

type status struct {
	Board    string
	NICs     []nicView
	Data     space
	Memory   space
	Clock    clock
	Now      string
	Warnings []string
	// CertWarnings are expiring certificates and ACME errors.
	CertWarnings []tlscert.Warning
	Disks        []hw.Disk
	Sensors      []hw.Sensor
	Errors       []string
	Version      string
	Dev          bool
	Uptime       string
	Store        string
	Schema       int
	Size         string
}

func (b *Box) serveStatus(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	ctx := r.Context()
	s := status{Board: b.deps.Board.Name(), Version: b.deps.Version, Dev: b.deps.Dev,
		Uptime: time.Since(b.deps.Started).Round(time.Second).String(), Store: b.deps.Store.Path()}
	nics, err := b.deps.Board.NICs(ctx)
	if err != nil {
		s.Errors = append(s.Errors, "Network interfaces could not be read: "+err.Error())
	}
	var obs netcfg.State
	if b.deps.Net != nil {
		obs, _ = b.deps.Net.Observe()
	}
	for _, n := range nics {
		v := nicView{NIC: n}
		if l := obs.Link(n.Name); l != nil {
			for _, a := range l.Addrs {
				text := a.Prefix.String()
				if a.Dynamic && a.Prefix.Addr().Is4() {
					text += " (DHCP)"
				} else if a.Dynamic {
					text += " (automatic)"
				}
				v.Addrs = append(v.Addrs, text)
			}
		}
		s.NICs = append(s.NICs, v)
	}
	if s.Disks, err = b.deps.Board.Disks(ctx); err != nil {
		s.Errors = append(s.Errors, "Disks could not be read: "+err.Error())
	}
	if s.Sensors, err = b.deps.Board.Sensors(ctx); err != nil {
		s.Errors = append(s.Errors, "Sensors could not be read: "+err.Error())
	}
	s.Data, s.Memory, s.Clock = dataSpace(s.Store), memory(), timeStatus()
	s.Now = time.Now().UTC().Format("2006-01-02 15:04:05 MST")
	s.Warnings = warnings(s.Data, s.Memory, s.Sensors, s.NICs, s.Clock)
	if b.deps.Certs != nil {
		if s.CertWarnings, err = b.deps.Certs.Warnings(ctx, b.siteHosts(ctx)); err != nil {
			s.Errors = append(s.Errors, "Certificates could not be read: "+err.Error())
		}
	}
	s.Schema, _ = b.deps.Store.Schema()
	if fi, err := os.Stat(s.Store); err == nil {
		s.Size = web.Bytes(uint64(fi.Size()))
	}
	v := b.area.View(r, who, "Status")
	v.Data = s
	return b.area.Render(w, r, http.StatusOK, "status.html", v)
}

func (b *Box) serveBackup(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	v := b.area.View(r, who, "Backup")
	v.Data = struct{ Admin bool }{who.Admin()}
	return b.area.Render(w, r, http.StatusOK, "backup.html", v)
}

func (b *Box) serveBackupDownload(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	f, n, err := b.deps.Store.Snapshot(r.Context())
	if err != nil {
		return err
	}
	defer f.Close()
	name := fmt.Sprintf("switchboard-backup-%s.db", time.Now().UTC().Format("20060102-150405"))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	w.Header().Set("Cache-Control", "no-store")
	// A large store on a slow link takes longer than the server's default
	// write timeout; only an appliance administrator gets here.
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(time.Hour))
	io.Copy(w, f)
	return nil
}
