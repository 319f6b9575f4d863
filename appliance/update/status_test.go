package update

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"strings"
	"testing"
)

func TestStatus(t *testing.T) {
	b := newBox(t, "1.1.0", "a")
	// Slot b held 1.2.0, which ran out of tries; 1.1.5 failed earlier and
	// only its record is left.
	os.Remove(b.path("efi/EFI/Linux/switchboard-1.0.0-b.efi"))
	b.write("efi/EFI/Linux/switchboard-1.2.0-b+0-3.efi", []byte("x"))
	b.write("efi/EFI/Linux/other.efi", []byte("x"))
	b.write("state/failed-1.2.0.txt", []byte("2026-03-01T12:00:00Z entry switchboard-1.2.0-b+1-2.efi\napplianced: store: \x1b[31mboom\n"))
	b.write("state/failed-1.1.5.txt", []byte("watchdog timeout\n"))
	b.write("state/notes.txt", []byte("ignored"))

	st, err := b.in.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != "1.1.0" || st.Slot != "a" || st.Problem != "" {
		t.Errorf("running = %q %q %q", st.Version, st.Slot, st.Problem)
	}
	if !st.TestKeyTrusted || len(st.TrustedKeys) != 1 || st.TrustedKeys[0] != TestKeyID {
		t.Errorf("trusted = %v %v", st.TrustedKeys, st.TestKeyTrusted)
	}
	var entries []string
	for _, e := range st.Entries {
		entries = append(entries, e.File+": "+e.Describe())
	}
	if got, want := strings.Join(entries, "\n"), "switchboard-1.1.0-a.efi: good\nswitchboard-1.2.0-b+0-3.efi: bad: did not become healthy in 3 tries"; got != want {
		t.Errorf("entries:\n%s\nwant\n%s", got, want)
	}
	if len(st.Failures) != 2 {
		t.Fatalf("failures = %+v", st.Failures)
	}
	f := st.Failures[0]
	if f.Summary() != "update to 1.2.0 failed: it did not become healthy in 3 tries" || f.Slot != "b" || !strings.Contains(f.Text, "applianced: store: \uFFFD[31mboom") {
		t.Errorf("failure 0 = %q %+v", f.Summary(), f)
	}
	if st.Failures[1].Summary() != "update to 1.1.5 failed: it did not become healthy" || st.Failures[1].Text != "watchdog timeout" {
		t.Errorf("failure 1 = %+v", st.Failures[1])
	}

	// The next install moves the failure records into the history.
	data := makeBundle(t, "1.2.1", loadKey(t, "test-update"), newPayload(8))
	if _, err := b.in.Install(context.Background(), saveBundle(t, data), Options{NoReboot: true}); err != nil {
		t.Fatal(err)
	}
	st, err = b.in.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Failures) != 0 {
		t.Errorf("failures after an install: %+v", st.Failures)
	}
	var hist []string
	for _, e := range st.History {
		hist = append(hist, e.Describe())
	}
	if got := strings.Join(hist, "; "); !strings.Contains(got, "update to 1.2.0 failed") || !strings.Contains(got, "update to 1.1.5 failed") || !strings.HasSuffix(got, "installed 1.2.1 into slot b (was running 1.1.0)") {
		t.Errorf("history = %s", got)
	}
	if e := st.Entries[1]; e.File != "switchboard-1.2.1-b+3.efi" || e.Describe() != "trying: 3 of 3 tries left" {
		t.Errorf("new entry = %+v", e)
	}
}

func TestStatusOfUnknownSystem(t *testing.T) {
	b := newBox(t, "1.1.0", "a")
	b.write("cmdline", []byte("ro\n"))
	b.in.trusted = nil
	st, err := b.in.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Version != "" || !strings.Contains(st.Problem, "switchboard.slot") || st.TestKeyTrusted || len(st.Entries) != 2 {
		t.Errorf("status = %+v", st)
	}
}

func TestParseEntryName(t *testing.T) {
	for _, c := range []struct {
		name string
		want Entry
		ok   bool
	}{
		{"switchboard-1.2.0-a.efi", Entry{Version: "1.2.0", Slot: "a", State: Good}, true},
		{"switchboard-1.2.0-b+3.efi", Entry{Version: "1.2.0", Slot: "b", State: Trying, TriesLeft: 3}, true},
		{"switchboard-1.2.0-b+2-1.efi", Entry{Version: "1.2.0", Slot: "b", State: Trying, TriesLeft: 2, TriesDone: 1}, true},
		{"switchboard-1.2.0-b+0-3.efi", Entry{Version: "1.2.0", Slot: "b", State: Bad, TriesDone: 3}, true},
		{"switchboard-291bc17-dirty-a.efi", Entry{Version: "291bc17-dirty", Slot: "a", State: Good}, true},
		{"switchboard-1.2.0-c.efi", Entry{}, false},
		{"switchboard--a.efi", Entry{}, false},
		{"switchboard-a.efi", Entry{}, false},
		{"switchboard-1.2.0-a+x.efi", Entry{}, false},
		{"switchboard-1.2.0-a+.efi", Entry{}, false},
		{"switchboard-1.2.0-a+1-.efi", Entry{}, false},
		{"switchboard-1.2.0-a.efi.tmp", Entry{}, false},
		{"debian-6.1.0.efi", Entry{}, false},
	} {
		got, ok := ParseEntryName(c.name)
		if ok != c.ok {
			t.Errorf("%s: ok = %v", c.name, ok)
			continue
		}
		if ok {
			c.want.File = c.name
			if got != c.want {
				t.Errorf("%s = %+v, want %+v", c.name, got, c.want)
			}
		}
	}
}

func TestParseTrustedKeys(t *testing.T) {
	pub := loadPub(t, "test-update")
	wrong := loadPub(t, "wrong-update")
	enc := base64.StdEncoding.EncodeToString
	keys, err := ParseTrustedKeys(enc(pub) + ", " + enc(wrong))
	if err != nil || len(keys) != 2 || !keys[0].Equal(pub) || !keys[1].Equal(wrong) {
		t.Fatalf("keys = %v, %v", keys, err)
	}
	if keys, err := ParseTrustedKeys(""); err != nil || len(keys) != 0 {
		t.Fatalf("empty: %v, %v", keys, err)
	}
	for _, bad := range []string{"nope", enc(pub[:31]), enc(append(ed25519.PublicKey(nil), append(pub, 0)...))} {
		if _, err := ParseTrustedKeys(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	// This test binary is linked without -X, so it trusts nothing.
	if keys, err := TrustedKeys(); err != nil || len(keys) != 0 {
		t.Errorf("TrustedKeys = %v, %v", keys, err)
	}
	if got := KeyIDs([]ed25519.PublicKey{pub}); got[0] != TestKeyID {
		t.Errorf("test key id = %s, want %s", got[0], TestKeyID)
	}
}

func TestSlotAndVersion(t *testing.T) {
	for cmdline, want := range map[string]string{
		"ro switchboard.slot=a":                        "a",
		"switchboard.slot=a quiet switchboard.slot=b ": "b",
		"switchboard.slot=c":                           "",
		"switchboard.slotx=a":                          "",
	} {
		got, ok := SlotFromCmdline(cmdline)
		if (want != "") != ok || ok && got != want {
			t.Errorf("%q: %q %v", cmdline, got, ok)
		}
	}
	for data, want := range map[string]string{
		"IMAGE_VERSION=1.2.3\n":               "1.2.3",
		"A=b\nIMAGE_VERSION=\"1.2.3\"\n":      "1.2.3",
		"IMAGE_VERSION='1.2.3'":               "1.2.3",
		"NAME=x\n":                            "",
		"  IMAGE_VERSION=1.0.0  \nVERSION=12": "1.0.0",
	} {
		if got := osReleaseField([]byte(data), "IMAGE_VERSION"); got != want {
			t.Errorf("%q: %q", data, got)
		}
	}
}

func FuzzParseEntryName(f *testing.F) {
	for _, s := range []string{"switchboard-1.2.0-a.efi", "switchboard-1.2.0-b+0-3.efi", "switchboard-x-a+1-2.efi", "switchboard--b+9999.efi"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		e, ok := ParseEntryName(name)
		if !ok {
			return
		}
		if e.File != name || e.Slot != "a" && e.Slot != "b" || e.Version == "" || e.TriesLeft < 0 || e.TriesDone < 0 {
			t.Fatalf("%q parsed as %+v", name, e)
		}
		if e.State == Trying && e.TriesDone == 0 {
			if again, ok := ParseEntryName(entryName(e.Version, e.Slot, e.TriesLeft)); !ok || again.Version != e.Version || again.TriesLeft != e.TriesLeft {
				t.Fatalf("%q does not round-trip: %+v", name, again)
			}
		}
	})
}

func FuzzParseTrustedKeys(f *testing.F) {
	f.Add("JCUzvaj8jsMwRWx0wSawn1s7Mqugz5ACdlk+4MG0/go=")
	f.Add("JCUzvaj8jsMwRWx0wSawn1s7Mqugz5ACdlk+4MG0/go=,I5COr7uvbyNLhTxwGMKfHVXNeMuGvS3+sI9MydVwvDI=")
	f.Add(",,")
	f.Add("not base64!")
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := ParseTrustedKeys(s)
		if err != nil {
			return
		}
		for _, k := range keys {
			if len(k) != ed25519.PublicKeySize {
				t.Fatalf("key of %d bytes from %q", len(k), s)
			}
		}
	})
}
