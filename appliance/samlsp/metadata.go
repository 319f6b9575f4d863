package samlsp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/text"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/crewjam/saml"
)

// MaxMetadata bounds the IdP metadata document an admin uploads or the box
// fetches. Federation aggregates are far larger; an admin uploads the one
// entity instead.
const MaxMetadata = 256 << 10

// IdP is an identity provider's pinned metadata and what the box read
// from it.
type IdP struct {
	EntityID string `json:"entity_id"`
	// SSO is the IdP's HTTP-Redirect single sign-on address.
	SSO string `json:"sso"`
	// Certs are the signing certificates the box trusts for this IdP.
	Certs []Cert `json:"certs"`
	// Metadata is the document as pinned (uploaded or fetched once).
	Metadata []byte `json:"metadata"`
	// Source is the URL it was fetched from, or "" for an upload.
	Source string    `json:"source,omitempty"`
	Pinned time.Time `json:"pinned"`
}

// Origin is the scheme://host[:port] of the IdP's sign-on address: where a
// sign-in button's form ends up (the page's CSP must allow it).
func (idp IdP) Origin() string {
	u, err := url.Parse(idp.SSO)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// Cert describes one signing certificate of an IdP.
type Cert struct {
	Subject string `json:"subject"`
	// Fingerprint is the SHA-256 of the DER certificate, in colon hex.
	Fingerprint string    `json:"fingerprint"`
	NotAfter    time.Time `json:"not_after"`
}

// Expired reports whether the certificate's validity has ended at now.
func (c Cert) Expired(now time.Time) bool { return now.After(c.NotAfter) }

// ErrMetadata reports IdP metadata the box cannot use; the error says why
// in words for the admin.
var ErrMetadata = errors.New("unusable identity provider metadata")

func metadataErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMetadata, fmt.Sprintf(format, a...))
}

// ParseMetadata reads an IdP's SAML metadata: one EntityDescriptor, or the
// first identity provider of an EntitiesDescriptor. It needs an
// IDPSSODescriptor with an HTTP-Redirect single sign-on service and at
// least one signing certificate. A document type declaration (and with it
// every entity expansion) is refused before anything else reads the bytes.
func ParseMetadata(raw []byte, now time.Time) (IdP, *saml.EntityDescriptor, error) {
	if len(raw) == 0 {
		return IdP{}, nil, metadataErr("the document is empty")
	}
	if len(raw) > MaxMetadata {
		return IdP{}, nil, metadataErr("the document is larger than %d KiB", MaxMetadata>>10)
	}
	if err := scanXML(raw, xmlLimits{depth: 24, elements: 20000}); err != nil {
		return IdP{}, nil, metadataErr("%v", err)
	}
	ed, err := entity(raw)
	if err != nil {
		return IdP{}, nil, err
	}
	idp := IdP{EntityID: ed.EntityID, Metadata: append([]byte(nil), raw...), Pinned: now.UTC()}
	if idp.EntityID == "" || len(idp.EntityID) > 1024 {
		return IdP{}, nil, metadataErr("the entity has no usable entityID")
	}
	for _, d := range ed.IDPSSODescriptors {
		for _, s := range d.SingleSignOnServices {
			if s.Binding == saml.HTTPRedirectBinding && idp.SSO == "" {
				idp.SSO = s.Location
			}
		}
		for _, kd := range d.KeyDescriptors {
			if kd.Use != "" && kd.Use != "signing" {
				continue
			}
			for _, xc := range kd.KeyInfo.X509Data.X509Certificates {
				c, err := parseCert(xc.Data)
				if err != nil {
					return IdP{}, nil, metadataErr("a signing certificate cannot be read: %v", err)
				}
				idp.Certs = append(idp.Certs, c)
			}
		}
	}
	if idp.SSO == "" {
		return IdP{}, nil, metadataErr("the identity provider offers no HTTP-Redirect sign-on address")
	}
	if u, err := url.Parse(idp.SSO); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return IdP{}, nil, metadataErr("the sign-on address %q is not an http(s) URL", clip(idp.SSO, 100))
	}
	if len(idp.Certs) == 0 {
		return IdP{}, nil, metadataErr("the identity provider lists no signing certificate")
	}
	return idp, ed, nil
}

// entity picks the IdP entity of a metadata document.
func entity(raw []byte) (*saml.EntityDescriptor, error) {
	var root struct{ XMLName xml.Name }
	if err := xml.Unmarshal(raw, &root); err != nil {
		return nil, metadataErr("the document is not well-formed XML")
	}
	switch root.XMLName {
	case xml.Name{Space: "urn:oasis:names:tc:SAML:2.0:metadata", Local: "EntityDescriptor"}:
		ed := &saml.EntityDescriptor{}
		if err := xml.Unmarshal(raw, ed); err != nil {
			return nil, metadataErr("the EntityDescriptor cannot be read")
		}
		return ed, nil
	case xml.Name{Space: "urn:oasis:names:tc:SAML:2.0:metadata", Local: "EntitiesDescriptor"}:
		var eds saml.EntitiesDescriptor
		if err := xml.Unmarshal(raw, &eds); err != nil {
			return nil, metadataErr("the EntitiesDescriptor cannot be read")
		}
		for i := range eds.EntityDescriptors {
			if len(eds.EntityDescriptors[i].IDPSSODescriptors) > 0 {
				return &eds.EntityDescriptors[i], nil
			}
		}
		return nil, metadataErr("the document lists no identity provider")
	}
	return nil, metadataErr("the document is not SAML metadata (its root is %q)", clip(root.XMLName.Local, 40))
}

func parseCert(b64 string) (Cert, error) {
	der, err := base64.StdEncoding.DecodeString(strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, b64))
	if err != nil {
		return Cert{}, errors.New("not base64")
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return Cert{}, errors.New("not an X.509 certificate")
	}
	sum := sha256.Sum256(der)
	var fp strings.Builder
	for i, b := range sum {
		if i > 0 {
			fp.WriteByte(':')
		}
		fmt.Fprintf(&fp, "%02X", b)
	}
	return Cert{Subject: clip(c.Subject.String(), 200), Fingerprint: fp.String(), NotAfter: c.NotAfter.UTC()}, nil
}

// FetchPolicy says where metadata may be fetched from.
type FetchPolicy struct {
	// Insecure allows http:// and loopback addresses (dev mode and tests):
	// without TLS whoever is on the path could pin their own certificate.
	Insecure bool
}

// errFetchAddress is a refused destination of a metadata fetch.
var errFetchAddress = errors.New("the address is on this box or link-local")

// control refuses connections to loopback, link-local, multicast and
// unspecified addresses (this box's own services, cloud metadata
// endpoints) unless the policy is insecure. Private networks stay
// reachable: that is where many identity providers live.
func (fp FetchPolicy) control(network, address string, _ syscall.RawConn) error {
	if fp.Insecure {
		return nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return errFetchAddress
	}
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() {
		return errFetchAddress
	}
	return nil
}

func (fp FetchPolicy) checkURL(u *url.URL) error {
	if u.Scheme != "https" && !(fp.Insecure && u.Scheme == "http") {
		return metadataErr("give the metadata address as an https:// URL (the box then knows the document comes from the identity provider)")
	}
	if u.Host == "" || u.User != nil {
		return metadataErr("the metadata address has no host, or holds a user name")
	}
	return nil
}

// FetchMetadata fetches an IdP's metadata once, for the admin to pin: over
// https only (every redirect too), never from this box's own or a
// link-local address (see FetchPolicy), following at most three redirects,
// waiting at most 10 seconds and reading at most MaxMetadata bytes.
func FetchMetadata(ctx context.Context, fp FetchPolicy, rawURL string) ([]byte, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil {
		return nil, metadataErr("the metadata address is not a URL")
	}
	if err := fp.checkURL(u); err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: fp.control}
	c := http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: 5 * time.Second,
		ResponseHeaderTimeout: 5 * time.Second, MaxResponseHeaderBytes: 16 << 10}}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("too many redirects")
		}
		return fp.checkURL(req.URL)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, metadataErr("the address cannot be fetched")
	}
	res, err := c.Do(req)
	if err != nil {
		return nil, metadataErr("fetching %s failed: %s", u.Host, fetchReason(err))
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, metadataErr("%s answered %s", u.Host, res.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, MaxMetadata+1))
	if err != nil {
		return nil, metadataErr("reading the answer of %s failed", u.Host)
	}
	if len(raw) > MaxMetadata {
		return nil, metadataErr("the document is larger than %d KiB", MaxMetadata>>10)
	}
	return bytes.TrimSpace(raw), nil
}

func fetchReason(err error) string {
	var ue *url.Error
	switch {
	case errors.Is(err, errFetchAddress):
		return errFetchAddress.Error()
	case errors.Is(err, ErrMetadata):
		return "a redirect leads to a plain http:// address"
	case errors.As(err, &ue) && ue.Timeout():
		return "no answer within 10 seconds"
	}
	return "the box could not connect or the TLS certificate is not trusted"
}

// clip cuts s to at most n bytes on a rune boundary.
func clip(s string, n int) string { return text.Clip(s, n) }
