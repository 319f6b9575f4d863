package auth

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// codeAt is the code an authenticator app shows at t.
func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totpOpts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wrongCode is a code accepted at no step within one of at.
func wrongCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	near := map[string]bool{}
	for d := -1; d <= 1; d++ {
		near[codeAt(t, secret, at.Add(time.Duration(d)*30*time.Second))] = true
	}
	for _, c := range []string{"000000", "111111", "222222", "333333"} {
		if !near[c] {
			return c
		}
	}
	panic("unreachable")
}

// enrol turns TOTP on for a new user and returns it with its secret.
func enrol(t *testing.T, f *fixture, name string) (User, string) {
	t.Helper()
	ctx := context.Background()
	u := f.mustCreate(t, Site, name, RoleAdmin)
	e, err := f.svc.BeginTOTP(ctx, Site, u.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ConfirmTOTP(ctx, Site, u.ID, e.Secret, codeAt(t, e.Secret, f.clock.Now())); err != nil {
		t.Fatal(err)
	}
	return u, e.Secret
}

func TestTOTPEnrolment(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u := f.mustCreate(t, Site, "alice", RoleAdmin)
	e, err := f.svc.BeginTOTP(ctx, Site, u.ID, "Acme Support")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(e.QRPNG))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 200 || b.Dy() != 200 {
		t.Fatalf("qr code %v", b)
	}
	link, err := url.Parse(e.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := link.Query()
	if link.Scheme != "otpauth" || link.Host != "totp" || q.Get("secret") != e.Secret || q.Get("issuer") != "Acme Support" ||
		q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Fatalf("url %s", e.URL)
	}
	if got, _ := f.svc.User(ctx, Site, u.ID); got.HasTOTP() {
		t.Fatal("BeginTOTP stored the secret")
	}
	now := f.clock.Now()
	if err := f.svc.ConfirmTOTP(ctx, Site, u.ID, e.Secret, codeAt(t, e.Secret, now.Add(-2*time.Minute))); !errors.Is(err, ErrBadCode) {
		t.Fatalf("stale code: %v", err)
	}
	if err := f.svc.ConfirmTOTP(ctx, Site, u.ID, "not base32!", "123456"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad secret: %v", err)
	}
	if err := f.svc.ConfirmTOTP(ctx, Site, u.ID, e.Secret, codeAt(t, e.Secret, now)); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.User(ctx, Site, u.ID); !got.HasTOTP() {
		t.Fatal("TOTP not on after ConfirmTOTP")
	}
	// The code used to confirm is spent.
	if err := f.svc.VerifyTOTP(ctx, Site, u.ID, codeAt(t, e.Secret, now), "::1"); !errors.Is(err, ErrBadCode) {
		t.Fatalf("confirmation code reused: %v", err)
	}
	if err := f.svc.DisableTOTP(ctx, Site, u.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.svc.User(ctx, Site, u.ID); got.HasTOTP() {
		t.Fatal("TOTP still on")
	}
	if err := f.svc.VerifyTOTP(ctx, Site, u.ID, "123456", "::1"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("verify without TOTP: %v", err)
	}
}

func TestTOTPOnceOnly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u, secret := enrol(t, f, "alice")
	f.clock.Advance(30 * time.Second)
	code := codeAt(t, secret, f.clock.Now())
	if err := f.svc.VerifyTOTP(ctx, Site, u.ID, code, "::1"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.VerifyTOTP(ctx, Site, u.ID, code, "::1"); !errors.Is(err, ErrBadCode) {
		t.Fatalf("same code twice: %v", err)
	}
	// Spaces people type are ignored.
	f.clock.Advance(30 * time.Second)
	code = codeAt(t, secret, f.clock.Now())
	if err := f.svc.VerifyTOTP(ctx, Site, u.ID, code[:3]+" "+code[3:], "::1"); err != nil {
		t.Fatal(err)
	}
}

func TestTOTPSkew(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 10, 0, time.UTC)
	step := uint64(now.Unix()) / 30
	const secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	at := func(d int) time.Time { return now.Add(time.Duration(d) * 30 * time.Second) }
	code := func(d int) string { c, _ := totp.GenerateCodeCustom(secret, at(d), totpOpts); return c }
	tests := []struct {
		name     string
		code     string
		after    uint64
		wantStep uint64
		ok       bool
	}{
		{"current", code(0), 0, step, true},
		{"one behind", code(-1), 0, step - 1, true},
		{"one ahead", code(1), 0, step + 1, true},
		{"two behind", code(-2), 0, 0, false},
		{"two ahead", code(2), 0, 0, false},
		{"current, already used", code(0), step, 0, false},
		{"behind the last used", code(-1), step, 0, false},
		{"ahead of the last used", code(1), step, step + 1, true},
		{"too short", code(0)[:5], 0, 0, false},
		{"letters", "abcdef", 0, 0, false},
		{"seven digits", code(0) + "1", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := matchStep(secret, tt.code, now, tt.after)
			if ok != tt.ok || got != tt.wantStep {
				t.Fatalf("matchStep = %d, %v; want %d, %v", got, ok, tt.wantStep, tt.ok)
			}
		})
	}

	// Through the service: a code from the previous step is still accepted,
	// but not after a later one was.
	f := newFixture(t)
	ctx := context.Background()
	u, s := enrol(t, f, "bob")
	f.clock.Advance(90 * time.Second)
	prev := codeAt(t, s, f.clock.Now().Add(-30*time.Second))
	next := codeAt(t, s, f.clock.Now().Add(30*time.Second))
	if err := f.svc.VerifyTOTP(ctx, Site, u.ID, next, "::1"); err != nil {
		t.Fatalf("code one step ahead: %v", err)
	}
	if err := f.svc.VerifyTOTP(ctx, Site, u.ID, prev, "::1"); !errors.Is(err, ErrBadCode) {
		t.Fatalf("older code after a newer one: %v", err)
	}
}

func TestTOTPWrongCodesThrottled(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u, secret := enrol(t, f, "alice")
	f.clock.Advance(30 * time.Second)
	right := codeAt(t, secret, f.clock.Now())
	wrong := wrongCode(t, secret, f.clock.Now())
	for range 3 {
		if err := f.svc.VerifyTOTP(ctx, Site, u.ID, wrong, "10.1.1.1"); !errors.Is(err, ErrBadCode) {
			t.Fatal(err)
		}
	}
	// A right password does not reset the second factor's failures.
	if _, err := f.svc.Authenticate(ctx, Site, "alice", goodPassword, "10.1.1.2"); err != nil {
		t.Fatal(err)
	}
	err := f.svc.VerifyTOTP(ctx, Site, u.ID, right, "10.1.1.3")
	var te *ThrottledError
	if !errors.As(err, &te) || te.RetryAfter != time.Second {
		t.Fatalf("fourth code: %v", err)
	}
	f.clock.Advance(time.Second)
	if err := f.svc.VerifyTOTP(ctx, Site, u.ID, right, "10.1.1.3"); err != nil {
		t.Fatal(err)
	}
	// Wrong codes count against the source as wrong passwords do.
	f.mustCreate(t, Site, "carol", RoleTechnician)
	for range 3 {
		f.svc.VerifyTOTP(ctx, Site, u.ID, wrong, "10.9.9.9")
	}
	if _, err := f.svc.Authenticate(ctx, Site, "carol", goodPassword, "10.9.9.9"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("source with wrong codes: %v", err)
	}
}

func TestTOTPConcurrentSameCode(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	u, secret := enrol(t, f, "alice")
	f.clock.Advance(30 * time.Second)
	code := codeAt(t, secret, f.clock.Now())
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f.svc.VerifyTOTP(ctx, Site, u.ID, code, "") })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrBadCode) && !errors.Is(err, ErrThrottled):
			t.Errorf("unexpected: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("code accepted %d times", ok)
	}
}

func TestTOTPDisabledUser(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.mustCreate(t, Site, "admin", RoleAdmin)
	u, secret := enrol(t, f, "alice")
	if err := f.svc.SetDisabled(ctx, Site, u.ID, true); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(30 * time.Second)
	if err := f.svc.VerifyTOTP(ctx, Site, u.ID, codeAt(t, secret, f.clock.Now()), ""); !errors.Is(err, ErrDisabled) {
		t.Fatalf("disabled user: %v", err)
	}
	if err := f.svc.VerifyTOTP(ctx, Site, 99, "123456", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
}
