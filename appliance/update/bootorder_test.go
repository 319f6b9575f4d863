package update

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestVersionCompare(t *testing.T) {
	// Oldest to newest, from systemd's strverscmp_improved documentation.
	order := []string{"122.1", "123~rc1-1", "123", "123-a", "123-a.1", "123-1", "123-1.1", "123^post1", "123.a-1", "123.1-1", "123a-1", "124-1"}
	for i := range order {
		for j := range order {
			want := cmpInt(i, j)
			if got := VersionCompare(order[i], order[j]); got != want {
				t.Errorf("VersionCompare(%q, %q) = %d, want %d", order[i], order[j], got, want)
			}
		}
	}
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1.10.0", "1.9.0", 1}, {"1.2.0", "1.2.0", 0}, {"001.2", "1.2", 0}, {"1.2_0", "1.2.0", 1}, {"291bc17-dirty", "1.0.0", 1},
		{"switchboard-1.2.0-b+3.efi", "switchboard-1.2.0-a.efi", 1}, {"", "", 0}, {"", "1", -1},
	} {
		if got := VersionCompare(c.a, c.b); got != c.want {
			t.Errorf("VersionCompare(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestBootOrder(t *testing.T) {
	names := func(files ...string) []Entry {
		var es []Entry
		for _, f := range files {
			e, ok := ParseEntryName(f)
			if !ok {
				t.Fatalf("bad name %s", f)
			}
			es = append(es, e)
		}
		return es
	}
	for _, c := range []struct{ in, want string }{
		{"switchboard-1.1.0-a.efi switchboard-1.2.0-b+3.efi", "switchboard-1.2.0-b+3.efi switchboard-1.1.0-a.efi"},
		{"switchboard-1.1.0-a.efi switchboard-1.2.0-b+0-3.efi", "switchboard-1.1.0-a.efi switchboard-1.2.0-b+0-3.efi"},
		{"switchboard-1.2.0-a.efi switchboard-1.1.0-b+3.efi", "switchboard-1.2.0-a.efi switchboard-1.1.0-b+3.efi"},
		{"switchboard-1.2.0-a+0-0.efi switchboard-1.1.0-b+3.efi", "switchboard-1.1.0-b+3.efi switchboard-1.2.0-a+0-0.efi"},
		{"switchboard-1.2.0-a+0-0.efi switchboard-1.1.0-b+0-3.efi", "switchboard-1.2.0-a+0-0.efi switchboard-1.1.0-b+0-3.efi"},
		{"switchboard-1.2.0-a.efi switchboard-1.2.0-b+3.efi", "switchboard-1.2.0-b+3.efi switchboard-1.2.0-a.efi"},
		{"switchboard-1.2.0-b+2-1.efi switchboard-1.2.0-b+3.efi", "switchboard-1.2.0-b+3.efi switchboard-1.2.0-b+2-1.efi"},
	} {
		var got []string
		for _, e := range bootOrder(names(strings.Fields(c.in)...)) {
			got = append(got, e.File)
		}
		if strings.Join(got, " ") != c.want {
			t.Errorf("%s: order %v, want %s", c.in, got, c.want)
		}
	}
}

// TestForcedInstallsBootNext checks that a forced install of an older or
// equal version sets the running entry aside only when systemd-boot would
// not try the new one otherwise, and that the fallback still works.
func TestForcedInstallsBootNext(t *testing.T) {
	key := loadKey(t, "test-update")
	for _, c := range []struct {
		name, running, slot, bundle string
		esp                         string // after the install
		aside                       string
	}{
		{"downgrade", "1.2.0", "a", "1.1.0", "switchboard-1.1.0-b+3.efi switchboard-1.2.0-a+0-0.efi", "switchboard-1.2.0-a+0-0.efi"},
		{"reinstall into b", "1.2.0", "a", "1.2.0", "switchboard-1.2.0-a.efi switchboard-1.2.0-b+3.efi", ""},
		{"reinstall into a", "1.2.0", "b", "1.2.0", "switchboard-1.2.0-a+3.efi switchboard-1.2.0-b+0-0.efi", "switchboard-1.2.0-b+0-0.efi"},
		{"over a dev build", "291bc17-dirty", "a", "1.0.0", "switchboard-1.0.0-b+3.efi switchboard-291bc17-dirty-a+0-0.efi", "switchboard-291bc17-dirty-a+0-0.efi"},
		{"upgrade", "1.1.0", "a", "1.2.0", "switchboard-1.1.0-a.efi switchboard-1.2.0-b+3.efi", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBox(t, c.running, c.slot)
			res, err := b.in.Install(context.Background(), saveBundle(t, makeBundle(t, c.bundle, key, newPayload(9))), Options{Force: true, NoReboot: true})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(b.espFiles(), " "); got != c.esp {
				t.Errorf("ESP = %s, want %s", got, c.esp)
			}
			if res.SetAside != c.aside {
				t.Errorf("set aside %q, want %q", res.SetAside, c.aside)
			}
			es, _ := b.in.entries()
			if bootOrder(es)[0].File != res.Entry {
				t.Errorf("%s does not boot first", res.Entry)
			}
			// The new entry runs out of tries: the running system boots again.
			os.Rename(b.path("efi/EFI/Linux/"+res.Entry), b.path("efi/EFI/Linux/switchboard-"+c.bundle+"-"+res.Slot+"+0-3.efi"))
			es, _ = b.in.entries()
			if first := bootOrder(es)[0]; first.Version != c.running || first.Slot != c.slot {
				t.Errorf("after the new entry failed, %s boots first", first.File)
			}
			st, _ := b.in.Status(context.Background())
			if len(st.Failures) != 1 || st.Failures[0].Version != c.bundle {
				t.Errorf("failures = %+v", st.Failures)
			}
		})
	}
}

func FuzzVersionCompare(f *testing.F) {
	f.Add("1.2.0", "1.10.0")
	f.Add("123~rc1-1", "123^post1")
	f.Add("switchboard-1.2.0-b+3.efi", "switchboard-1.2.0-a.efi")
	f.Fuzz(func(t *testing.T, a, b string) {
		if x, y := VersionCompare(a, b), VersionCompare(b, a); x != -y || x < -1 || x > 1 {
			t.Fatalf("VersionCompare(%q, %q) = %d but reversed %d", a, b, x, y)
		}
		if VersionCompare(a, a) != 0 {
			t.Fatalf("%q differs from itself", a)
		}
	})
}
