package samlsp_test

import (
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/samlsp"
	"github.com/switchboardhq/switchboard/appliance/samlsp/samltest"
)

// FuzzPrecheck feeds arbitrary bytes to the reader every answer passes
// before the SAML library sees it: it must refuse or accept, never panic,
// and accept only a document with the request and assertion ids it needs.
func FuzzPrecheck(f *testing.F) {
	now := time.Now()
	idp := samltest.New("https://idp.example.org/idp", now)
	a := samltest.Answer{InResponseTo: "id-1", Audience: "https://sp/saml/metadata", Destination: "https://sp/saml/acs", NameID: "n", SignAssertion: true, IssueInstant: now,
		Attributes: map[string]string{"mail": "a@b.c"}}
	f.Add(samltest.XML(idp.Response(a)))
	a.SignResponse = true
	f.Add(samltest.XML(idp.Response(a)))
	f.Add([]byte(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`))
	f.Add([]byte(`<!DOCTYPE x><x/>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		sh, err := samlsp.Precheck(raw)
		if err == nil && (sh.InResponseTo == "" || sh.AssertionID == "") {
			t.Fatalf("accepted without ids: %+v", sh)
		}
	})
}

// FuzzMetadata feeds arbitrary bytes to the IdP metadata reader.
func FuzzMetadata(f *testing.F) {
	now := time.Now()
	f.Add(samltest.New("https://idp.example.org/idp", now).Metadata())
	f.Add([]byte(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"><md:EntityDescriptor entityID="x"/></md:EntitiesDescriptor>`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		idp, ed, err := samlsp.ParseMetadata(raw, now)
		if err == nil && (idp.SSO == "" || len(idp.Certs) == 0 || ed == nil) {
			t.Fatalf("accepted unusable metadata: %+v", idp)
		}
	})
}
