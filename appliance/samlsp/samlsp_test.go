package samlsp_test

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/samlsp"
	"github.com/switchboardhq/switchboard/appliance/samlsp/samltest"
	"github.com/switchboardhq/switchboard/appliance/store"
)

type fixture struct {
	svc     *samlsp.Service
	idp     *samltest.IdP
	site    samlsp.Provider
	other   samlsp.Provider
	ep, oep samlsp.Endpoints
	now     time.Time
	logs    *bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{now: time.Now().UTC().Truncate(time.Second), logs: &bytes.Buffer{}}
	log := slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.svc, err = samlsp.New(context.Background(), db, func() time.Time { return f.now }, log)
	if err != nil {
		t.Fatal(err)
	}
	f.idp = samltest.New("https://idp.example.org/idp", f.now)
	idp, _, err := samlsp.ParseMetadata(f.idp.Metadata(), f.now)
	if err != nil {
		t.Fatal(err)
	}
	f.site = samlsp.Provider{Key: samlsp.SiteKey(1), Base: "https://help.example.com", IdP: &idp}
	f.other = samlsp.Provider{Key: samlsp.SiteKey(2), Base: "https://other.example.com", IdP: &idp}
	for _, p := range []samlsp.Provider{f.site, f.other} {
		if err := f.svc.SaveProvider(context.Background(), p); err != nil {
			t.Fatal(err)
		}
	}
	f.ep = samlsp.EndpointsAt(f.site.Base, "/saml")
	f.oep = samlsp.EndpointsAt(f.other.Base, "/saml")
	return f
}

// begin starts a sign-in and returns the request id and browser token.
func (f *fixture) begin(t *testing.T, p samlsp.Provider, ep samlsp.Endpoints) (string, string) {
	t.Helper()
	u, browser, err := f.svc.Begin(context.Background(), p, ep, "/start?x=1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.String(), f.idp.SSO+"?") {
		t.Fatalf("redirect to %s", u)
	}
	id, err := samltest.RequestID(u)
	if err != nil || id == "" {
		t.Fatalf("request id: %q %v", id, err)
	}
	return id, browser
}

func (f *fixture) answer(id string) samltest.Answer {
	return samltest.Answer{InResponseTo: id, Audience: f.ep.EntityID, Destination: f.ep.ACS, NameID: "student",
		IssueInstant: f.now, SignAssertion: true, Attributes: map[string]string{"mail": "student@example.org", "displayName": "Stu Dent"}}
}

func (f *fixture) post(t *testing.T, p samlsp.Provider, ep samlsp.Endpoints, browser string, body []byte) (samlsp.Result, error) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, ep.ACS, strings.NewReader(samltest.Form(body).Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return f.svc.Finish(context.Background(), p, ep, r, browser)
}

func TestSignIn(t *testing.T) {
	f := newFixture(t)
	id, browser := f.begin(t, f.site, f.ep)
	res, err := f.post(t, f.site, f.ep, browser, samltest.XML(f.idp.Response(f.answer(id))))
	if err != nil {
		t.Fatalf("finish: %v", err)
	}
	if res.NameID != "student" || res.Attr("mail") != "student@example.org" || res.Attr("displayName") != "Stu Dent" || res.Next != "/start?x=1" || res.IdP != f.idp.EntityID {
		t.Fatalf("result %+v", res)
	}
	// A signed response around the signed assertion is fine too.
	id, browser = f.begin(t, f.site, f.ep)
	a := f.answer(id)
	a.SignResponse = true
	if _, err := f.post(t, f.site, f.ep, browser, samltest.XML(f.idp.Response(a))); err != nil {
		t.Fatalf("signed response: %v", err)
	}
}

func deflateBomb() string {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	zero := make([]byte, 1<<20)
	for range 64 {
		w.Write(zero)
	}
	w.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

// TestAttackCorpus sends every refused shape of answer; each must fail with
// a Refusal saying why, leave nothing signed in, and put nothing of the
// answer in the log.
func TestAttackCorpus(t *testing.T) {
	f := newFixture(t)
	// What each refusal must say; the wrapping attacks (XSW1–8) and the
	// odd shapes may be caught at several places, any refusal will do.
	want := map[string]error{
		"unsigned assertion": samlsp.ErrUnsigned, "unsigned assertion in a signed response": samlsp.ErrUnsigned,
		"signed by another key": samlsp.ErrSignature, "sha-1 signature": samlsp.ErrSHA1,
		"wrong audience": samlsp.ErrAudience, "wrong destination": samlsp.ErrDestination, "wrong recipient": samlsp.ErrDestination,
		"expired": samlsp.ErrExpired, "another issuer": samlsp.ErrIssuer, "failed status": samlsp.ErrStatus,
		"unsolicited": samlsp.ErrUnsolicited, "unknown request": samlsp.ErrNoRequest,
		"comment in NameID": samlsp.ErrShape, "two assertions": samlsp.ErrShape, "duplicate IDs": samlsp.ErrShape,
		"doctype": samlsp.ErrMalformed, "encrypted assertion": samlsp.ErrShape,
	}
	attacks := f.idp.Attacks()
	if len(attacks) != len(want)+8 {
		t.Fatalf("%d attacks", len(attacks))
	}
	for _, at := range attacks {
		t.Run(at.Name, func(t *testing.T) {
			f.logs.Reset()
			id, browser := f.begin(t, f.site, f.ep)
			_, err := f.post(t, f.site, f.ep, browser, at.Build(f.answer(id)))
			var ref *samlsp.Refusal
			if !errors.As(err, &ref) {
				t.Fatalf("got %v, want a refusal", err)
			}
			t.Logf("refused: %s", samlsp.Reason(err))
			if w := want[at.Name]; w != nil && !errors.Is(err, w) {
				t.Fatalf("refused for %q, want %q", samlsp.Reason(err), w)
			}
			if strings.Contains(samlsp.Reason(err), "student") || strings.Contains(f.logs.String(), "student") || strings.Contains(f.logs.String(), "Assertion") {
				t.Fatalf("answer leaked: reason %q log %q", samlsp.Reason(err), f.logs.String())
			}
		})
	}
}

func TestRequestsAreOneUseAndBound(t *testing.T) {
	f := newFixture(t)
	id, browser := f.begin(t, f.site, f.ep)
	body := samltest.XML(f.idp.Response(f.answer(id)))
	if _, err := f.post(t, f.site, f.ep, "wrong browser", body); !errors.Is(err, samlsp.ErrOtherBrowser) {
		t.Fatalf("other browser: %v", err)
	}
	// The request is used up even by a refused answer.
	if _, err := f.post(t, f.site, f.ep, browser, body); !errors.Is(err, samlsp.ErrNoRequest) {
		t.Fatalf("after a refusal: %v", err)
	}

	id, browser = f.begin(t, f.site, f.ep)
	body = samltest.XML(f.idp.Response(f.answer(id)))
	if _, err := f.post(t, f.site, f.ep, browser, body); err != nil {
		t.Fatal(err)
	}
	if _, err := f.post(t, f.site, f.ep, browser, body); !errors.Is(err, samlsp.ErrNoRequest) {
		t.Fatalf("replay: %v", err)
	}

	// An answer to site 1's request posted to site 2's ACS.
	id, browser = f.begin(t, f.site, f.ep)
	a := f.answer(id)
	a.Audience, a.Destination = f.oep.EntityID, f.oep.ACS
	if _, err := f.post(t, f.other, f.oep, browser, samltest.XML(f.idp.Response(a))); !errors.Is(err, samlsp.ErrOtherProvider) {
		t.Fatalf("other site: %v", err)
	}

	// Too late.
	id, browser = f.begin(t, f.site, f.ep)
	f.now = f.now.Add(samlsp.RequestTTL + time.Second)
	a = f.answer(id)
	if _, err := f.post(t, f.site, f.ep, browser, samltest.XML(f.idp.Response(a))); !errors.Is(err, samlsp.ErrRequestExpired) {
		t.Fatalf("late: %v", err)
	}
}

func TestBindings(t *testing.T) {
	f := newFixture(t)
	_, browser := f.begin(t, f.site, f.ep)
	// The redirect binding with a deflate bomb: refused without inflating.
	r := httptest.NewRequest(http.MethodGet, f.ep.ACS+"?SAMLResponse="+url.QueryEscape(deflateBomb()), nil)
	if _, err := f.svc.Finish(context.Background(), f.site, f.ep, r, browser); !errors.Is(err, samlsp.ErrBinding) {
		t.Fatalf("redirect binding: %v", err)
	}
	r = httptest.NewRequest(http.MethodPost, f.ep.ACS, strings.NewReader("SAMLart=AAQAAA"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := f.svc.Finish(context.Background(), f.site, f.ep, r, browser); !errors.Is(err, samlsp.ErrBinding) {
		t.Fatalf("artifact binding: %v", err)
	}
	// A deflated body posted as if it were the POST binding is just not XML.
	r = httptest.NewRequest(http.MethodPost, f.ep.ACS, strings.NewReader(url.Values{"SAMLResponse": {deflateBomb()}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := f.svc.Finish(context.Background(), f.site, f.ep, r, browser); !errors.Is(err, samlsp.ErrMalformed) {
		t.Fatalf("deflated post: %v", err)
	}
}

func TestFailuresKeepReasonsOnly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := range samlsp.MaxFailures + 5 {
		_ = i
		if err := f.svc.Record(ctx, f.site.Key, "192.0.2.1", &samlsp.Refusal{Why: samlsp.ErrAudience}); err != nil {
			t.Fatal(err)
		}
	}
	f.svc.Record(ctx, f.other.Key, "192.0.2.2", errors.New("<Assertion>student</Assertion>"))
	got, err := f.svc.Failures(ctx, f.site.Key)
	if err != nil || len(got) != samlsp.MaxFailures {
		t.Fatalf("%d failures, %v", len(got), err)
	}
	other, _ := f.svc.Failures(ctx, f.other.Key)
	if len(other) != 1 || strings.Contains(other[0].Reason, "student") {
		t.Fatalf("other: %+v", other)
	}
}

func TestMetadata(t *testing.T) {
	now := time.Now()
	idp := samltest.New("https://idp.example.org/idp", now)
	got, _, err := samlsp.ParseMetadata(idp.Metadata(), now)
	if err != nil || got.EntityID != idp.EntityID || got.SSO != idp.SSO || len(got.Certs) != 1 || len(got.Certs[0].Fingerprint) != 95 {
		t.Fatalf("%+v %v", got, err)
	}
	bad := map[string][]byte{
		"empty":   nil,
		"doctype": append([]byte(`<!DOCTYPE x [<!ENTITY e "e">]>`), idp.Metadata()...),
		"not xml": []byte("hello"),
		"no cert": bytes.Replace(idp.Metadata(), []byte(`use="signing"`), []byte(`use="encryption"`), 1),
		"no sso":  bytes.Replace(idp.Metadata(), []byte(`HTTP-Redirect`), []byte(`HTTP-POST`), 1),
		"huge":    bytes.Repeat([]byte(" "), samlsp.MaxMetadata+1),
	}
	for name, raw := range bad {
		if _, _, err := samlsp.ParseMetadata(raw, now); !errors.Is(err, samlsp.ErrMetadata) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestPendingQuotaPerProvider: a flood of sign-ins started on one site
// pushes out that site's oldest requests, never another site's.
func TestPendingQuotaPerProvider(t *testing.T) {
	if testing.Short() {
		t.Skip("2000 commits")
	}
	f := newFixture(t)
	siteID, siteBrowser := f.begin(t, f.site, f.ep)
	firstOther, firstBrowser := f.begin(t, f.other, f.oep)
	f.now = f.now.Add(time.Second)
	for range samlsp.MaxPendingPerProvider {
		if _, _, err := f.svc.Begin(context.Background(), f.other, f.oep, "/"); err != nil {
			t.Fatal(err)
		}
	}
	a := f.answer(firstOther)
	a.Audience, a.Destination = f.oep.EntityID, f.oep.ACS
	if _, err := f.post(t, f.other, f.oep, firstBrowser, samltest.XML(f.idp.Response(a))); !errors.Is(err, samlsp.ErrNoRequest) {
		t.Fatalf("the flooded site's oldest request: %v", err)
	}
	if _, err := f.post(t, f.site, f.ep, siteBrowser, samltest.XML(f.idp.Response(f.answer(siteID)))); err != nil {
		t.Fatalf("the other site's request: %v", err)
	}
}

func TestFetchMetadataPolicy(t *testing.T) {
	idp := samltest.New("https://idp.example.org/idp", time.Now())
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(idp.Metadata()) }))
	defer srv.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(idp.Metadata()) }))
	defer plain.Close()
	ctx := context.Background()
	// On a box: no plain http, nothing on loopback or link-local.
	for _, u := range []string{plain.URL, srv.URL, "https://169.254.169.254/latest/meta-data", "https://[::1]:1/x", "ftp://idp.example.org/m"} {
		if _, err := samlsp.FetchMetadata(ctx, samlsp.FetchPolicy{}, u); !errors.Is(err, samlsp.ErrMetadata) {
			t.Errorf("%s: %v", u, err)
		}
	}
	if _, err := samlsp.FetchMetadata(ctx, samlsp.FetchPolicy{}, srv.URL); err == nil || !strings.Contains(err.Error(), "on this box") {
		t.Errorf("loopback refusal says %v", err)
	}
	// Dev mode reaches the local test IdP over http.
	raw, err := samlsp.FetchMetadata(ctx, samlsp.FetchPolicy{Insecure: true}, plain.URL)
	if err != nil || !bytes.Contains(raw, []byte(idp.EntityID)) {
		t.Fatalf("dev fetch: %v", err)
	}
}
