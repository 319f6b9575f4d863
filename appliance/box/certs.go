package box

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/appliance/account"
	"github.com/switchboardhq/switchboard/appliance/tlscert"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// Certs is what the certificates page needs (tlscert.Service).
type Certs interface {
	Hosts(ctx context.Context, siteHosts []string) ([]tlscert.HostStatus, error)
	Host(ctx context.Context, name string, siteHosts []string) (*tlscert.HostStatus, error)
	Warnings(ctx context.Context, siteHosts []string) ([]tlscert.Warning, error)
	Add(ctx context.Context, name, by string) (string, error)
	Import(ctx context.Context, name string, chainPEM, keyPEM []byte, by string) (*tlscert.Checked, error)
	MakeCSR(ctx context.Context, name, by string) ([]byte, error)
	CSR(ctx context.Context, name string) ([]byte, error)
	CompleteCSR(ctx context.Context, name string, chainPEM []byte, by string) (*tlscert.Checked, error)
	UseACME(ctx context.Context, name, by string) error
	UseSelfSigned(ctx context.Context, name, by string) error
	Forget(ctx context.Context, name, by string) error
	Renew(ctx context.Context, name string) error
	ACME(ctx context.Context) (tlscert.ACMESettings, error)
	SetACME(ctx context.Context, set tlscert.ACMESettings, by string) error
}

// uploadLimit bounds the body of a certificate upload (two files and the
// form around them).
const uploadLimit = 3*tlscert.MaxUpload + 16<<10

func (b *Box) certRoutes(rt *web.Router) {
	b.area.AddNav("Certificates", "/appliance/certificates", false)
	rt.Handle("GET /appliance/certificates", b.area.Require(false, b.serveCerts))
	rt.Handle("POST /appliance/certificates/acme", b.area.Require(true, b.postACME))
	rt.Handle("POST /appliance/certificates/add", b.area.Require(true, b.postCertAdd))
	rt.Handle("GET /appliance/certificates/{host}", b.area.Require(false, b.serveCertHost))
	rt.Handle("GET /appliance/certificates/{host}/state", b.area.Require(false, b.serveCertState))
	rt.Handle("GET /appliance/certificates/{host}/request.csr", b.area.Require(true, b.serveCSR))
	rt.HandleUpload("POST /appliance/certificates/{host}/import", uploadLimit, b.area.Require(true, b.postCertImport))
	rt.HandleUpload("POST /appliance/certificates/{host}/signed", uploadLimit, b.area.Require(true, b.postCertSigned))
	rt.Handle("POST /appliance/certificates/{host}/csr", b.area.Require(true, b.postCertCSR))
	rt.Handle("POST /appliance/certificates/{host}/acme", b.area.Require(true, b.postCertACME))
	rt.Handle("POST /appliance/certificates/{host}/renew", b.area.Require(true, b.postCertRenew))
	rt.Handle("POST /appliance/certificates/{host}/self-signed", b.area.Require(true, b.postCertSelfSigned))
	rt.Handle("POST /appliance/certificates/{host}/forget", b.area.Require(true, b.postCertForget))
}

func (b *Box) siteHosts(ctx context.Context) []string {
	if b.deps.SiteHosts == nil {
		return nil
	}
	hosts, err := b.deps.SiteHosts(ctx)
	if err != nil {
		b.deps.Log.Warn("public sites' host names", "err", err)
	}
	return hosts
}

type certsPage struct {
	Admin    bool
	Hosts    []tlscert.HostStatus
	Warnings []tlscert.Warning
	ACME     tlscert.ACMESettings
	Default  string // Let's Encrypt's directory
	Error    string
}

var certFlash = map[string]string{
	"acme":        "The ACME settings were saved. Names that use ACME get their certificates with them.",
	"added":       "The host name was added. Choose how it gets its certificate.",
	"imported":    "The certificate was imported and serves this name now.",
	"csr":         "A certificate request was made. Download it and give it to your certificate authority.",
	"signed":      "The signed certificate was installed and serves this name now.",
	"acme-on":     "The box is asking the ACME CA for a certificate. Until it arrives, the certificate shown keeps serving.",
	"renewing":    "The box is asking the ACME CA for a new certificate. The current one keeps serving meanwhile.",
	"self-signed": "This name gets the box's own self-signed certificate again.",
	"forgotten":   "The host name was removed from the list.",
}

func (b *Box) serveCerts(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	return b.renderCerts(w, r, who, http.StatusOK, nil, nil, "")
}

func (b *Box) renderCerts(w http.ResponseWriter, r *http.Request, who *account.Who, status int, form url.Values, fe web.FieldErrors, msg string) error {
	ctx := r.Context()
	sites := b.siteHosts(ctx)
	p := certsPage{Admin: who.Admin(), Default: tlscert.LetsEncrypt, Error: msg}
	var err error
	if p.Hosts, err = b.deps.Certs.Hosts(ctx, sites); err != nil {
		return err
	}
	if p.Warnings, err = b.deps.Certs.Warnings(ctx, sites); err != nil {
		return err
	}
	if p.ACME, err = b.deps.Certs.ACME(ctx); err != nil {
		return err
	}
	v := b.area.View(r, who, "Certificates")
	v.Data = p
	v.Flash = certFlash[r.URL.Query().Get("done")]
	if form == nil {
		form = url.Values{"directory": {p.ACME.Directory}, "email": {p.ACME.Email}, "challenges": {p.ACME.Challenges}, "roots": {p.ACME.Roots}}
		if p.ACME.Agreed {
			form.Set("agreed", "1")
		}
	}
	v.Form, v.Errors = form, fe
	return b.area.Render(w, r, status, "certificates.html", v)
}

func (b *Box) postACME(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	f := r.PostForm
	set := tlscert.ACMESettings{
		Directory: f.Get("directory"), Email: f.Get("email"), Agreed: f.Get("agreed") == "1",
		Challenges: f.Get("challenges"), Roots: f.Get("roots"),
	}
	err := b.deps.Certs.SetACME(r.Context(), set, who.User.Username)
	var fe *tlscert.FieldError
	if errors.As(err, &fe) {
		return b.renderCerts(w, r, who, http.StatusUnprocessableEntity, f, web.FieldErrors{fe.Field: fe.Msg}, "The ACME settings were not saved: fix the field marked below.")
	}
	if err != nil {
		return err
	}
	return web.Redirect(w, r, "/appliance/certificates?done=acme")
}

func (b *Box) postCertAdd(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	name, err := b.deps.Certs.Add(r.Context(), r.PostForm.Get("host"), who.User.Username)
	if errors.Is(err, tlscert.ErrInvalid) {
		return b.renderCerts(w, r, who, http.StatusUnprocessableEntity, r.PostForm, web.FieldErrors{"host": certMessage(err)}, "")
	}
	if err != nil {
		return err
	}
	return web.Redirect(w, r, hostURL(name)+"?done=added")
}

func hostURL(name string) string { return "/appliance/certificates/" + url.PathEscape(name) }

// certMessage is an error of package tlscert as shown to the admin.
func certMessage(err error) string {
	s := err.Error()
	for _, p := range []string{tlscert.ErrRefused.Error() + ": ", tlscert.ErrInvalid.Error() + ": "} {
		if i := strings.Index(s, p); i >= 0 {
			s = s[i+len(p):]
		}
	}
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:] + "."
}

type certHostPage struct {
	Admin bool
	H     tlscert.HostStatus
	ACME  bool // ACME is set up
	Error string
	// Tab is the form that failed, to open it again.
	Tab string
}

func (b *Box) hostStatus(r *http.Request) (*tlscert.HostStatus, error) {
	h, err := b.deps.Certs.Host(r.Context(), strings.ToLower(r.PathValue("host")), b.siteHosts(r.Context()))
	if err != nil {
		return nil, err
	}
	if h == nil {
		return nil, web.Error(http.StatusNotFound, "No public site or box name uses this host name.",
			"Go back to Certificates and add it, or check the spelling.")
	}
	return h, nil
}

func (b *Box) serveCertHost(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	return b.renderCertHost(w, r, who, http.StatusOK, "", "")
}

func (b *Box) renderCertHost(w http.ResponseWriter, r *http.Request, who *account.Who, status int, tab, msg string) error {
	h, err := b.hostStatus(r)
	if err != nil {
		return err
	}
	set, err := b.deps.Certs.ACME(r.Context())
	if err != nil {
		return err
	}
	v := b.area.View(r, who, h.Name)
	v.Data = certHostPage{Admin: who.Admin(), H: *h, ACME: set.Agreed && set.Directory != "", Error: msg, Tab: tab}
	v.Flash = certFlash[r.URL.Query().Get("done")]
	if tab != "" {
		v.Form = r.PostForm
	}
	return b.area.Render(w, r, status, "certificate.html", v)
}

// serveCertState answers the host page's poll while the ACME client works.
func (b *Box) serveCertState(w http.ResponseWriter, r *http.Request, _ *account.Who) error {
	h, err := b.hostStatus(r)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(map[string]any{
		"obtaining": h.Obtaining, "error": h.ACMEError, "not_after": h.Serving.NotAfter.UTC().Format(time.RFC3339),
	})
}

func (b *Box) serveCSR(w http.ResponseWriter, r *http.Request, _ *account.Who) error {
	name := strings.ToLower(r.PathValue("host"))
	csr, err := b.deps.Certs.CSR(r.Context(), name)
	if errors.Is(err, tlscert.ErrNoRequest) {
		return web.Error(http.StatusNotFound, "No certificate request is waiting for this name.", "Make one on the name's page first.")
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pkcs10")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.csr"`, strings.ReplaceAll(name, `"`, "")))
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(csr)
	return err
}

// pemField returns a PEM upload: the file if one was chosen, otherwise
// what was pasted in the text field of the same name.
func pemField(r *http.Request, name string) ([]byte, error) {
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File[name+"_file"]; len(fhs) > 0 && fhs[0].Size > 0 {
			return readFile(fhs[0], tlscert.MaxUpload)
		}
	}
	return []byte(r.PostForm.Get(name)), nil
}

func readFile(fh *multipart.FileHeader, limit int64) ([]byte, error) {
	if fh.Size > limit {
		return nil, fmt.Errorf("%w: the file is larger than %d KiB; upload only the PEM certificates and key", tlscert.ErrRefused, limit>>10)
	}
	f, err := fh.Open()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit))
}

// certResult renders a refused upload on the host page, or redirects.
func (b *Box) certResult(w http.ResponseWriter, r *http.Request, who *account.Who, tab string, err error, done string) error {
	switch {
	case errors.Is(err, tlscert.ErrRefused), errors.Is(err, tlscert.ErrInvalid), errors.Is(err, tlscert.ErrNoRequest), errors.Is(err, tlscert.ErrNoACME):
		return b.renderCertHost(w, r, who, http.StatusUnprocessableEntity, tab,
			"Nothing was changed; the certificate shown keeps serving. "+certMessage(err))
	case err != nil:
		return err
	}
	return web.Redirect(w, r, hostURL(strings.ToLower(r.PathValue("host")))+"?done="+done)
}

func (b *Box) postCertImport(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	chain, err := pemField(r, "chain")
	if err != nil {
		return b.certResult(w, r, who, "import", err, "")
	}
	key, err := pemField(r, "key")
	if err != nil {
		return b.certResult(w, r, who, "import", err, "")
	}
	_, err = b.deps.Certs.Import(r.Context(), r.PathValue("host"), chain, key, who.User.Username)
	return b.certResult(w, r, who, "import", err, "imported")
}

func (b *Box) postCertSigned(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	chain, err := pemField(r, "chain")
	if err != nil {
		return b.certResult(w, r, who, "csr", err, "")
	}
	_, err = b.deps.Certs.CompleteCSR(r.Context(), r.PathValue("host"), chain, who.User.Username)
	return b.certResult(w, r, who, "csr", err, "signed")
}

func (b *Box) postCertCSR(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	_, err := b.deps.Certs.MakeCSR(r.Context(), r.PathValue("host"), who.User.Username)
	return b.certResult(w, r, who, "csr", err, "csr")
}

func (b *Box) postCertACME(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	err := b.deps.Certs.UseACME(r.Context(), r.PathValue("host"), who.User.Username)
	return b.certResult(w, r, who, "acme", err, "acme-on")
}

func (b *Box) postCertRenew(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	err := b.deps.Certs.Renew(r.Context(), r.PathValue("host"))
	return b.certResult(w, r, who, "acme", err, "renewing")
}

func (b *Box) postCertSelfSigned(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	err := b.deps.Certs.UseSelfSigned(r.Context(), r.PathValue("host"), who.User.Username)
	return b.certResult(w, r, who, "", err, "self-signed")
}

func (b *Box) postCertForget(w http.ResponseWriter, r *http.Request, who *account.Who) error {
	if err := b.deps.Certs.Forget(r.Context(), r.PathValue("host"), who.User.Username); err != nil {
		return b.certResult(w, r, who, "", err, "")
	}
	return web.Redirect(w, r, "/appliance/certificates?done=forgotten")
}
