package image

import (
	"archive/tar"
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestProfileGolden pins every derived value of the default profile: output
// paths, kernel command lines, os-release fields, the partition table and
// the mmdebstrap arguments. Refresh with go test ./image -run Golden -update.
func TestProfileGolden(t *testing.T) {
	cases := []struct {
		name string
		p    Profile
	}{
		{"default", DefaultProfile("0.1.0", 1700000000, "/REPO", "/CACHE", "/OUT")},
		{"version-2", func() Profile {
			p := DefaultProfile("2.10.3", 1800000000, "/REPO", "/CACHE", "/OUT")
			p.TrustedKeys = "yVCf2JKNs5vqjvn3ce37LSU/8k9+vuFcR3Ji9kNrYZ0="
			return p
		}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.p.Validate(); err != nil {
				t.Fatal(err)
			}
			got := c.p.Expand()
			path := filepath.Join("testdata", "profile-"+c.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("profile expansion differs from %s (run with -update if intended):\n%s", path, got)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	good := DefaultProfile("0.1.0", 1700000000, "/r", "/c", "/o")
	for _, c := range []struct {
		name   string
		change func(*Profile)
		want   string
	}{
		{"git describe", func(p *Profile) { p.Version = "291bc17-dirty" }, "dotted numbers"},
		{"dev", func(p *Profile) { p.Version = "0.0.0-dev" }, "dotted numbers"},
		{"one number", func(p *Profile) { p.Version = "1" }, "dotted numbers"},
		{"no epoch", func(p *Profile) { p.SourceDateEpoch = 0 }, "SOURCE_DATE_EPOCH"},
		{"relative cache", func(p *Profile) { p.CacheDir = "cache" }, "absolute"},
		{"space", func(p *Profile) { p.OutDir = "/my out" }, "no spaces"},
		{"quote", func(p *Profile) { p.RootfsDir = "/r'x" }, "no spaces"},
		{"tiny root", func(p *Profile) { p.RootMiB = 10 }, "at least 64"},
		{"keys with a space", func(p *Profile) { p.TrustedKeys = "abc= -X main.x=y" }, "base64"},
		{"platform path", func(p *Profile) { p.ClientPlatforms = []string{"../linux-amd64"} }, "GOOS-GOARCH"},
		{"platform twice", func(p *Profile) { p.ClientPlatforms = []string{"linux-amd64", "linux-amd64"} }, "GOOS-GOARCH"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := good
			c.change(&p)
			err := p.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate() = %v, want an error with %q", err, c.want)
			}
		})
	}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestLayoutAligned(t *testing.T) {
	p := DefaultProfile("0.1.0", 1700000000, "/r", "/c", "/o")
	parts, size := p.Layout()
	names := []string{PartESP, PartRootA, PartRootB, PartData}
	end := int64(0)
	for i, pt := range parts {
		if pt.Name != names[i] || pt.Num != i+1 {
			t.Errorf("partition %d is %d %s, want %d %s", i, pt.Num, pt.Name, i+1, names[i])
		}
		if pt.Offset()%mib != 0 || pt.Bytes()%mib != 0 {
			t.Errorf("%s is not 1 MiB aligned: offset %d size %d", pt.Name, pt.Offset(), pt.Bytes())
		}
		if pt.Offset() < end {
			t.Errorf("%s overlaps the partition before it", pt.Name)
		}
		end = pt.Offset() + pt.Bytes()
	}
	if size-end < 33*512 {
		t.Errorf("no room for the backup GPT: disk %d, last partition ends at %d", size, end)
	}
}

func TestAddOSReleaseFields(t *testing.T) {
	in := "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\nID=debian\n"
	got := string(AddOSReleaseFields([]byte(in), []string{"VERSION_ID=0.1.0", "IMAGE_ID=switchboard"}))
	want := "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=0.1.0\nID=debian\nIMAGE_ID=switchboard\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// fakeClients are stand-ins for the support app builds of p.
func fakeClients(p *Profile) map[string][]byte {
	m := map[string][]byte{}
	for _, pl := range p.ClientPlatforms {
		m[pl] = []byte("client " + pl)
	}
	return m
}

// TestRewriteTar runs the root-image rewrite on a small tree: /boot and
// /var are emptied (and the kernel and initrd kept for the UKI), the
// machine ID becomes a link to the data partition, os-release gains the
// image fields, applianced, the support app builds and /efi are added,
// owned by root, and no time is later than SOURCE_DATE_EPOCH.
func TestRewriteTar(t *testing.T) {
	p := DefaultProfile("0.1.0", 1700000000, "/r", "/c", "/o")
	epoch := time.Unix(p.SourceDateEpoch, 0)
	late := epoch.Add(time.Hour)
	var in bytes.Buffer
	tw := tar.NewWriter(&in)
	add := func(name string, typ byte, body string) {
		h := &tar.Header{Name: name, Typeflag: typ, Mode: 0o644, Size: int64(len(body)), ModTime: late}
		if typ == tar.TypeDir {
			h.Mode, h.Size = 0o755, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		io.WriteString(tw, body)
	}
	add("./", tar.TypeDir, "")
	add("./boot/", tar.TypeDir, "")
	add("./boot/vmlinuz-6.1.0-1-amd64", tar.TypeReg, "kernel")
	add("./boot/initrd.img-6.1.0-1-amd64", tar.TypeReg, "initrd")
	add("./boot/config-6.1.0-1-amd64", tar.TypeReg, "config")
	add("./etc/", tar.TypeDir, "")
	add("./etc/machine-id", tar.TypeReg, "")
	add("./usr/", tar.TypeDir, "")
	add("./usr/lib/", tar.TypeDir, "")
	add("./usr/lib/os-release", tar.TypeReg, "ID=debian\n")
	add("./"+stubPath, tar.TypeReg, "stub")
	add("./"+sdbootPath, tar.TypeReg, "sd-boot")
	add("./var/", tar.TypeDir, "")
	add("./var/lib/dpkg/status", tar.TypeReg, "status")
	tw.Close()

	var out bytes.Buffer
	boot, err := rewriteTar(&in, &out, &p, []byte("binary"), fakeClients(&p))
	if err != nil {
		t.Fatal(err)
	}
	if string(boot.Kernel) != "kernel" || string(boot.Initrd) != "initrd" || boot.KernelVersion != "6.1.0-1-amd64" ||
		string(boot.Stub) != "stub" || string(boot.SystemdBoot) != "sd-boot" {
		t.Errorf("boot files: %+v", boot)
	}
	got := map[string]string{}
	headers := map[string]*tar.Header{}
	tr := tar.NewReader(&out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.ModTime.After(epoch) {
			t.Errorf("%s dated %v, after SOURCE_DATE_EPOCH", h.Name, h.ModTime)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = string(b)
		headers[h.Name] = h
		if h.Typeflag == tar.TypeSymlink {
			got[h.Name] = "-> " + h.Linkname
		}
	}
	want := map[string]string{
		"./": "", "./boot/": "", "./etc/": "", "./var/": "", "./usr/": "", "./usr/lib/": "",
		"./etc/machine-id":     "-> " + MachineIDTarget,
		"./usr/lib/os-release": "ID=debian\nIMAGE_ID=switchboard\nIMAGE_VERSION=0.1.0\n",
		"./" + stubPath:        "stub",
		"./" + sdbootPath:      "sd-boot",
		"./usr/bin/applianced": "binary",
		"./efi/":               "",
		// The support app, where applianced's default clients_dir is.
		"./usr/lib/switchboard/":                                        "",
		"./usr/lib/switchboard/clients/":                                "",
		"./usr/lib/switchboard/clients/supportclient-linux-amd64":       "client linux-amd64",
		"./usr/lib/switchboard/clients/supportclient-linux-arm64":       "client linux-arm64",
		"./usr/lib/switchboard/clients/supportclient-windows-amd64.exe": "client windows-amd64",
		"./usr/lib/switchboard/clients/supportclient-darwin-arm64":      "client darwin-arm64",
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %q (present %v), want %q", k, g, ok, v)
		}
	}
	// What the build adds is root's, executable where it is a program.
	for _, k := range []string{
		"./usr/bin/applianced", "./usr/lib/switchboard/", "./usr/lib/switchboard/clients/",
		"./usr/lib/switchboard/clients/supportclient-linux-amd64",
		"./usr/lib/switchboard/clients/supportclient-windows-amd64.exe",
	} {
		if h := headers[k]; h == nil || h.Mode != 0o755 || h.Uid != 0 || h.Gid != 0 || h.Uname != "root" || h.Gname != "root" || !h.ModTime.Equal(epoch) {
			t.Errorf("%s: header %+v, want mode 755, owned by root, dated SOURCE_DATE_EPOCH", k, h)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected entry %s in the root image", k)
		}
	}
}

// TestRewriteTarRefuses checks that a root is not made without a support
// app build, or over one the base tree already has.
func TestRewriteTarRefuses(t *testing.T) {
	p := DefaultProfile("0.1.0", 1700000000, "/r", "/c", "/o")
	for _, c := range []struct {
		name    string
		clients func(map[string][]byte)
		base    string
		want    string
	}{
		{"missing build", func(m map[string][]byte) { delete(m, "darwin-arm64") }, "", "no support app build for darwin-arm64"},
		{"in the base tree", func(map[string][]byte) {}, "./usr/lib/switchboard/clients/supportclient-linux-arm64", "already has"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var in bytes.Buffer
			tw := tar.NewWriter(&in)
			files := []struct{ name, body string }{
				{"./boot/vmlinuz-6.1.0-1-amd64", "kernel"}, {"./boot/initrd.img-6.1.0-1-amd64", "initrd"},
				{"./usr/lib/os-release", "ID=debian\n"}, {"./" + stubPath, "stub"}, {"./" + sdbootPath, "sd-boot"},
			}
			if c.base != "" {
				files = append(files, struct{ name, body string }{c.base, "old"})
			}
			for _, f := range files {
				tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.body))})
				io.WriteString(tw, f.body)
			}
			tw.Close()
			clients := fakeClients(&p)
			c.clients(clients)
			_, err := rewriteTar(&in, io.Discard, &p, []byte("binary"), clients)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("rewriteTar = %v, want an error with %q", err, c.want)
			}
		})
	}
}

// TestStageOverlayNormalizes checks that the overlay copied into the image
// does not depend on the checkout's permissions.
func TestStageOverlayNormalizes(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "etc/x"), 0o700)
	os.WriteFile(filepath.Join(src, "etc/x/conf"), []byte("a"), 0o600)
	os.WriteFile(filepath.Join(src, "etc/x/tool"), []byte("b"), 0o700)
	os.MkdirAll(filepath.Join(src, "etc/initramfs-tools/conf.d"), 0o755)
	os.WriteFile(filepath.Join(src, "etc/initramfs-tools/conf.d/c"), []byte("c"), 0o644)
	os.WriteFile(filepath.Join(src, "README.md"), []byte("doc"), 0o644)
	dst := t.TempDir()
	files, err := stageOverlay(src, filepath.Join(dst, "o"), filepath.Join(dst, "i"), 1700000000)
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]os.FileMode{
		"o/etc/x": os.ModeDir | 0o755, "o/etc/x/conf": 0o644, "o/etc/x/tool": 0o755,
		"i/etc/initramfs-tools/conf.d/c": 0o644,
	}
	for rel, want := range modes {
		st, err := os.Lstat(filepath.Join(dst, rel))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode() != want {
			t.Errorf("%s: mode %v, want %v", rel, st.Mode(), want)
		}
		if st.ModTime().Unix() != 1700000000 {
			t.Errorf("%s: time %v", rel, st.ModTime())
		}
	}
	for _, absent := range []string{"o/README.md", "i/etc/x"} {
		if _, err := os.Lstat(filepath.Join(dst, absent)); err == nil {
			t.Errorf("%s should not be staged", absent)
		}
	}
	k1 := baseKey(&Profile{SourceDateEpoch: 1}, files)
	k2 := baseKey(&Profile{SourceDateEpoch: 2}, files)
	if k1 == k2 {
		t.Error("the base tree's cache key ignores SOURCE_DATE_EPOCH")
	}
}

// TestTestConsole checks that only a TestConsole profile adds the serial
// autologin and the short trial budget, and says so in os-release.
func TestTestConsole(t *testing.T) {
	p := DefaultProfile("0.1.0", 1700000000, "/r", "/c", "/o")
	if p.TestConsole || len(p.testConsoleFiles()) != 0 || strings.Contains(p.Expand(), "TEST") {
		t.Fatalf("the default profile is a TEST console image")
	}
	units := func() string {
		var out []string
		for _, a := range p.MmdebstrapArgs("unshare", "I", "O", "A", "B.tar") {
			if strings.Contains(a, "systemctl enable") || strings.Contains(a, "systemctl mask") {
				out = append(out, a)
			}
		}
		return strings.Join(out, "\n")
	}
	if x := units(); !strings.Contains(x, "switchboard-console@ttyS0.service") || !strings.Contains(x, "serial-getty@ttyS0.service") {
		t.Errorf("the default profile does not put the console menu on the serial port")
	}
	p.TestConsole = true
	// The serial port stays the tests' root shell.
	if x := units(); strings.Contains(x, "switchboard-console@ttyS0.service") || strings.Contains(x, "serial-getty@ttyS0.service") {
		t.Errorf("a TEST console image puts the menu on the serial port or masks its getty")
	}
	var in bytes.Buffer
	tw := tar.NewWriter(&in)
	for _, f := range []struct{ name, body string }{
		{"./boot/vmlinuz-6.1.0-1-amd64", "kernel"}, {"./boot/initrd.img-6.1.0-1-amd64", "initrd"},
		{"./usr/lib/os-release", "ID=debian\n"}, {"./" + stubPath, "stub"}, {"./" + sdbootPath, "sd-boot"},
		{"./etc/systemd/system/applianced.service", "unit"},
	} {
		tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.body))})
		io.WriteString(tw, f.body)
	}
	tw.Close()
	var out bytes.Buffer
	if _, err := rewriteTar(&in, &out, &p, []byte("binary"), fakeClients(&p)); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	tr := tar.NewReader(&out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = string(b)
	}
	for _, want := range []string{
		"./etc/systemd/system/serial-getty@ttyS0.service.d/",
		"./etc/systemd/system/switchboard-trial.service.d/",
	} {
		if _, ok := got[want]; !ok {
			t.Errorf("no directory %s", want)
		}
	}
	if g := got["./etc/systemd/system/serial-getty@ttyS0.service.d/test-console-autologin.conf"]; !strings.Contains(g, "--autologin root") {
		t.Errorf("autologin drop-in: %q", g)
	}
	if g := got["./etc/systemd/system/switchboard-trial.service.d/test-console-budget.conf"]; !strings.Contains(g, "SWITCHBOARD_TRIAL_SECONDS=45") {
		t.Errorf("trial drop-in: %q", g)
	}
	if g := got["./usr/lib/os-release"]; !strings.Contains(g, "VARIANT_ID=test-console") {
		t.Errorf("os-release: %q", g)
	}
}
