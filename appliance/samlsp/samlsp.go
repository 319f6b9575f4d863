// Package samlsp is the box's SAML 2.0 service provider side, on
// github.com/crewjam/saml: one service provider per public site (the
// portal login that verifies customers) and one for technicians signing in
// to /login and /console.
//
// Only SP-initiated sign-in with the HTTP-Redirect binding out and
// HTTP-POST back is spoken. Each AuthnRequest's ID is kept in bbolt with
// the provider that made it, the browser that asked (a keyed hash of a
// cookie) and where to go back, and is deleted by the first answer; so an
// answer is accepted once, only for a request this box made, only for the
// site that made it and only in the browser that started it. Answers are
// first read by Precheck (one Response, one signed Assertion, unique IDs,
// no comments in NameID, no DTD) and then verified by crewjam with SHA-1
// refused. No answer, assertion or attribute value is ever logged: the
// reasons recorded (Failures) are our own sentences.
package samlsp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/switchboardhq/switchboard/appliance/store"
	"github.com/switchboardhq/switchboard/appliance/text"
	bolt "go.etcd.io/bbolt"
)

// Bounds on what the box keeps.
const (
	// RequestTTL is how long a sign-in may take at the IdP.
	RequestTTL = 10 * time.Minute
	// MaxPending bounds the requests waiting for an answer box-wide, and
	// MaxPendingPerProvider those of one provider: a flood against one
	// site pushes out that site's oldest requests, not other sites'. The
	// HTTP layer bounds them per source.
	MaxPending            = 20000
	MaxPendingPerProvider = 2000
	// MaxFailures is how many refused answers the box remembers per provider.
	MaxFailures = 20
	// MaxIdentities bounds the portal identities kept box-wide.
	MaxIdentities = 50000
	// Attribute bounds: a value longer, or more of them, is refused.
	maxAttrs, maxValues, maxValueLen, maxNameID = 64, 32, 1024, 512
)

// StaffKey is the provider key of technicians' sign-in.
const StaffKey = "staff"

// SiteKey is the provider key of a public site's portal login.
func SiteKey(site uint64) string { return fmt.Sprintf("site-%d", site) }

// Provider is one service provider's settings and its pinned IdP.
type Provider struct {
	Key string `json:"key"`
	// Base is the https://host[:port] the SP's addresses are on; its
	// entity ID is Base+prefix+"/metadata".
	Base string `json:"base"`
	IdP  *IdP   `json:"idp,omitempty"`
	// Name is what the sign-in button says ("Sign in with Contoso").
	Name string `json:"name,omitempty"`
	// Mapping names the IdP attribute that fills each target: "name",
	// "company", "email", "custom:<label>"; for staff "email", "name",
	// "groups".
	Mapping map[string]string `json:"mapping,omitempty"`
	// Staff sign-in only.
	Staff *Staff `json:"staff,omitempty"`
	// Updated is when an admin last saved it.
	Updated time.Time `json:"updated"`
}

// Staff is how technicians signing in with the IdP meet accounts.
type Staff struct {
	Enabled bool `json:"enabled"`
	// MatchBy is "nameid" or "email": which value must equal a username.
	MatchBy string `json:"match_by"`
	// JIT creates an account on first sign-in.
	JIT bool `json:"jit"`
	// DefaultRole is the role of a created account no group rule names.
	DefaultRole string `json:"default_role"`
	// Groups map IdP group ids to a role and teams, first match wins for
	// the role; teams add up.
	Groups []GroupRule `json:"groups,omitempty"`
}

// GroupRule maps one IdP group id.
type GroupRule struct {
	Group string   `json:"group"`
	Role  string   `json:"role,omitempty"`
	Teams []uint64 `json:"teams,omitempty"`
}

// Ready reports whether the provider can sign anyone in.
func (p Provider) Ready() bool { return p.IdP != nil && p.Base != "" }

// Label is the sign-in button's words.
func (p Provider) Label() string {
	if p.Name != "" {
		return "Sign in with " + p.Name
	}
	return "Sign in with your organization's account"
}

// Endpoints are a provider's three addresses.
type Endpoints struct {
	EntityID, Metadata, ACS string
}

// EndpointsAt returns the addresses of a provider on base under prefix
// ("/saml" for a site, "/login/saml" for staff).
func EndpointsAt(base, prefix string) Endpoints {
	return Endpoints{EntityID: base + prefix + "/metadata", Metadata: base + prefix + "/metadata", ACS: base + prefix + "/acs"}
}

// Service keeps providers, pending requests, portal identities and the
// record of refused answers.
type Service struct {
	db  *store.DB
	key []byte // keyed hashes of request ids, browser and identity tokens
	now func() time.Time
	log *slog.Logger

	spKey  *ecdsa.PrivateKey
	spCert *x509.Certificate
	fetch  FetchPolicy
}

// New returns the service; the box's SP key pair is made on first use and
// kept in blobs/saml/sp.
func New(ctx context.Context, db *store.DB, now func() time.Time, log *slog.Logger) (*Service, error) {
	if now == nil {
		now = time.Now
	}
	key, err := db.Secret(ctx, "token-key")
	if err != nil {
		return nil, err
	}
	s := &Service{db: db, key: key, now: now, log: log}
	if err := s.loadKey(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) loadKey(ctx context.Context) error {
	raw, err := s.db.Blob(ctx, "saml", "sp")
	if errors.Is(err, store.ErrNotFound) {
		raw, err = makeKeyPair(s.now())
		if err == nil {
			err = s.db.PutBlob(ctx, "saml", "sp", raw)
		}
	}
	if err != nil {
		return err
	}
	var certDER, keyDER []byte
	for rest := raw; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			certDER = b.Bytes
		case "PRIVATE KEY":
			keyDER = b.Bytes
		}
	}
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return fmt.Errorf("saml sp certificate: %w", err)
	}
	k, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return fmt.Errorf("saml sp key: %w", err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return errors.New("saml sp key is not ECDSA")
	}
	s.spKey, s.spCert = ek, cert
	return nil
}

// makeKeyPair makes the box's SP signing key. It is ECDSA, so the
// metadata offers no encryption key and IdPs send assertions in the clear
// inside TLS (encrypted assertions are refused).
func makeKeyPair(now time.Time) ([]byte, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: "Switchboard SAML service provider"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(20, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})...), nil
}

func (s *Service) hash(purpose, v string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("saml-" + purpose + "\x00" + v))
	return m.Sum(nil)
}

func (s *Service) clock() time.Time { return s.now().UTC().Round(0) }

func bucket(tx *bolt.Tx, sub string) *bolt.Bucket {
	return tx.Bucket(store.BucketSAML).Bucket([]byte(sub))
}

// Provider returns the provider key; one never saved comes back empty
// with ErrNoProvider.
func (s *Service) Provider(ctx context.Context, key string) (Provider, error) {
	var p Provider
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		v := bucket(tx, "providers").Get([]byte(key))
		if v == nil {
			return ErrNoProvider
		}
		return json.Unmarshal(v, &p)
	})
	if p.Key == "" {
		p.Key = key
	}
	return p, err
}

// SaveProvider stores p; it returns once committed.
func (s *Service) SaveProvider(ctx context.Context, p Provider) error {
	if p.Key == "" {
		return errors.New("samlsp: provider without key")
	}
	p.Updated = s.clock()
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return s.db.Update(ctx, func(tx *bolt.Tx) error { return bucket(tx, "providers").Put([]byte(p.Key), raw) })
}

// DeleteProvider forgets a provider (a deleted site's).
func (s *Service) DeleteProvider(ctx context.Context, key string) error {
	return s.db.Update(ctx, func(tx *bolt.Tx) error { return bucket(tx, "providers").Delete([]byte(key)) })
}

// sp builds crewjam's service provider for p at ep.
func (s *Service) sp(p Provider, ep Endpoints) (*saml.ServiceProvider, error) {
	if !p.Ready() {
		return nil, ErrNotConfigured
	}
	_, ed, err := ParseMetadata(p.IdP.Metadata, s.now())
	if err != nil {
		return nil, err
	}
	meta, _ := url.Parse(ep.Metadata)
	acs, _ := url.Parse(ep.ACS)
	clk := dsig.NewFakeClockAt(s.now())
	return &saml.ServiceProvider{
		EntityID:                         ep.EntityID,
		Key:                              s.spKey,
		Certificate:                      s.spCert,
		MetadataURL:                      *meta,
		AcsURL:                           *acs,
		IDPMetadata:                      ed,
		AuthnNameIDFormat:                saml.UnspecifiedNameIDFormat,
		AllowIDPInitiated:                false,
		RejectSHA1Signatures:             true,
		RejectUnknownConditions:          true,
		LimitRelayStateLength:            true,
		AssertionConsumerServiceBindings: []string{saml.HTTPPostBinding},
		Clock:                            clk,
		HTTPClient:                       &http.Client{Transport: refuseTransport{}},
	}, nil
}

// refuseTransport keeps crewjam from ever calling the IdP back (artifact
// resolution, attribute queries): the box only takes POSTed answers.
type refuseTransport struct{}

func (refuseTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("samlsp: back-channel calls are off")
}

// Metadata returns the SP metadata document of p at ep, for the IdP's admin.
func (s *Service) Metadata(ep Endpoints) ([]byte, error) {
	meta, _ := url.Parse(ep.Metadata)
	acs, _ := url.Parse(ep.ACS)
	sp := &saml.ServiceProvider{EntityID: ep.EntityID, Key: s.spKey, Certificate: s.spCert, MetadataURL: *meta, AcsURL: *acs,
		AuthnNameIDFormat: saml.UnspecifiedNameIDFormat, AssertionConsumerServiceBindings: []string{saml.HTTPPostBinding}}
	el := sp.Metadata()
	el.SPSSODescriptors[0].AuthnRequestsSigned = nil
	return xmlMarshal(el)
}

// ProviderMetadata is the SP metadata of provider key under prefix, once
// its address is saved (ErrNoProvider before).
func (s *Service) ProviderMetadata(ctx context.Context, key, prefix string) ([]byte, error) {
	p, err := s.Provider(ctx, key)
	if err == nil && p.Base == "" {
		err = ErrNoProvider
	}
	if err != nil {
		return nil, err
	}
	return s.Metadata(EndpointsAt(p.Base, prefix))
}

// MetadataType is the media type of SP metadata.
const MetadataType = "application/samlmetadata+xml"

// pending is a request waiting for its answer.
type pending struct {
	Provider string    `json:"provider"`
	Browser  []byte    `json:"browser"`
	Next     string    `json:"next"`
	Expires  time.Time `json:"expires"`
}

// SetFetchPolicy says where FetchMetadata may go (dev mode: anywhere).
func (s *Service) SetFetchPolicy(fp FetchPolicy) { s.fetch = fp }

// FetchMetadata fetches an IdP's metadata under the service's policy.
func (s *Service) FetchMetadata(ctx context.Context, rawURL string) ([]byte, error) {
	return FetchMetadata(ctx, s.fetch, rawURL)
}

// ErrNoProvider reports a provider never saved.
var ErrNoProvider = errors.New("no such service provider")

// ErrNotConfigured reports a provider without an IdP.
var ErrNotConfigured = errors.New("single sign-on is not set up")

// ErrBusy reports too many sign-ins waiting box-wide.
var ErrBusy = errors.New("too many sign-ins are waiting for their identity provider")

// Begin starts a sign-in for p: it records a new request and returns the
// IdP address to send the browser to, and the browser token to set in a
// cookie (BrowserCookie). next must be a local path (LocalPath).
func (s *Service) Begin(ctx context.Context, p Provider, ep Endpoints, next string) (*url.URL, string, error) {
	sp, err := s.sp(p, ep)
	if err != nil {
		return nil, "", err
	}
	req, err := sp.MakeAuthenticationRequest(p.IdP.SSO, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		return nil, "", err
	}
	browser := randomToken()
	rec, _ := json.Marshal(pending{Provider: p.Key, Browser: s.hash("browser", browser), Next: LocalPath(next), Expires: s.clock().Add(RequestTTL)})
	err = s.db.Update(ctx, func(tx *bolt.Tx) error {
		b := bucket(tx, "requests")
		if b.Stats().KeyN >= MaxPending {
			if s.pruneRequests(b) < 1 {
				return ErrBusy
			}
		}
		if err := s.makeRoom(b, p.Key); err != nil {
			return err
		}
		return b.Put(s.requestKey(p.Key, req.ID), rec)
	})
	if err != nil {
		return nil, "", err
	}
	u, err := req.Redirect("", sp)
	return u, browser, err
}

// requestKey is where a request of provider waits: the provider's key,
// then the keyed hash of the request's ID, so one provider's requests are
// counted without reading the others'.
func (s *Service) requestKey(provider, id string) []byte {
	return append([]byte(provider+"\x00"), s.hash("request", id)...)
}

// makeRoom keeps provider under MaxPendingPerProvider: expired requests go
// first, then the oldest.
func (s *Service) makeRoom(b *bolt.Bucket, provider string) error {
	prefix := []byte(provider + "\x00")
	n := 0
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	if n < MaxPendingPerProvider {
		return nil
	}
	now := s.clock()
	var dead [][]byte
	var oldest []byte
	var oldestAt time.Time
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var p pending
		if json.Unmarshal(v, &p) != nil || now.After(p.Expires) {
			dead = append(dead, append([]byte(nil), k...))
		} else if oldest == nil || p.Expires.Before(oldestAt) {
			oldest, oldestAt = append([]byte(nil), k...), p.Expires
		}
	}
	if len(dead) == 0 && oldest != nil {
		dead = append(dead, oldest)
	}
	for _, k := range dead {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// pruneRequests drops expired requests; it returns how many went.
func (s *Service) pruneRequests(b *bolt.Bucket) int {
	return pruneExpired(b, s.clock(), func(p pending) time.Time { return p.Expires })
}

// pruneExpired deletes the records of b that do not decode or whose
// expiry has passed at now; it returns how many went.
func pruneExpired[T any](b *bolt.Bucket, now time.Time, expires func(T) time.Time) int {
	var dead [][]byte
	b.ForEach(func(k, v []byte) error {
		var rec T
		if json.Unmarshal(v, &rec) != nil || now.After(expires(rec)) {
			dead = append(dead, append([]byte(nil), k...))
		}
		return nil
	})
	for _, k := range dead {
		b.Delete(k)
	}
	return len(dead)
}

// Prune drops expired requests and identities (the daemon's hourly sweep).
func (s *Service) Prune(ctx context.Context) error {
	return s.db.Update(ctx, func(tx *bolt.Tx) error {
		s.pruneRequests(bucket(tx, "requests"))
		s.pruneIdentities(bucket(tx, "identities"))
		return nil
	})
}

// Result is a verified sign-in.
type Result struct {
	Provider string
	// IdP is the entity ID of the IdP that signed the assertion.
	IdP          string
	NameID       string
	NameIDFormat string
	// Attributes by Name and by FriendlyName, values cleaned of control
	// characters.
	Attributes map[string][]string
	// Next is the local path the sign-in started from.
	Next string
}

// Attr returns the first value of the attribute name, or "".
func (r Result) Attr(name string) string {
	if v := r.Attributes[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Finish verifies the IdP's POSTed answer on p's ACS. browser is the
// cookie Begin handed out. Every refusal is a *Refusal naming the reason
// (never the answer's contents); the request it answered, if any, is used
// up either way.
func (s *Service) Finish(ctx context.Context, p Provider, ep Endpoints, r *http.Request, browser string) (Result, error) {
	if r.Method != http.MethodPost || r.URL.Query().Has("SAMLResponse") {
		return Result{}, refuse(ErrBinding)
	}
	if err := r.ParseForm(); err != nil {
		return Result{}, refuse(ErrMalformed)
	}
	if r.PostForm.Has("SAMLart") || r.PostForm.Has("Signature") {
		return Result{}, refuse(ErrBinding)
	}
	enc := r.PostForm.Get("SAMLResponse")
	if enc == "" {
		return Result{}, refuse(fmt.Errorf("%w: no SAMLResponse", ErrMalformed))
	}
	if len(enc) > base64.StdEncoding.EncodedLen(MaxResponse) {
		return Result{}, refuse(fmt.Errorf("%w: larger than %d KiB", ErrMalformed, MaxResponse>>10))
	}
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(enc), ""))
	if err != nil {
		return Result{}, refuse(fmt.Errorf("%w: not base64", ErrMalformed))
	}
	sh, err := Precheck(raw)
	if err != nil {
		return Result{}, refuse(err)
	}
	req, err := s.claim(ctx, p.Key, sh.InResponseTo, browser)
	if err != nil {
		return Result{}, refuse(err)
	}
	sp, err := s.sp(p, ep)
	if err != nil {
		return Result{}, refuse(err)
	}
	a, err := sp.ParseXMLResponse(raw, []string{sh.InResponseTo}, *sp.AcsURL.ResolveReference(&url.URL{}))
	if err != nil {
		return Result{}, refuse(crewjamReason(err))
	}
	if a.ID != sh.AssertionID {
		return Result{}, refuse(fmt.Errorf("%w: the verified assertion is not the one read", ErrShape))
	}
	return result(p.Key, sp.IDPMetadata.EntityID, a, req.Next)
}

// claim finds and deletes the pending request id: it must exist, not have
// expired, belong to provider key and to this browser.
func (s *Service) claim(ctx context.Context, key, id, browser string) (pending, error) {
	var p pending
	// why is decided inside the transaction, which still commits: a
	// refused answer uses its request up.
	var why error
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		why = nil
		b := bucket(tx, "requests")
		k := s.requestKey(key, id)
		v := b.Get(k)
		if v == nil {
			why = ErrNoRequest
			// Say so when it is another provider's: it stays for its
			// own answer.
			bucket(tx, "providers").ForEach(func(other, _ []byte) error {
				if string(other) != key && b.Get(s.requestKey(string(other), id)) != nil {
					why = ErrOtherProvider
				}
				return nil
			})
			return nil
		}
		if err := json.Unmarshal(v, &p); err != nil {
			return err
		}
		if err := b.Delete(k); err != nil {
			return err
		}
		switch {
		case s.clock().After(p.Expires):
			why = ErrRequestExpired
		case browser == "" || !hmac.Equal(p.Browser, s.hash("browser", browser)):
			why = ErrOtherBrowser
		}
		return nil
	})
	if err != nil {
		return p, err
	}
	return p, why
}

func result(key, idp string, a *saml.Assertion, next string) (Result, error) {
	res := Result{Provider: key, IdP: idp, Next: next, Attributes: map[string][]string{}}
	if a.Subject == nil || a.Subject.NameID == nil {
		return res, refuse(fmt.Errorf("%w: no NameID", ErrShape))
	}
	res.NameID, res.NameIDFormat = strings.TrimSpace(a.Subject.NameID.Value), a.Subject.NameID.Format
	if res.NameID == "" || len(res.NameID) > maxNameID || strings.IndexFunc(res.NameID, unicode.IsControl) >= 0 || text.HasBidiControl(res.NameID) {
		return res, refuse(fmt.Errorf("%w: the NameID is empty, too long or holds control characters", ErrShape))
	}
	n := 0
	friendly := map[string][]string{}
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			if n++; n > maxAttrs {
				return res, refuse(fmt.Errorf("%w: more than %d attributes", ErrShape, maxAttrs))
			}
			if len(at.Values) > maxValues {
				return res, refuse(fmt.Errorf("%w: an attribute has more than %d values", ErrShape, maxValues))
			}
			var vals []string
			for _, v := range at.Values {
				if len(v.Value) > maxValueLen {
					return res, refuse(fmt.Errorf("%w: an attribute value is longer than %d bytes", ErrShape, maxValueLen))
				}
				vals = append(vals, cleanValue(v.Value))
			}
			if at.Name != "" && len(at.Name) <= 256 {
				res.Attributes[at.Name] = append(res.Attributes[at.Name], vals...)
			}
			if at.FriendlyName != "" && len(at.FriendlyName) <= 256 {
				friendly[at.FriendlyName] = append(friendly[at.FriendlyName], vals...)
			}
		}
	}
	// A friendly name answers only where no attribute has it as its Name,
	// so another attribute cannot shadow "mail" by calling itself so.
	for name, vals := range friendly {
		if _, taken := res.Attributes[name]; !taken {
			res.Attributes[name] = vals
		}
	}
	return res, nil
}

// cleanValue replaces control and bidi-control characters with U+FFFD and
// trims. Replacing rather than dropping keeps two different values from
// becoming one ("adm\u0085in" is not "admin").
func cleanValue(v string) string {
	v = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || text.BidiControl(r) {
			return utf8.RuneError
		}
		return r
	}, v)
	return strings.TrimSpace(v)
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// LocalPath returns p if it is a local absolute path of at most 200 bytes
// (no scheme, host, "//" or backslash), and "/" otherwise.
func LocalPath(p string) string {
	if p == "" || len(p) > 200 || p[0] != '/' || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return p
}

// Failure is one refused answer as the admin sees it.
type Failure struct {
	At       time.Time `json:"at"`
	Provider string    `json:"provider"`
	Reason   string    `json:"reason"`
	Source   string    `json:"source,omitempty"`
}

// Record keeps a refused answer's reason for the admin; the oldest go
// first beyond MaxFailures per provider.
func (s *Service) Record(ctx context.Context, key, source string, err error) error {
	f := Failure{At: s.clock(), Provider: key, Reason: Reason(err), Source: source}
	raw, _ := json.Marshal(f)
	return s.db.Update(ctx, func(tx *bolt.Tx) error {
		b := bucket(tx, "errors")
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		if err := b.Put(binary.BigEndian.AppendUint64(nil, seq), raw); err != nil {
			return err
		}
		var mine [][]byte
		b.ForEach(func(k, v []byte) error {
			var g Failure
			if json.Unmarshal(v, &g) == nil && g.Provider == key {
				mine = append(mine, append([]byte(nil), k...))
			}
			return nil
		})
		for len(mine) > MaxFailures {
			b.Delete(mine[0])
			mine = mine[1:]
		}
		return nil
	})
}

// Failures returns the refused answers of provider key, newest first.
func (s *Service) Failures(ctx context.Context, key string) ([]Failure, error) {
	var out []Failure
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		c := bucket(tx, "errors").Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var f Failure
			if json.Unmarshal(v, &f) == nil && f.Provider == key {
				out = append(out, f)
			}
		}
		return nil
	})
	return out, err
}
