package admin_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/samlsp"
	"github.com/switchboardhq/switchboard/appliance/samlsp/samltest"
	"github.com/switchboardhq/switchboard/tools/deskfix"
)

// staffIdP pins an in-test IdP for the technicians' sign-in with staff.
func (f *fixture) staffIdP(staff samlsp.Staff) *samltest.IdP {
	f.t.Helper()
	idp := samltest.New("https://idp.example.org/idp", f.clock.Now())
	pinned, _, err := samlsp.ParseMetadata(idp.Metadata(), f.clock.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	err = f.sso.SaveProvider(ctx, samlsp.Provider{Key: samlsp.StaffKey, Base: "https://box", Name: "Acme IdP", IdP: &pinned, Staff: &staff,
		Mapping: map[string]string{"email": "mail", "name": "displayName", "groups": "groups"}})
	if err != nil {
		f.t.Fatal(err)
	}
	return idp
}

var signIns int

// ssoSignIn runs one technician sign-in from a fresh browser whose IdP
// says attrs about NameID "nid"; it returns the ACS answer.
func (f *fixture) ssoSignIn(idp *samltest.IdP, attrs map[string]string) *httptest.ResponseRecorder {
	f.t.Helper()
	// Each sign-in from its own address: the per-network limit is not
	// what this test is about.
	signIns++
	addr := fmt.Sprintf("198.51.100.%d:4000", signIns%250+1)
	start := httptest.NewRequest("POST", "https://box/login/saml/login", strings.NewReader(url.Values{"next": {"/console"}, "csrf_token": {f.csrf}}.Encode()))
	start.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	start.AddCookie(f.csrfCookie)
	start.RemoteAddr = addr
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, start)
	if rec.Code != http.StatusSeeOther {
		f.t.Fatalf("start: %d %s", rec.Code, errorText(rec.Body.String()))
	}
	u, _ := url.Parse(rec.Header().Get("Location"))
	id, err := samltest.RequestID(u)
	if err != nil {
		f.t.Fatal(err)
	}
	var browser *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == "__Host-sb-saml-staff" {
			browser = c
		}
	}
	if browser == nil || browser.SameSite != http.SameSiteNoneMode || !browser.Secure {
		f.t.Fatalf("the browser cookie: %+v", browser)
	}
	body := samltest.XML(idp.Response(samltest.Answer{InResponseTo: id, Audience: "https://box/login/saml/metadata", Destination: "https://box/login/saml/acs",
		NameID: "nid", SignAssertion: true, IssueInstant: f.clock.Now(), Attributes: attrs}))
	req := httptest.NewRequest("POST", "https://box/login/saml/acs", strings.NewReader(samltest.Form(body).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(browser)
	req.RemoteAddr = addr
	out := httptest.NewRecorder()
	f.h.ServeHTTP(out, req)
	return out
}

func signedIn(rec *httptest.ResponseRecorder) bool {
	for _, c := range rec.Result().Cookies() {
		if c.Name == "__Host-sb-site" && c.Value != "" {
			return true
		}
	}
	return false
}

func TestStaffSignIn(t *testing.T) {
	f := newFixture(t)
	// Off: no button, and the routes refuse.
	if strings.Contains(f.request("GET", "/login", "", nil, false).Body.String(), "sso-signin") {
		t.Fatal("a sign-in button without single sign-on set up")
	}
	if rec := f.request("POST", "/login/saml/login", "", url.Values{}, false); rec.Code != http.StatusNotFound {
		t.Fatalf("start while off: %d", rec.Code)
	}
	idp := f.staffIdP(samlsp.Staff{Enabled: true, MatchBy: "email"})
	if !strings.Contains(f.request("GET", "/login", "", nil, false).Body.String(), "Sign in with Acme IdP") {
		t.Fatal("no sign-in button")
	}

	// An existing account, matched by its e-mail attribute (= username).
	rec := f.ssoSignIn(idp, map[string]string{"mail": "TechnicianUser"})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/console" || !signedIn(rec) {
		t.Fatalf("existing account: %d %s %s", rec.Code, rec.Header().Get("Location"), errorText(rec.Body.String()))
	}
	entries, _ := f.desk.Audit(ctx, f.root, desk.AuditFilter{Kind: desk.KindAccount, Limit: 5})
	if len(entries) == 0 || entries[0].Action != "sign-in" || !strings.Contains(entries[0].Note, "single sign-on (Acme IdP)") {
		t.Fatalf("audit: %+v", entries)
	}

	// Unknown without just-in-time accounts: refused, said, recorded.
	rec = f.ssoSignIn(idp, map[string]string{"mail": "newbie@example.org"})
	if rec.Code != http.StatusForbidden || signedIn(rec) || !strings.Contains(rec.Body.String(), "no account here matches") {
		t.Fatalf("unknown: %d", rec.Code)
	}
	if fails, _ := f.sso.Failures(ctx, samlsp.StaffKey); len(fails) != 1 {
		t.Fatalf("failures: %+v", fails)
	}

	// Just in time: the first group rule with a role gives it; teams add up.
	blue, _ := f.desk.Team(ctx, f.team)
	red, err := f.desk.SaveTeam(ctx, f.root, desk.Team{Name: "Red"})
	if err != nil {
		t.Fatal(err)
	}
	idp = f.staffIdP(samlsp.Staff{Enabled: true, MatchBy: "email", JIT: true, Groups: []samlsp.GroupRule{
		{Group: "g-other", Role: desk.RoleAdmin}, {Group: "g-help", Role: desk.RoleTechnician, Teams: []uint64{blue.ID}}, {Group: "g-red", Teams: []uint64{red.ID}}}})
	rec = f.ssoSignIn(idp, map[string]string{"mail": "newbie@example.org", "displayName": "New Bie", "groups": "g-help|g-red"})
	if rec.Code != http.StatusSeeOther || !signedIn(rec) {
		t.Fatalf("jit: %d %s", rec.Code, errorText(rec.Body.String()))
	}
	u, err := f.auth.UserNamed(ctx, auth.Site, "newbie@example.org")
	if err != nil || u.Role != desk.RoleTechnician || u.DisplayName != "New Bie" {
		t.Fatalf("created %+v %v", u, err)
	}
	for _, id := range []uint64{blue.ID, red.ID} {
		tm, _ := f.desk.Team(ctx, id)
		if !contains(tm.Members, u.ID) {
			t.Fatalf("not in team %s", tm.Name)
		}
	}
	// The account has no usable password.
	if _, err := f.auth.Authenticate(ctx, auth.Site, "newbie@example.org", "", "192.0.2.9"); err == nil {
		t.Fatal("an empty password signs the created account in")
	}
	// No group gives a role and there is no default: refused.
	rec = f.ssoSignIn(idp, map[string]string{"mail": "stranger@example.org", "groups": "g-red"})
	if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "gives a role") {
		t.Fatalf("no role: %d", rec.Code)
	}
	if _, err := f.auth.UserNamed(ctx, auth.Site, "stranger@example.org"); err == nil {
		t.Fatal("an account was made without a role")
	}
	// A disabled account is refused.
	if err := f.auth.SetDisabled(ctx, auth.Site, f.user["other"], true); err != nil {
		t.Fatal(err)
	}
	rec = f.ssoSignIn(idp, map[string]string{"mail": "otheruser"})
	if rec.Code != http.StatusForbidden || signedIn(rec) || !strings.Contains(rec.Body.String(), "disabled") {
		t.Fatalf("disabled: %d", rec.Code)
	}
	// A local administrator never signs in through the IdP.
	rec = f.ssoSignIn(idp, map[string]string{"mail": "adminuser"})
	if rec.Code != http.StatusForbidden || signedIn(rec) || !strings.Contains(rec.Body.String(), "with their password") {
		t.Fatalf("local admin: %d", rec.Code)
	}
	// Values that only look like a username are refused, not cleaned.
	for _, v := range []string{"adm\u0085inuser", "technicianuser\u202c", "\u212Aevin@example.org"} {
		if rec = f.ssoSignIn(idp, map[string]string{"mail": v}); rec.Code != http.StatusForbidden || signedIn(rec) {
			t.Fatalf("%q: %d", v, rec.Code)
		}
	}
	// The created account follows its groups at each sign-in: promoted by
	// a rule, refused once no rule gives it a role.
	rec = f.ssoSignIn(idp, map[string]string{"mail": "newbie@example.org", "groups": "g-other"})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("promoted: %d %s", rec.Code, errorText(rec.Body.String()))
	}
	if u, _ = f.auth.UserNamed(ctx, auth.Site, "newbie@example.org"); u.Role != desk.RoleAdmin {
		t.Fatalf("role after the group changed: %s", u.Role)
	}
	if rec = f.ssoSignIn(idp, map[string]string{"mail": "newbie@example.org"}); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "gives a role") {
		t.Fatalf("no group left: %d", rec.Code)
	}
	// A local account with a second factor is asked for its code.
	en, err := f.auth.BeginTOTP(ctx, auth.Site, f.user[CM], "")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.GenerateCodeCustom(en.Secret, f.clock.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err := f.auth.ConfirmTOTP(ctx, auth.Site, f.user[CM], en.Secret, code); err != nil {
		t.Fatal(err)
	}
	rec = f.ssoSignIn(idp, map[string]string{"mail": "channelmanageruser"})
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login/2fa") {
		t.Fatalf("second factor: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	// Passwords keep working while single sign-on is on.
	if _, err := f.auth.Authenticate(ctx, auth.Site, "adminuser", deskfix.Password, "192.0.2.9"); err != nil {
		t.Fatalf("the local administrator: %v", err)
	}
}

func contains(ids []uint64, id uint64) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}
