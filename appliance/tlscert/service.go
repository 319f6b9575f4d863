package tlscert

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/appliance/store"
)

// Source says where a host name's certificate comes from.
type Source string

const (
	// BoxDefault: the box's own default certificate (browsers warn).
	BoxDefault Source = "self-signed"
	// Imported: a certificate and key uploaded by an admin, or the answer
	// to a request made on the box.
	Imported Source = "imported"
	// ACME: obtained and renewed by the box from an ACME CA.
	ACME Source = "acme"
)

// Challenges the ACME CA may use to check the box answers for a name.
const (
	ChallengesBoth    = "both"
	ChallengesHTTP    = "http-01"
	ChallengesTLSALPN = "tls-alpn-01"
)

// WarnBefore is how long before a certificate's expiry the dashboard warns.
const WarnBefore = 30 * 24 * time.Hour

// Errors callers tell apart; the messages say what to do.
var (
	ErrInvalid   = errors.New("invalid")
	ErrNoRequest = errors.New("no certificate request is pending for this name: make one first")
	ErrNoACME    = errors.New("ACME is not set up: fill in the ACME settings first")
)

// Host is how one host name gets its certificate (tls/hosts/<name>).
type Host struct {
	Name   string `json:"name"`
	Source Source `json:"source"`
	// CertPEM and KeyPEM are the imported pair; under ACME they serve
	// until the CA's certificate arrives.
	CertPEM []byte `json:"cert_pem,omitempty"`
	KeyPEM  []byte `json:"key_pem,omitempty"`
	// A request made on the box, waiting for its signed certificate. The
	// key never leaves the box.
	CSRPEM    []byte    `json:"csr_pem,omitempty"`
	CSRKeyPEM []byte    `json:"csr_key_pem,omitempty"`
	CSRMade   time.Time `json:"csr_made,omitzero"`
	// The last ACME outcome.
	ACMEError    string    `json:"acme_error,omitempty"` // in words
	ACMEErrorAt  time.Time `json:"acme_error_at,omitzero"`
	ACMEObtained time.Time `json:"acme_obtained,omitzero"`
	Changed      time.Time `json:"changed,omitzero"`
	By           string    `json:"by,omitempty"`
}

// ACMESettings are the box's ACME account (tls/meta/acme).
type ACMESettings struct {
	// Directory is the CA's ACME directory URL.
	Directory string `json:"directory"`
	Email     string `json:"email"`
	// Agreed: the admin accepted the CA's terms of service.
	Agreed     bool   `json:"agreed"`
	Challenges string `json:"challenges"`
	// Roots are extra trusted roots (PEM) for a private ACME server.
	Roots string `json:"roots,omitempty"`
}

// LetsEncrypt is Let's Encrypt's production directory, the default.
const LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

// Options configure a Service.
type Options struct {
	Now func() time.Time
	Log *slog.Logger
	// HTTPAddr and HTTPSAddr are the box's bound listeners; the ACME
	// challenges are answered there. An empty HTTPAddr disables HTTP-01.
	HTTPAddr, HTTPSAddr string
	// RenewCheck is how often certificates are checked for renewal
	// (default: the ACME library's, 10 minutes).
	RenewCheck time.Duration
	// Roots verify imported chains; nil: the system's roots.
	Roots *x509.CertPool
}

// Service keeps the certificate of every host name: it stores the
// choices, registers them with the Manager that answers handshakes, and
// runs the ACME client.
type Service struct {
	db    *store.DB
	m     *Manager
	o     Options
	files *acmeFiles

	mu     sync.Mutex // serializes changes
	cache  *certmagic.Cache
	magic  atomic.Pointer[certmagic.Config]
	issuer atomic.Pointer[certmagic.ACMEIssuer]
	ctx    context.Context
	stop   context.CancelFunc
	// obtaining: hosts the ACME client is working on now.
	obtaining sync.Map
}

// NewService returns a service over db that registers certificates in m.
func NewService(db *store.DB, m *Manager, o Options) *Service {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Roots == nil {
		o.Roots, _ = x509.SystemCertPool()
	}
	return &Service{db: db, m: m, o: o, files: newACMEFiles(db, o.Now)}
}

// Start registers every stored certificate and starts the ACME client for
// the names that use it. Stop ends it.
func (s *Service) Start(ctx context.Context) error {
	s.ctx, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	s.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) {
			if c := s.magic.Load(); c != nil {
				return c, nil
			}
			return nil, ErrNoACME
		},
		RenewCheckInterval: s.o.RenewCheck,
		Logger:             zap.NewNop(),
	})
	s.m.SetDynamicSource(s.dynamicCert)
	hosts, err := s.list(ctx)
	if err != nil {
		return err
	}
	for _, h := range hosts {
		if err := s.register(h); err != nil {
			s.o.Log.Warn("certificate not served", "host", h.Name, "err", err)
		}
	}
	set, err := s.ACME(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.configure(set)
}

// Stop stops the ACME client; it is safe to call twice.
func (s *Service) Stop() {
	if s.stop != nil {
		s.stop()
	}
	if s.cache != nil {
		s.cache.Stop()
		s.cache = nil
	}
}

func (s *Service) dynamicCert(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := s.magic.Load()
	if c == nil {
		return nil, ErrNoACME
	}
	return c.GetCertificate(hello)
}

// configure builds the ACME client from set and hands it every ACME host.
// s.mu is held.
func (s *Service) configure(set ACMESettings) error {
	if set.Directory == "" || !set.Agreed {
		s.magic.Store(nil)
		s.issuer.Store(nil)
		return nil
	}
	cfg := certmagic.New(s.cache, certmagic.Config{
		Storage: s.files,
		OnEvent: s.onEvent,
		Logger:  zap.NewNop(),
	})
	tmpl := certmagic.ACMEIssuer{
		CA:                      set.Directory,
		Email:                   set.Email,
		Agreed:                  true,
		DisableHTTPChallenge:    set.Challenges == ChallengesTLSALPN || s.o.HTTPAddr == "",
		DisableTLSALPNChallenge: set.Challenges == ChallengesHTTP,
		Logger:                  zap.NewNop(),
	}
	// The box's own servers answer the challenges: point the library at
	// their ports so that it finds them taken and starts no server itself.
	if host, port, err := net.SplitHostPort(s.o.HTTPSAddr); err == nil {
		tmpl.ListenHost = host
		tmpl.AltTLSALPNPort, _ = strconv.Atoi(port)
	}
	if _, port, err := net.SplitHostPort(s.o.HTTPAddr); err == nil {
		tmpl.AltHTTPPort, _ = strconv.Atoi(port)
	}
	if set.Roots != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		pool.AppendCertsFromPEM([]byte(set.Roots))
		tmpl.TrustedRoots = pool
	}
	iss := certmagic.NewACMEIssuer(cfg, tmpl)
	cfg.Issuers = []certmagic.Issuer{iss}
	s.magic.Store(cfg)
	s.issuer.Store(iss)
	hosts, err := s.list(s.ctx)
	if err != nil {
		return err
	}
	var names []string
	for _, h := range hosts {
		if h.Source == ACME {
			names = append(names, h.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	return cfg.ManageAsync(s.ctx, names)
}

// HTTPChallenge answers an ACME HTTP-01 request and reports whether r was
// one; mount it before the port-80 redirect.
func (s *Service) HTTPChallenge(w http.ResponseWriter, r *http.Request) bool {
	iss := s.issuer.Load()
	return iss != nil && iss.HandleHTTPChallenge(w, r)
}

func (s *Service) onEvent(_ context.Context, event string, data map[string]any) error {
	host, _ := data["identifier"].(string)
	if host == "" {
		return nil
	}
	switch event {
	case "cert_obtaining":
		s.obtaining.Store(host, true)
	case "cert_obtained":
		s.obtaining.Delete(host)
		renewal, _ := data["renewal"].(bool)
		s.o.Log.Info("ACME certificate obtained", "host", host, "renewal", renewal)
		s.noteACME(host, "")
	case "cert_failed":
		s.obtaining.Delete(host)
		err, _ := data["error"].(error)
		if err == nil {
			err = errors.New("unknown error")
		}
		s.o.Log.Warn("ACME certificate not obtained", "host", host, "err", err)
		s.noteACME(host, Explain(host, err))
	}
	return nil
}

// noteACME records the outcome of an ACME attempt for host.
func (s *Service) noteACME(host, problem string) {
	err := s.update(s.ctx, host, func(h *Host) error {
		now := s.o.Now().UTC()
		h.ACMEError = problem
		if problem != "" {
			h.ACMEErrorAt = now
		} else {
			h.ACMEObtained = now
			h.ACMEErrorAt = time.Time{}
		}
		return nil
	})
	if err != nil {
		s.o.Log.Warn("ACME outcome not recorded", "host", host, "err", err)
	}
}

// register hands h's certificate to the Manager. It returns an error when
// a stored pair no longer parses; the name then gets the default.
func (s *Service) register(h Host) error {
	var pair *tls.Certificate
	if len(h.CertPEM) > 0 {
		c, err := ParsePair(h.CertPEM, h.KeyPEM)
		if err != nil {
			s.m.Remove(h.Name)
			return err
		}
		pair = c
	}
	switch {
	case h.Source == ACME:
		return s.m.SetDynamic(h.Name, []string{h.Name}, pair)
	case h.Source == Imported && pair != nil:
		return s.m.Set(h.Name, []string{h.Name}, pair)
	}
	s.m.Remove(h.Name)
	return nil
}

// CheckName normalizes a host name an admin entered.
func CheckName(name string) (string, error) {
	n, err := normalizePattern(strings.TrimSpace(name))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if strings.HasPrefix(n, "*") {
		return "", fmt.Errorf("%w: %q is a wildcard; give each host name on its own", ErrInvalid, name)
	}
	if !strings.Contains(n, ".") {
		return "", fmt.Errorf("%w: %q is not a full host name (such as support.example.com)", ErrInvalid, name)
	}
	return n, nil
}

// Add lists a host name of the box's own (beside the public sites' names,
// which are listed by themselves) so that it can get a certificate.
func (s *Service) Add(ctx context.Context, name, by string) (string, error) {
	n, err := CheckName(name)
	if err != nil {
		return "", err
	}
	return n, s.update(ctx, n, func(h *Host) error {
		if h.Source == "" {
			h.Source = BoxDefault
		}
		return nil
	})
}

// Import takes an uploaded certificate chain and key for name. On any
// error nothing changes and the old certificate keeps serving.
func (s *Service) Import(ctx context.Context, name string, chainPEM, keyPEM []byte, by string) (*Checked, error) {
	n, err := CheckName(name)
	if err != nil {
		return nil, err
	}
	c, err := CheckImport(n, chainPEM, keyPEM, s.o.Now(), s.o.Roots)
	if err != nil {
		return nil, err
	}
	return c, s.change(ctx, n, by, func(h *Host) error {
		h.Source, h.CertPEM, h.KeyPEM = Imported, c.CertPEM, c.KeyPEM
		return nil
	})
}

// MakeCSR makes a new key and certificate request for name, replacing a
// pending one. The current certificate keeps serving.
func (s *Service) MakeCSR(ctx context.Context, name, by string) ([]byte, error) {
	n, err := CheckName(name)
	if err != nil {
		return nil, err
	}
	csr, key, err := NewCSR(n)
	if err != nil {
		return nil, err
	}
	return csr, s.change(ctx, n, by, func(h *Host) error {
		if h.Source == "" {
			h.Source = BoxDefault
		}
		h.CSRPEM, h.CSRKeyPEM, h.CSRMade = csr, key, s.o.Now().UTC()
		return nil
	})
}

// CompleteCSR takes the certificate a CA signed for name's pending request.
func (s *Service) CompleteCSR(ctx context.Context, name string, chainPEM []byte, by string) (*Checked, error) {
	n, err := CheckName(name)
	if err != nil {
		return nil, err
	}
	h, err := s.get(ctx, n)
	if err != nil {
		return nil, err
	}
	if h == nil || len(h.CSRKeyPEM) == 0 {
		return nil, ErrNoRequest
	}
	c, err := CheckSigned(n, chainPEM, h.CSRKeyPEM, s.o.Now(), s.o.Roots)
	if err != nil {
		return nil, err
	}
	return c, s.change(ctx, n, by, func(h *Host) error {
		if len(h.CSRKeyPEM) == 0 {
			return ErrNoRequest
		}
		h.Source, h.CertPEM, h.KeyPEM = Imported, c.CertPEM, c.KeyPEM
		h.CSRPEM, h.CSRKeyPEM, h.CSRMade = nil, nil, time.Time{}
		return nil
	})
}

// UseACME has the box obtain and renew name's certificate from the ACME
// CA. What served before keeps serving until the CA's certificate arrives.
func (s *Service) UseACME(ctx context.Context, name, by string) error {
	n, err := CheckName(name)
	if err != nil {
		return err
	}
	if s.magic.Load() == nil {
		return ErrNoACME
	}
	if err := s.change(ctx, n, by, func(h *Host) error {
		h.Source, h.ACMEError, h.ACMEErrorAt = ACME, "", time.Time{}
		return nil
	}); err != nil {
		return err
	}
	return s.magic.Load().ManageAsync(s.ctx, []string{n})
}

// UseSelfSigned goes back to the box's default certificate for name; an
// imported pair and a pending request are forgotten.
func (s *Service) UseSelfSigned(ctx context.Context, name, by string) error {
	n, err := CheckName(name)
	if err != nil {
		return err
	}
	if err := s.change(ctx, n, by, func(h *Host) error {
		*h = Host{Name: n, Source: BoxDefault}
		return nil
	}); err != nil {
		return err
	}
	s.cache.RemoveManaged([]certmagic.SubjectIssuer{{Subject: n}})
	return nil
}

// Forget removes a name of the box's own from the list (a public site's
// name stays listed while the site has it).
func (s *Service) Forget(ctx context.Context, name, by string) error {
	if err := s.UseSelfSigned(ctx, name, by); err != nil {
		return err
	}
	n, _ := CheckName(name)
	return s.db.Update(ctx, func(tx *bolt.Tx) error { return hostsBucket(tx).Delete([]byte(n)) })
}

// Renew asks the ACME CA for a new certificate for name now; the outcome
// shows in the name's status. The current certificate serves meanwhile.
func (s *Service) Renew(ctx context.Context, name string) error {
	n, err := CheckName(name)
	if err != nil {
		return err
	}
	h, err := s.get(ctx, n)
	if err != nil {
		return err
	}
	cfg := s.magic.Load()
	if h == nil || h.Source != ACME || cfg == nil {
		return fmt.Errorf("%w: %s does not use ACME", ErrInvalid, n)
	}
	s.obtaining.Store(n, true)
	have := len(s.cache.AllMatchingCertificates(n)) > 0
	// Both calls retry with growing pauses until they succeed or the
	// service stops; each attempt's outcome arrives through onEvent.
	go func() {
		var err error
		if have {
			err = cfg.RenewCertAsync(s.ctx, n, true)
		} else {
			err = cfg.ObtainCertAsync(s.ctx, n)
		}
		if err != nil {
			s.obtaining.Delete(n)
		}
	}()
	return nil
}

// change applies fn to name's record and registers the result; nothing
// is registered unless the record committed.
func (s *Service) change(ctx context.Context, name, by string, fn func(*Host) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var after Host
	err := s.update(ctx, name, func(h *Host) error {
		if err := fn(h); err != nil {
			return err
		}
		h.Changed, h.By = s.o.Now().UTC(), by
		after = *h
		return nil
	})
	if err != nil {
		return err
	}
	s.o.Log.Info("certificate changed", "host", name, "source", after.Source, "by", by)
	return s.register(after)
}

// ACME returns the ACME settings (defaults when none were saved).
func (s *Service) ACME(ctx context.Context) (ACMESettings, error) {
	set := ACMESettings{Directory: LetsEncrypt, Challenges: ChallengesBoth}
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(store.BucketTLS).Bucket([]byte("meta")).Get([]byte("acme"))
		if v == nil {
			return nil
		}
		return json.Unmarshal(v, &set)
	})
	return set, err
}

// FieldError names the ACME setting that is wrong.
type FieldError struct {
	Field, Msg string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Validate checks settings an admin entered.
func (a *ACMESettings) Validate() error {
	a.Directory = strings.TrimSpace(a.Directory)
	a.Email = strings.TrimSpace(a.Email)
	u, err := url.Parse(a.Directory)
	if err != nil || u.Scheme != "https" || u.Host == "" || len(a.Directory) > 500 {
		return &FieldError{"directory", "give the CA's ACME directory URL, starting with https://"}
	}
	if a.Email != "" {
		if m, err := mail.ParseAddress(a.Email); err != nil || m.Address != a.Email || len(a.Email) > 254 {
			return &FieldError{"email", "give one e-mail address such as it@example.com, or leave it empty"}
		}
	}
	if !a.Agreed {
		return &FieldError{"agreed", "the CA issues certificates only to accounts that accept its terms of service"}
	}
	if !slices.Contains([]string{ChallengesBoth, ChallengesHTTP, ChallengesTLSALPN}, a.Challenges) {
		return &FieldError{"challenges", "choose which challenges the CA may use"}
	}
	if strings.TrimSpace(a.Roots) != "" {
		if len(a.Roots) > MaxUpload {
			return &FieldError{"roots", "too long: paste only the CA's root certificates"}
		}
		certs, key, err := readPEM([]byte(a.Roots))
		if err != nil || len(certs) == 0 || key != nil {
			return &FieldError{"roots", "paste PEM certificates only (-----BEGIN CERTIFICATE-----)"}
		}
	}
	return nil
}

// SetACME saves and applies new ACME settings; every ACME name is managed
// with them from now on.
func (s *Service) SetACME(ctx context.Context, set ACMESettings, by string) error {
	if err := set.Validate(); err != nil {
		return err
	}
	v, err := json.Marshal(set)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(store.BucketTLS).Bucket([]byte("meta")).Put([]byte("acme"), v)
	}); err != nil {
		return err
	}
	s.o.Log.Info("ACME settings changed", "directory", set.Directory, "by", by)
	return s.configure(set)
}

// HostStatus is a host name's certificate as the dashboard shows it.
type HostStatus struct {
	Host
	// Site: a public site uses this name.
	Site bool
	// Serving describes the certificate handshakes get now.
	Serving   Served
	Obtaining bool // the ACME client is at work on it now
	Pending   bool // a certificate request waits for its answer
}

// Served describes a certificate.
type Served struct {
	Default  bool // the box's default certificate
	Issuer   string
	Names    string
	NotAfter time.Time
	// Trusted: it verifies with the system's roots (so browsers are
	// likely not to warn).
	Trusted bool
}

// Hosts returns the status of every name: those of the public sites
// (siteHosts) and those the admin added, sorted.
func (s *Service) Hosts(ctx context.Context, siteHosts []string) ([]HostStatus, error) {
	hosts, err := s.list(ctx)
	if err != nil {
		return nil, err
	}
	byName := map[string]*Host{}
	for i := range hosts {
		byName[hosts[i].Name] = &hosts[i]
	}
	sites := map[string]bool{}
	for _, h := range siteHosts {
		h = strings.ToLower(h)
		sites[h] = true
		if byName[h] == nil {
			byName[h] = &Host{Name: h, Source: BoxDefault}
		}
	}
	var out []HostStatus
	for name, h := range byName {
		_, obtaining := s.obtaining.Load(name)
		out = append(out, HostStatus{
			Host: *h, Site: sites[name], Serving: s.served(name),
			Obtaining: obtaining && h.Source == ACME, Pending: len(h.CSRPEM) > 0,
		})
	}
	slices.SortFunc(out, func(a, b HostStatus) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Host returns one name's status, or nil when it is not listed.
func (s *Service) Host(ctx context.Context, name string, siteHosts []string) (*HostStatus, error) {
	all, err := s.Hosts(ctx, siteHosts)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Name == name {
			return &all[i], nil
		}
	}
	return nil, nil
}

func (s *Service) served(name string) Served {
	c, err := s.m.GetCertificate(&tls.ClientHelloInfo{ServerName: name})
	if err != nil || c == nil || len(c.Certificate) == 0 {
		return Served{}
	}
	leaf := c.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return Served{}
		}
	}
	def, _ := s.m.GetCertificate(&tls.ClientHelloInfo{})
	inter := x509.NewCertPool()
	for _, der := range c.Certificate[1:] {
		if ic, err := x509.ParseCertificate(der); err == nil {
			inter.AddCert(ic)
		}
	}
	_, verr := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: s.o.Roots, Intermediates: inter, CurrentTime: s.o.Now()})
	return Served{
		Default: def == c, Issuer: issuerName(leaf), Names: describeNames(leaf),
		NotAfter: leaf.NotAfter, Trusted: verr == nil && s.o.Roots != nil,
	}
}

// CSR returns name's pending certificate request (PEM).
func (s *Service) CSR(ctx context.Context, name string) ([]byte, error) {
	h, err := s.get(ctx, strings.ToLower(name))
	if err != nil {
		return nil, err
	}
	if h == nil || len(h.CSRPEM) == 0 {
		return nil, ErrNoRequest
	}
	return h.CSRPEM, nil
}

// Warning is something about certificates the dashboard shows.
type Warning struct {
	Host, Text string
}

// Warnings lists certificates that expire within WarnBefore and the last
// ACME errors, for the names of siteHosts and those added.
func (s *Service) Warnings(ctx context.Context, siteHosts []string) ([]Warning, error) {
	all, err := s.Hosts(ctx, siteHosts)
	if err != nil {
		return nil, err
	}
	now := s.o.Now()
	var out []Warning
	for _, h := range all {
		if h.ACMEError != "" {
			out = append(out, Warning{h.Name, "The box could not get a certificate for " + h.Name + " from the ACME CA: " + h.ACMEError})
		}
		if h.Serving.Default || h.Serving.NotAfter.IsZero() {
			continue
		}
		switch left := h.Serving.NotAfter.Sub(now); {
		case left <= 0:
			out = append(out, Warning{h.Name, fmt.Sprintf("The certificate for %s expired on %s: browsers refuse it. Renew or replace it.", h.Name, h.Serving.NotAfter.UTC().Format(time.DateOnly))})
		case left < WarnBefore:
			out = append(out, Warning{h.Name, fmt.Sprintf("The certificate for %s expires on %s (in %d days). Renew or replace it.", h.Name, h.Serving.NotAfter.UTC().Format(time.DateOnly), int(left.Hours()/24)+1)})
		}
	}
	return out, nil
}

func hostsBucket(tx *bolt.Tx) *bolt.Bucket {
	return tx.Bucket(store.BucketTLS).Bucket([]byte("hosts"))
}

func (s *Service) list(ctx context.Context) ([]Host, error) {
	var out []Host
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		return hostsBucket(tx).ForEach(func(_, v []byte) error {
			var h Host
			if err := json.Unmarshal(v, &h); err != nil {
				return err
			}
			out = append(out, h)
			return nil
		})
	})
	return out, err
}

func (s *Service) get(ctx context.Context, name string) (*Host, error) {
	var h *Host
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		v := hostsBucket(tx).Get([]byte(name))
		if v == nil {
			return nil
		}
		h = new(Host)
		return json.Unmarshal(v, h)
	})
	return h, err
}

// update applies fn to name's record (a new one when absent) in one
// transaction.
func (s *Service) update(ctx context.Context, name string, fn func(*Host) error) error {
	return s.db.Update(ctx, func(tx *bolt.Tx) error {
		b := hostsBucket(tx)
		h := Host{Name: name}
		if v := b.Get([]byte(name)); v != nil {
			if err := json.Unmarshal(v, &h); err != nil {
				return err
			}
		}
		if err := fn(&h); err != nil {
			return err
		}
		v, err := json.Marshal(h)
		if err != nil {
			return err
		}
		return b.Put([]byte(name), v)
	})
}
