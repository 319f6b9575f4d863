package qemu_test

import (
	"archive/tar"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/image"
	"github.com/switchboardhq/switchboard/image/bundle"
	"github.com/switchboardhq/switchboard/tools/qemu"
	"github.com/switchboardhq/switchboard/tools/testenv"
)

// Test keys, in the repository (see image/testdata/keys/README.md).
const (
	testKey  = "image/testdata/keys/test-update.key"
	wrongKey = "image/testdata/keys/wrong-update.key"
)

// TestUpdate installs update bundles on a running box, through the serial
// console of a TEST image (image.Profile.TestConsole: root logged in on the
// console; a real box has no shell) that trusts the test key. The bundles
// are on a second virtio disk (ext4, mounted read-only in the guest).
//
//  1. On 0.1.0, a corrupted, an unsigned and a wrong-key bundle are each
//     refused, and the inactive slot (root-b) hashes the same before and
//     after: nothing was written.
//  2. A good 0.2.0 bundle is installed; the box reboots into 0.2.0 from
//     slot B, the trial boot succeeds, and the administrator created on
//     0.1.0 signs in.
//  3. A 0.3.0 bundle whose applianced exits at once is installed with
//     -tries 1 into slot A; its trial boot gives up, records why and
//     reboots, and the box comes back on 0.2.0 by itself, with the failure
//     in `applianced update status`.
func TestUpdate(t *testing.T) {
	qemu.Require(t)
	testenv.RequireCommand(t, "mkfs.ext4")
	missing := image.MissingTools()
	testenv.Require(t, "image build tools", len(missing) == 0, "missing "+strings.Join(missing, ", ")+"; run `make image-deps`")
	if testing.Short() {
		t.Skip("builds three images and boots four times: not with -short")
	}
	repo := moduleRoot(t)
	work := t.TempDir()

	// Builds: 0.1.0 (a disk image), 0.2.0 and 0.3.0 (bundle parts).
	start := time.Now()
	trust := trustOf(t, filepath.Join(repo, testKey))
	v1 := testProfile(repo, work, "0.1.0", trust)
	var log strings.Builder
	if err := image.Run(context.Background(), &v1, image.Options{NoCompress: true}, &log); err != nil {
		t.Fatalf("building the 0.1.0 test image: %v\n%s", err, log.String())
	}
	v2 := testProfile(repo, work, "0.2.0", trust)
	buildParts(t, &v2, "")
	v3 := testProfile(repo, work, "0.3.0", trust)
	broken := filepath.Join(work, "applianced-exits")
	if err := os.WriteFile(broken, []byte("#!/bin/sh\necho 'applianced: TEST build that never becomes healthy' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	buildParts(t, &v3, broken)

	bundles := filepath.Join(work, "bundles")
	if err := os.Mkdir(bundles, 0o755); err != nil {
		t.Fatal(err)
	}
	writeBundle(t, &v2, filepath.Join(repo, testKey), filepath.Join(bundles, "good.bundle"))
	writeBundle(t, &v3, filepath.Join(repo, testKey), filepath.Join(bundles, "broken.bundle"))
	writeBundle(t, &v2, filepath.Join(repo, wrongKey), filepath.Join(bundles, "wrong-key.bundle"))
	copyFile(t, filepath.Join(bundles, "good.bundle"), filepath.Join(bundles, "corrupted.bundle"))
	flipLastPayloadByte(t, filepath.Join(bundles, "corrupted.bundle"))
	copyFile(t, filepath.Join(bundles, "good.bundle"), filepath.Join(bundles, "unsigned.bundle"))
	zeroSignature(t, filepath.Join(bundles, "unsigned.bundle"))
	bundleDisk := filepath.Join(work, "bundles.img")
	var size int64
	entries, _ := os.ReadDir(bundles)
	for _, e := range entries {
		st, _ := os.Stat(filepath.Join(bundles, e.Name()))
		size += st.Size()
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-L", "bundles", "-d", bundles, bundleDisk,
		strconv.FormatInt((size*11/10+64<<20)>>20, 10)+"M").CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v\n%s", err, out)
	}
	t.Logf("measured: building the three test images and five bundles: %s", qemu.Seconds(time.Since(start)))

	m := qemu.New(t, qemu.CopyDisk(t, v1.ImagePath(), work, 6<<30))
	m.ExtraDisks = []string{bundleDisk}
	m.Boot()
	m.WaitFor(readyRe)
	token := m.WaitFor(setupRe)[1]
	c := newClient(t, m)
	c.waitHTTPS()
	c.setupAdmin(token)
	m.Login(0, qemu.BootBudget)
	mustRun(t, m, "mount -o ro /dev/disk/by-id/virtio-extra0 /mnt", time.Minute)
	checkStatus(t, m, "0.1.0", "a")

	t.Run("refused", func(t *testing.T) {
		defer m.In(t)()
		hash := func() string {
			start := time.Now()
			out := mustRun(t, m, "sha256sum /dev/disk/by-partlabel/root-b", 5*time.Minute)
			t.Logf("hashing root-b in the guest: %s", qemu.Seconds(time.Since(start)))
			f := strings.Fields(lastLine(out))
			if len(f) == 0 || len(f[0]) != 64 {
				t.Fatalf("sha256sum of root-b: %q", out)
			}
			return f[0]
		}
		entries := mustRun(t, m, "ls /efi/EFI/Linux", time.Minute)
		before := hash()
		for _, b := range []struct{ name, want string }{
			{"corrupted", "does not match its manifest"},
			{"unsigned", "signature does not match"},
			{"wrong-key", "this build trusts"},
		} {
			out, code := m.Run("applianced update install -no-reboot /mnt/"+b.name+".bundle 2>&1", 5*time.Minute)
			t.Logf("%s bundle: exit %d\n%s", b.name, code, out)
			if code == 0 {
				t.Errorf("the %s bundle was installed", b.name)
			}
			if strings.Contains(out, "writing") {
				t.Errorf("the %s bundle got as far as writing:\n%s", b.name, out)
			}
			if !strings.Contains(strings.ToLower(out), b.want) {
				t.Errorf("refusing the %s bundle, the installer does not mention %q:\n%s", b.name, b.want, out)
			}
		}
		if after := hash(); after != before {
			t.Errorf("root-b changed while refusing bad bundles: sha256 %s, then %s", before, after)
		}
		if now := mustRun(t, m, "ls /efi/EFI/Linux", time.Minute); now != entries {
			t.Errorf("the boot entries changed while refusing bad bundles: %q, then %q", entries, now)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("good", func(t *testing.T) {
		defer m.In(t)()
		mark := m.Mark()
		m.Type("applianced update install /mnt/good.bundle\r")
		m.WaitSince(regexp.MustCompile(`installed 0\.2\.0 into slot b`), mark, 10*time.Minute)
		start := time.Now()
		m.WaitSince(regexp.MustCompile(`switchboard: applianced is ready \(Switchboard 0\.2\.0\)`), mark, 2*qemu.BootBudget)
		t.Logf("measured: reboot into 0.2.0 to READY: %s", qemu.Seconds(time.Since(start)))
		m.WaitSince(regexp.MustCompile(`switchboard: trial boot of 0\.2\.0 succeeded`), mark, qemu.BootBudget)
		if setupRe.MatchString(m.Console().String()[mark:]) {
			t.Errorf("0.2.0 printed a /login setup link: the administrator was lost")
		}
		c := newClient(t, m)
		waitSignIn(t, c)
		m.Login(mark, qemu.BootBudget)
		mustRun(t, m, "mount -o ro /dev/disk/by-id/virtio-extra0 /mnt", time.Minute)
		checkStatus(t, m, "0.2.0", "b")
	})
	if t.Failed() {
		return
	}

	t.Run("unhealthy", func(t *testing.T) {
		defer m.In(t)()
		mark := m.Mark()
		m.Type("applianced update install -tries 1 /mnt/broken.bundle\r")
		m.WaitSince(regexp.MustCompile(`installed 0\.3\.0 into slot a`), mark, 10*time.Minute)
		start := time.Now()
		m.WaitSince(regexp.MustCompile(`switchboard: trial boot of 0\.3\.0 failed \(see /var/lib/switchboard-update/failed-0\.3\.0\.txt\); rebooting`), mark, 2*qemu.BootBudget)
		t.Logf("measured: reboot into 0.3.0 until its trial boot gave up: %s", qemu.Seconds(time.Since(start)))
		m.WaitSince(regexp.MustCompile(`switchboard: applianced is ready \(Switchboard 0\.2\.0\)`), mark, 2*qemu.BootBudget)
		t.Logf("measured: install of 0.3.0 to READY on 0.2.0 again: %s", qemu.Seconds(time.Since(start)))
		c := newClient(t, m)
		waitSignIn(t, c)
		m.Login(mark, qemu.BootBudget)
		out := checkStatus(t, m, "0.2.0", "b")
		if !strings.Contains(out, "update to 0.3.0 failed") || !strings.Contains(out, "not reached within") {
			t.Errorf("`applianced update status` does not show the failed update to 0.3.0:\n%s", out)
		}
		rec := mustRun(t, m, "cat /var/lib/switchboard-update/failed-0.3.0.txt", time.Minute)
		if !strings.Contains(rec, "TEST build that never becomes healthy") {
			t.Errorf("the failure record lacks applianced's last words:\n%s", rec)
		}
	})
	m.PowerOff()
}

// testProfile is the TEST console profile for version in work, trusting
// trust, sharing the base tree cache of `make image`. The root is
// compressed less than a shipped one: the test is about updates.
func testProfile(repo, work, version, trust string) image.Profile {
	p := image.DefaultProfile(version, image.EpochFromGit(repo), repo, filepath.Join(repo, ".cache", "image"), filepath.Join(work, "out"))
	p.TrustedKeys = trust
	p.TestConsole = true
	p.SquashfsLevel = 3
	return p
}

// buildParts builds the root and the UKIs of p (a bundle's payloads), with
// the applianced binary at bin, or the real one when bin is empty.
func buildParts(t *testing.T, p *image.Profile, bin string) {
	t.Helper()
	ctx := context.Background()
	var log strings.Builder
	base, err := image.Prepare(ctx, p, false, &log)
	if err != nil {
		t.Fatalf("prepare: %v\n%s", err, log.String())
	}
	work, err := os.MkdirTemp(p.OutDir, "parts-")
	if err != nil && os.MkdirAll(p.OutDir, 0o755) == nil {
		work, err = os.MkdirTemp(p.OutDir, "parts-")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(work)
	if bin == "" {
		if bin, err = image.BuildApplianced(ctx, p, work); err != nil {
			t.Fatal(err)
		}
	}
	clients, err := image.BuildClients(ctx, p, work)
	if err != nil {
		t.Fatal(err)
	}
	boot, err := image.BuildRoot(ctx, p, base, bin, clients, p.RootPath())
	if err != nil {
		t.Fatal(err)
	}
	if err := image.BuildUKIs(ctx, p, boot, work); err != nil {
		t.Fatal(err)
	}
}

// trustOf is the trusted-key value for the key file, as `mkbundle
// -print-trust` prints it.
func trustOf(t *testing.T, key string) string {
	t.Helper()
	pub, err := bundle.LoadPublicKeyFile(key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(pub)
}

// writeBundle signs p's parts with the key file into out.
func writeBundle(t *testing.T, p *image.Profile, keyFile, out string) {
	t.Helper()
	key, err := bundle.LoadPrivateKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		bundle.NameRoot: p.RootPath(),
		"uki-a.efi":     p.UKIPath("a"),
		"uki-b.efi":     p.UKIPath("b"),
	}
	if err := bundle.Write(f, p.Version, time.Unix(p.SourceDateEpoch, 0), key, files); err != nil {
		t.Fatalf("bundle %s: %v", out, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "--", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
}

// flipLastPayloadByte changes one byte of the last payload (the root
// image), leaving the signed manifest intact: the hash must catch it.
func flipLastPayloadByte(t *testing.T, path string) {
	t.Helper()
	off, size := entryOffset(t, path, bundle.NameRoot)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	pos := off + size/2
	if _, err := f.ReadAt(b, pos); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, pos); err != nil {
		t.Fatal(err)
	}
}

// zeroSignature replaces the manifest's signature with zeros: a bundle
// nobody signed.
func zeroSignature(t *testing.T, path string) {
	t.Helper()
	off, size := entryOffset(t, path, "manifest.sig")
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, size), off); err != nil {
		t.Fatal(err)
	}
}

// entryOffset finds the data of the tar entry name in the bundle at path.
func entryOffset(t *testing.T, path, name string) (int64, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s: no %s entry: %v", path, name, err)
		}
		if h.Name == name {
			// ustar headers without extensions: the data follows the
			// header, which ends where the reader is now.
			off, err := f.Seek(0, io.SeekCurrent)
			if err != nil {
				t.Fatal(err)
			}
			return off, h.Size
		}
	}
}

// mustRun runs a command on the guest's console and fails the test unless
// it exits 0.
func mustRun(t *testing.T, m *qemu.Machine, command string, budget time.Duration) string {
	t.Helper()
	out, code := m.Run(command+" 2>&1", budget)
	if code != 0 {
		t.Fatalf("guest: %s: exit %d\n%s", command, code, out)
	}
	return out
}

// checkStatus runs `applianced update status` and checks the running
// version and slot.
func checkStatus(t *testing.T, m *qemu.Machine, version, slot string) string {
	t.Helper()
	out := mustRun(t, m, "applianced update status", time.Minute)
	t.Logf("applianced update status:\n%s", out)
	want := regexp.MustCompile(`running:\s+` + regexp.QuoteMeta(version) + ` \(slot ` + slot + `\)`)
	if !want.MatchString(out) {
		t.Fatalf("want %s running from slot %s:\n%s", version, slot, out)
	}
	return out
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// waitSignIn signs the administrator in once HTTPS answers (the network may
// still be coming up after a reboot).
func waitSignIn(t *testing.T, c *client) {
	t.Helper()
	deadline := time.Now().Add(qemu.BootBudget)
	for {
		resp, err := c.Get(c.base + "/login")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("HTTPS /login did not answer: %v", err)
		}
		time.Sleep(time.Second)
	}
	c.signIn()
}
