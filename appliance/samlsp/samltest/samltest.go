// Package samltest is a small signing identity provider for tests: it
// writes IdP metadata and SAML responses, well-formed or bent into the
// attacks the service provider must refuse. It shares no code with the
// verifying side beyond the XML-signature library, which is why the
// end-to-end tests also run against SimpleSAMLphp.
package samltest

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// IdP is a test identity provider.
type IdP struct {
	EntityID string
	SSO      string
	Key      *rsa.PrivateKey
	Cert     *x509.Certificate
}

// New makes an IdP with a fresh 2048-bit key valid around now.
func New(entityID string, now time.Time) *IdP {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "samltest idp"},
		NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		panic(err)
	}
	c, _ := x509.ParseCertificate(der)
	return &IdP{EntityID: entityID, SSO: strings.TrimSuffix(entityID, "/") + "/sso", Key: k, Cert: c}
}

// Metadata is the IdP's metadata document.
func (p *IdP) Metadata() []byte {
	return []byte(`<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + p.EntityID + `">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAuthnRequestsSigned="false">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>` +
		base64.StdEncoding.EncodeToString(p.Cert.Raw) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="` + p.SSO + `"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`)
}

// RequestID reads the AuthnRequest ID out of the redirect URL an SP sent
// the browser to.
func RequestID(redirect *url.URL) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(redirect.Query().Get("SAMLRequest"))
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(flate.NewReader(bytes.NewReader(raw))); err != nil {
		return "", err
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(buf.Bytes()); err != nil {
		return "", err
	}
	return doc.Root().SelectAttrValue("ID", ""), nil
}

// Answer describes a response to write.
type Answer struct {
	InResponseTo string
	// Audience and Destination are the SP's entity ID and ACS URL;
	// Recipient defaults to Destination.
	Audience, Destination, Recipient string
	NameID                           string
	Attributes                       map[string]string
	IssueInstant                     time.Time
	// NotOnOrAfter defaults to IssueInstant + 5 minutes.
	NotOnOrAfter time.Time
	// Issuer defaults to the IdP's entity ID.
	Issuer string
	// SignAssertion and SignResponse choose what is signed; SHA1 signs
	// with rsa-sha1.
	SignAssertion, SignResponse, SHA1 bool
	// SignWith signs with another key than the IdP's.
	SignWith *rsa.PrivateKey
	// Status defaults to Success.
	Status string
}

func id() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("_%x", b)
}

// Assertion builds the (signed, if asked) assertion element.
func (p *IdP) Assertion(a Answer) *etree.Element {
	if a.IssueInstant.IsZero() {
		a.IssueInstant = time.Now()
	}
	if a.NotOnOrAfter.IsZero() {
		a.NotOnOrAfter = a.IssueInstant.Add(5 * time.Minute)
	}
	if a.Recipient == "" {
		a.Recipient = a.Destination
	}
	if a.Issuer == "" {
		a.Issuer = p.EntityID
	}
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
	as := etree.NewElement("saml:Assertion")
	as.CreateAttr("xmlns:saml", "urn:oasis:names:tc:SAML:2.0:assertion")
	as.CreateAttr("ID", id())
	as.CreateAttr("Version", "2.0")
	as.CreateAttr("IssueInstant", ts(a.IssueInstant))
	as.CreateElement("saml:Issuer").SetText(a.Issuer)
	subj := as.CreateElement("saml:Subject")
	nid := subj.CreateElement("saml:NameID")
	nid.CreateAttr("Format", "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified")
	nid.SetText(a.NameID)
	sc := subj.CreateElement("saml:SubjectConfirmation")
	sc.CreateAttr("Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer")
	scd := sc.CreateElement("saml:SubjectConfirmationData")
	scd.CreateAttr("InResponseTo", a.InResponseTo)
	scd.CreateAttr("NotOnOrAfter", ts(a.NotOnOrAfter))
	scd.CreateAttr("Recipient", a.Recipient)
	cond := as.CreateElement("saml:Conditions")
	cond.CreateAttr("NotBefore", ts(a.IssueInstant.Add(-30*time.Second)))
	cond.CreateAttr("NotOnOrAfter", ts(a.NotOnOrAfter))
	cond.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText(a.Audience)
	authn := as.CreateElement("saml:AuthnStatement")
	authn.CreateAttr("AuthnInstant", ts(a.IssueInstant))
	authn.CreateAttr("SessionIndex", id())
	authn.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText("urn:oasis:names:tc:SAML:2.0:ac:classes:Password")
	if len(a.Attributes) > 0 {
		st := as.CreateElement("saml:AttributeStatement")
		for name, v := range a.Attributes {
			at := st.CreateElement("saml:Attribute")
			at.CreateAttr("Name", name)
			at.CreateAttr("NameFormat", "urn:oasis:names:tc:SAML:2.0:attrname-format:basic")
			for _, one := range strings.Split(v, "|") {
				av := at.CreateElement("saml:AttributeValue")
				av.CreateAttr("xmlns:xs", "http://www.w3.org/2001/XMLSchema")
				av.CreateAttr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
				av.CreateAttr("xsi:type", "xs:string")
				av.SetText(one)
			}
		}
	}
	if a.SignAssertion {
		as = p.sign(as, a)
	}
	return as
}

// Response builds the response element around assertions (one fresh one
// if none is given).
func (p *IdP) Response(a Answer, assertions ...*etree.Element) *etree.Element {
	if a.IssueInstant.IsZero() {
		a.IssueInstant = time.Now()
	}
	if len(assertions) == 0 {
		assertions = []*etree.Element{p.Assertion(a)}
	}
	issuer := a.Issuer
	if issuer == "" {
		issuer = p.EntityID
	}
	status := a.Status
	if status == "" {
		status = "urn:oasis:names:tc:SAML:2.0:status:Success"
	}
	r := etree.NewElement("samlp:Response")
	r.CreateAttr("xmlns:samlp", "urn:oasis:names:tc:SAML:2.0:protocol")
	r.CreateAttr("xmlns:saml", "urn:oasis:names:tc:SAML:2.0:assertion")
	r.CreateAttr("ID", id())
	r.CreateAttr("Version", "2.0")
	r.CreateAttr("IssueInstant", a.IssueInstant.UTC().Format("2006-01-02T15:04:05Z"))
	r.CreateAttr("Destination", a.Destination)
	if a.InResponseTo != "" {
		r.CreateAttr("InResponseTo", a.InResponseTo)
	}
	r.CreateElement("saml:Issuer").SetText(issuer)
	r.CreateElement("samlp:Status").CreateElement("samlp:StatusCode").CreateAttr("Value", status)
	for _, as := range assertions {
		r.AddChild(as)
	}
	if a.SignResponse {
		r = p.sign(r, a)
	}
	return r
}

// sign signs el enveloped and moves the signature after the Issuer, where
// the SAML schema puts it.
func (p *IdP) sign(el *etree.Element, a Answer) *etree.Element {
	key := p.Key
	cert := p.Cert.Raw
	if a.SignWith != nil {
		key = a.SignWith
	}
	ctx, err := dsig.NewSigningContext(key, [][]byte{cert})
	if err != nil {
		panic(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if a.SHA1 {
		ctx.Hash = crypto.SHA1
	}
	signed, err := ctx.SignEnveloped(el)
	if err != nil {
		panic(err)
	}
	sig := signed.Child[len(signed.Child)-1]
	signed.RemoveChildAt(len(signed.Child) - 1)
	signed.InsertChildAt(1, sig)
	return signed
}

// XML serializes an element.
func XML(el *etree.Element) []byte {
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	b, err := doc.WriteToBytes()
	if err != nil {
		panic(err)
	}
	return b
}

// Form is the POST body that carries a response to an ACS.
func Form(response []byte) url.Values {
	return url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString(response)}}
}
