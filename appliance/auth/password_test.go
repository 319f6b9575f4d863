package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestHashRoundTrip(t *testing.T) {
	salt := []byte("0123456789abcdef")
	enc, err := encodeHash(cheap, []byte("hunter2 hunter2"), salt)
	if err != nil {
		t.Fatal(err)
	}
	if want := "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"; !strings.HasPrefix(enc, want) {
		t.Fatalf("hash %q, want prefix %q", enc, want)
	}
	h, err := parseHash(enc)
	if err != nil {
		t.Fatal(err)
	}
	if h.Params != cheap || string(h.salt) != string(salt) || len(h.key) != keyLen {
		t.Fatalf("parsed %+v", h)
	}
	if got := formatHash(h); got != enc {
		t.Fatalf("format(parse(x)) = %q, want %q", got, enc)
	}
	for pw, want := range map[string]bool{"hunter2 hunter2": true, "hunter2 hunter3": false, "": false} {
		ok, err := verifyHash(enc, []byte(pw))
		if err != nil || ok != want {
			t.Errorf("verify %q = %v, %v; want %v", pw, ok, err, want)
		}
	}
	other, _ := encodeHash(cheap, []byte("hunter2 hunter2"), []byte("fedcba9876543210"))
	if other == enc {
		t.Fatal("salt does not change the hash")
	}
}

func TestParseHashRejects(t *testing.T) {
	const salt, key = "MDEyMzQ1Njc4OWFiY2RlZg", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"
	good := "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key
	if _, err := parseHash(good); err != nil {
		t.Fatalf("control case: %v", err)
	}
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"garbage", "not a hash"},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"argon2i", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"no leading dollar", "argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key},
		{"old version", "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key},
		{"missing version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"extra field", good + "$x"},
		{"params reordered", "$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key},
		{"param missing", "$argon2id$v=19$m=64,t=1$" + salt + "$" + key},
		{"param extra", "$argon2id$v=19$m=64,t=1,p=1,x=2$" + salt + "$" + key},
		{"memory too big", "$argon2id$v=19$m=262145,t=1,p=1$" + salt + "$" + key},
		{"memory huge", "$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + key},
		{"memory overflow", "$argon2id$v=19$m=4294967296,t=1,p=1$" + salt + "$" + key},
		{"memory below threads", "$argon2id$v=19$m=8,t=1,p=2$" + salt + "$" + key},
		{"time zero", "$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key},
		{"time too big", "$argon2id$v=19$m=64,t=11,p=1$" + salt + "$" + key},
		{"threads zero", "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key},
		{"threads too many", "$argon2id$v=19$m=64,t=1,p=9$" + salt + "$" + key},
		{"threads wrap uint8", "$argon2id$v=19$m=2048,t=1,p=257$" + salt + "$" + key},
		{"negative", "$argon2id$v=19$m=-64,t=1,p=1$" + salt + "$" + key},
		{"plus sign", "$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key},
		{"leading zero", "$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key},
		{"empty number", "$argon2id$v=19$m=,t=1,p=1$" + salt + "$" + key},
		{"salt not base64", "$argon2id$v=19$m=64,t=1,p=1$!!!!$" + key},
		{"salt padded", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "==$" + key},
		{"salt short", "$argon2id$v=19$m=64,t=1,p=1$MDEy$" + key},
		{"salt empty", "$argon2id$v=19$m=64,t=1,p=1$$" + key},
		{"key short", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$MDEy"},
		{"key empty", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$"},
		{"key too long", "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + strings.Repeat("A", 88)},
		{"very long", good + strings.Repeat("A", 1<<16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseHash(tt.in)
			if !errors.Is(err, errHashFormat) {
				t.Fatalf("parseHash(%q) = %v, want errHashFormat", tt.in, err)
			}
			if ok, err := verifyHash(tt.in, []byte("x")); ok || err == nil {
				t.Fatalf("verifyHash accepted %q", tt.in)
			}
		})
	}
}

// FuzzParseHash checks that the parser never panics and accepts only the
// canonical form it writes.
func FuzzParseHash(f *testing.F) {
	enc, _ := encodeHash(cheap, []byte("password"), []byte("0123456789abcdef"))
	for _, s := range []string{enc, "", "$argon2id$v=19$m=64,t=1,p=1$$", "$argon2id$v=19$m=99999999,t=99,p=99$AAAA$AAAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseHash(s)
		if err != nil {
			return
		}
		if got := formatHash(h); got != s {
			t.Fatalf("accepted non-canonical %q (canonical %q)", s, got)
		}
		if h.check() != nil {
			t.Fatalf("accepted out-of-range parameters %+v", h.Params)
		}
	})
}

func TestPasswordPolicy(t *testing.T) {
	tests := []struct {
		pw string
		ok bool
	}{
		{"", false},
		{"short", false},
		{strings.Repeat("a", 11), false},
		{strings.Repeat("a", 12), true},
		{"ünïcödé pässwörd", true},
		{strings.Repeat("a", 256), true},
		{strings.Repeat("a", 257), false},
		{"twelve bytes\xff\xfe", false},
	}
	for _, tt := range tests {
		err := checkPassword(tt.pw)
		if (err == nil) != tt.ok {
			t.Errorf("checkPassword(%q) = %v", tt.pw, err)
		}
		var fe *FieldError
		if err != nil && (!errors.As(err, &fe) || fe.Field != "password" || !errors.Is(err, ErrInvalid)) {
			t.Errorf("checkPassword(%q) = %#v, want a password FieldError", tt.pw, err)
		}
	}
}

// TestHashConcurrencyCap counts the computations inside the semaphore at
// once, holding them there until every caller has arrived or queued.
func TestHashConcurrencyCap(t *testing.T) {
	const limit, callers = 2, 7
	f := newFixture(t, func(c *Config) { c.HashConcurrency = limit })
	var (
		mu        sync.Mutex
		inside    int
		maxInside int
		entered   = make(chan struct{}, callers)
		release   = make(chan struct{})
	)
	f.svc.hashHook = func() {
		mu.Lock()
		inside++
		maxInside = max(maxInside, inside)
		mu.Unlock()
		entered <- struct{}{}
		<-release
		mu.Lock()
		inside--
		mu.Unlock()
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			if _, err := f.svc.hashPassword(ctx, goodPassword); err != nil {
				t.Error(err)
			}
		})
	}
	// Fill every slot; the other callers now wait on the semaphore.
	for range limit {
		<-entered
	}
	// With every slot held, a caller whose context ends gives up.
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := f.svc.hashPassword(cctx, goodPassword)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v", err)
	}
	close(release)
	wg.Wait()
	if maxInside != limit {
		t.Fatalf("at most %d inside at once, want %d", maxInside, limit)
	}
	if len(entered) != callers-limit {
		t.Fatalf("%d callers hashed after the first %d, want %d", len(entered), limit, callers-limit)
	}
}
