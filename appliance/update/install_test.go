package update

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/image/bundle"
)

func TestInstallGoodBundle(t *testing.T) {
	for _, c := range []struct {
		running, target, uki string
		tries                int
	}{
		{"a", "b", bundle.NameUKIB, 0},
		{"b", "a", bundle.NameUKIA, 5},
	} {
		t.Run("from slot "+c.running, func(t *testing.T) {
			b := newBox(t, "1.1.0", c.running)
			p := newPayload(1)
			path := saveBundle(t, makeBundle(t, "1.2.0", loadKey(t, "test-update"), p))
			runningPart := b.read("by-partlabel/root-" + c.running)
			phases := map[string][2]int64{}
			var order []string
			res, err := b.in.Install(context.Background(), path, Options{Tries: c.tries, Progress: func(phase string, done, total int64) {
				if _, ok := phases[phase]; !ok {
					order = append(order, phase)
				}
				if done > total || done < phases[phase][0] {
					t.Errorf("%s: progress %d/%d after %d", phase, done, total, phases[phase][0])
				}
				phases[phase] = [2]int64{done, total}
			}})
			if err != nil {
				t.Fatal(err)
			}
			tries := c.tries
			if tries == 0 {
				tries = 3
			}
			entry := "switchboard-1.2.0-" + c.target + "+" + string(rune('0'+tries)) + ".efi"
			if res.Version != "1.2.0" || res.From != "1.1.0" || res.Slot != c.target || res.Entry != entry || len(res.Warnings) > 0 {
				t.Errorf("result = %+v", res)
			}
			if b.reboots != 1 {
				t.Errorf("%d reboots", b.reboots)
			}
			part := b.read("by-partlabel/root-" + c.target)
			if len(part) != partSize || !bytes.Equal(part[:rootSize], p[bundle.NameRoot]) {
				t.Error("the inactive slot does not hold the root image")
			}
			if !bytes.Equal(b.read("by-partlabel/root-"+c.running), runningPart) {
				t.Error("the running slot changed")
			}
			want := []string{"switchboard-1.1.0-" + c.running + ".efi", entry}
			sort.Strings(want)
			if got := b.espFiles(); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("ESP holds %v, want %v", got, want)
			}
			if !bytes.Equal(b.read("efi/EFI/Linux/"+entry), p[c.uki]) {
				t.Errorf("boot entry does not hold %s", c.uki)
			}
			if !bytes.Equal(b.read("efi/EFI/Linux/switchboard-1.1.0-"+c.running+".efi"), []byte("running kernel image")) {
				t.Error("the running entry changed")
			}
			total := int64(3000 + 5000 + rootSize)
			ukiSize := int64(len(p[c.uki]))
			if phases["verifying"] != [2]int64{total, total} || phases["writing slot "+c.target] != [2]int64{rootSize, rootSize} || phases["writing boot entry"] != [2]int64{ukiSize, ukiSize} {
				t.Errorf("progress = %v", phases)
			}
			if strings.Join(order, ",") != "verifying,writing slot "+c.target+",writing boot entry" {
				t.Errorf("phases in order %v", order)
			}
			st, err := b.in.Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(st.History) != 1 || st.History[0].Describe() != "installed 1.2.0 into slot "+c.target+" (was running 1.1.0)" {
				t.Errorf("history = %+v", st.History)
			}
		})
	}
}

func TestInstallRefusesBadBundles(t *testing.T) {
	key := loadKey(t, "test-update")
	p := newPayload(2)
	good := makeBundle(t, "1.2.0", key, p)
	es := splitTar(t, good)
	edit := func(f func([]tarEntry) []tarEntry) []byte {
		return joinTar(t, f(append([]tarEntry(nil), es...)))
	}
	cases := []struct {
		name    string
		data    []byte
		trusted []ed25519.PublicKey
		kind    error
		want    string
	}{
		{"corrupted root image", flip(t, good, p[bundle.NameRoot]), nil, bundle.ErrDamaged, "root.squashfs has the wrong SHA-256"},
		{"corrupted kernel image", flip(t, good, p[bundle.NameUKIA]), nil, bundle.ErrDamaged, "uki-a.efi has the wrong SHA-256"},
		{"truncated", good[:len(good)-20000], nil, bundle.ErrInvalid, "truncated"},
		{"truncated to the manifest", good[:1024], nil, bundle.ErrInvalid, "truncated"},
		{"unsigned", edit(func(c []tarEntry) []tarEntry { return append(c[:1], c[2:]...) }), nil, bundle.ErrInvalid, "is the bundle signed?"},
		{"garbage signature", edit(func(c []tarEntry) []tarEntry { c[1].data = bytes.Repeat([]byte{1}, 64); return c }), nil, bundle.ErrUntrusted, "signature does not match"},
		{"signed with the wrong key", makeBundle(t, "1.2.0", loadKey(t, "wrong-update"), p), nil, bundle.ErrUntrusted, "signed with key " + bundle.KeyID(loadPub(t, "wrong-update")) + "; this build trusts c923f0a53c54f689"},
		{"manifest edited after signing", edit(func(c []tarEntry) []tarEntry {
			c[0].data = bytes.Replace(c[0].data, []byte(`"size":3000`), []byte(`"size":3001`), 1)
			return c
		}), nil, bundle.ErrUntrusted, "signature does not match"},
		{"extra tar entry", edit(func(c []tarEntry) []tarEntry {
			return append(c, tarEntry{c[2].hdr, []byte("#!/bin/sh\nrm -rf /\n")})
		}), nil, bundle.ErrInvalid, `extra entry "uki-a.efi" after root.squashfs`},
		{"extra file", edit(func(c []tarEntry) []tarEntry {
			h := c[2].hdr
			h.Name = "payload.sh"
			return append(c, tarEntry{h, []byte("#!/bin/sh\n")})
		}), nil, bundle.ErrInvalid, `extra entry "payload.sh"`},
		{"dot-dot name", edit(func(c []tarEntry) []tarEntry { c[4].hdr.Name = "../root.squashfs"; return c }), nil, bundle.ErrInvalid, "paths are not allowed"},
		{"not a bundle", []byte("hello\n"), nil, bundle.ErrInvalid, "truncated"},
		{"no trusted key", good, []ed25519.PublicKey{}, ErrNoTrustedKey, "this build trusts no update key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBox(t, "1.1.0", "a")
			if c.trusted != nil {
				b.in.trusted = c.trusted
			}
			before := b.disk()
			_, err := b.in.Install(context.Background(), saveBundle(t, c.data), Options{})
			if !errors.Is(err, c.kind) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant %v containing %q", err, c.kind, c.want)
			}
			if after := b.disk(); after != before {
				t.Errorf("a refused bundle changed the disk:\nbefore\n%s\nafter\n%s", before, after)
			}
			if b.reboots != 0 {
				t.Error("rebooted")
			}
			if _, err := os.Stat(filepath.Join(b.paths.State, historyFile)); !os.IsNotExist(err) {
				t.Error("a refused bundle was recorded")
			}
		})
	}
}

func TestInstallVersions(t *testing.T) {
	key := loadKey(t, "test-update")
	for _, c := range []struct {
		name, running, bundle string
		force                 bool
		want                  string // "" for success
	}{
		{"downgrade", "1.2.0", "1.1.0", false, "downgrade refused: running 1.2.0, bundle 1.1.0; use --force"},
		{"forced downgrade", "1.2.0", "1.1.0", true, ""},
		{"same version", "1.2.0", "1.2.0", false, "1.2.0 is already running; use --force to install it again"},
		{"forced reinstall", "1.2.0", "1.2.0", true, ""},
		{"numeric order", "1.9.0", "1.10.0", false, ""},
		{"running a dev build", "291bc17-dirty", "1.0.0", false, "downgrade refused: running 291bc17-dirty, bundle 1.0.0"},
		{"running a two-part version", "0.9", "0.9.1", false, ""},
		{"running a four-part version", "1.2.0.1", "1.2.0", false, "downgrade refused"},
		{"forced over a dev build", "291bc17-dirty", "1.0.0", true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBox(t, c.running, "a")
			before := b.disk()
			_, err := b.in.Install(context.Background(), saveBundle(t, makeBundle(t, c.bundle, key, newPayload(3))), Options{Force: c.force, NoReboot: true})
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if _, err := os.Stat(b.path("efi/EFI/Linux/switchboard-" + c.bundle + "-b+3.efi")); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrNotNewer) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if b.disk() != before {
				t.Error("a refused install changed the disk")
			}
		})
	}
	if b := newBox(t, "1.1.0", "a"); b.reboots != 0 {
		t.Fatal("reboot counted")
	}
}

func TestInstallRefusesWhenNotReady(t *testing.T) {
	data := makeBundle(t, "1.2.0", loadKey(t, "test-update"), newPayload(4))
	for _, c := range []struct {
		name  string
		setup func(b *box)
		want  string
	}{
		{"running entry still counting", func(b *box) {
			os.Rename(b.path("efi/EFI/Linux/switchboard-1.1.0-a.efi"), b.path("efi/EFI/Linux/switchboard-1.1.0-a+2-1.efi"))
		}, "has not been marked good yet (boot entry switchboard-1.1.0-a+2-1.efi is trying)"},
		{"no running entry", func(b *box) { os.Remove(b.path("efi/EFI/Linux/switchboard-1.1.0-a.efi")) }, "no boot entry for the running system"},
		{"partition too small", func(b *box) { os.Truncate(b.path("by-partlabel/root-b"), rootSize-1) }, "too small for the 102403-byte root image"},
		{"no partition", func(b *box) { os.Remove(b.path("by-partlabel/root-b")) }, "slot b:"},
		{"same device", func(b *box) {
			os.Remove(b.path("by-partlabel/root-b"))
			os.Symlink("root-a", b.path("by-partlabel/root-b"))
		}, "root-a and root-b are the same device"},
		{"not a Switchboard image", func(b *box) { b.write("cmdline", []byte("ro quiet\n")) }, "no switchboard.slot=a or =b"},
		{"no image version", func(b *box) { b.write("os-release", []byte("NAME=Debian\n")) }, "has no IMAGE_VERSION"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBox(t, "1.1.0", "a")
			c.setup(b)
			before := b.disk()
			_, err := b.in.Install(context.Background(), saveBundle(t, data), Options{})
			if !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			if b.disk() != before {
				t.Error("a refused install changed the disk")
			}
		})
	}
	t.Run("forced while counting", func(t *testing.T) {
		b := newBox(t, "1.1.0", "a")
		os.Rename(b.path("efi/EFI/Linux/switchboard-1.1.0-a.efi"), b.path("efi/EFI/Linux/switchboard-1.1.0-a+2-1.efi"))
		if _, err := b.in.Install(context.Background(), saveBundle(t, data), Options{Force: true, NoReboot: true}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestBundleChangedAfterVerification rewrites the bundle file between
// verification and writing: the slot must end unusable with no boot entry.
func TestBundleChangedAfterVerification(t *testing.T) {
	p := newPayload(5)
	good := makeBundle(t, "1.2.0", loadKey(t, "test-update"), p)
	for _, c := range []struct {
		name    string
		change  []byte // content in the bundle to alter
		cancel  bool
		wantErr string
	}{
		{"root image", p[bundle.NameRoot], false, "the bundle changed after it was verified"},
		{"kernel image", p[bundle.NameUKIB], false, "the bundle changed after it was verified"},
		{"cancelled while writing", nil, true, "context canceled"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBox(t, "1.1.0", "a")
			path := saveBundle(t, good)
			rootA := b.read("by-partlabel/root-a")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.in.afterVerify = func() {
				if c.change != nil {
					os.WriteFile(path, flip(t, good, c.change), 0o644)
				}
			}
			opts := Options{Progress: func(phase string, done, total int64) {
				if c.cancel && phase == "writing slot b" && done > 0 {
					cancel()
				}
			}}
			_, err := b.in.Install(ctx, path, opts)
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "the slot was left unusable and the box keeps booting slot a") {
				t.Fatalf("err = %v", err)
			}
			part := b.read("by-partlabel/root-b")
			if !bytes.Equal(part[:headSize], make([]byte, headSize)) {
				t.Error("slot b still has a superblock")
			}
			if got := b.espFiles(); len(got) != 1 || got[0] != "switchboard-1.1.0-a.efi" {
				t.Errorf("ESP holds %v, want only the running entry", got)
			}
			if !bytes.Equal(b.read("by-partlabel/root-a"), rootA) {
				t.Error("the running slot changed")
			}
			if b.reboots != 0 {
				t.Error("rebooted")
			}
			st, _ := b.in.Status(context.Background())
			if len(st.History) != 0 {
				t.Errorf("history = %+v", st.History)
			}
		})
	}
}

func TestInstallIsExclusive(t *testing.T) {
	b := newBox(t, "1.1.0", "a")
	unlock, err := b.in.lock()
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	data := makeBundle(t, "1.2.0", loadKey(t, "test-update"), newPayload(6))
	if _, err := New(b.paths, b.in.trusted, nil).Install(context.Background(), saveBundle(t, data), Options{}); !errors.Is(err, ErrBusy) {
		t.Fatalf("err = %v, want ErrBusy", err)
	}
}

func TestInstallOptions(t *testing.T) {
	b := newBox(t, "1.1.0", "a")
	data := makeBundle(t, "1.2.0", loadKey(t, "test-update"), newPayload(7))
	for _, tries := range []int{-1, MaxTries + 1} {
		if _, err := b.in.Install(context.Background(), saveBundle(t, data), Options{Tries: tries}); err == nil || !strings.Contains(err.Error(), "tries must be") {
			t.Errorf("tries %d: %v", tries, err)
		}
	}
	b.in.reboot = func(context.Context) error { return errors.New("no logind") }
	_, err := b.in.Install(context.Background(), saveBundle(t, data), Options{})
	if err == nil || !strings.Contains(err.Error(), "installed 1.2.0 into slot b, but the reboot failed: no logind; reboot the box") {
		t.Fatalf("err = %v", err)
	}
}
