package image

import (
	"archive/tar"
	"context"
	"debug/pe"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Paths inside the image that the build reads or changes.
const (
	stubPath      = "usr/lib/systemd/boot/efi/linuxx64.efi.stub"
	sdbootPath    = "usr/lib/systemd/boot/efi/systemd-bootx64.efi"
	osReleasePath = "usr/lib/os-release"
	machineIDPath = "etc/machine-id"
	// MachineIDTarget is where /etc/machine-id points: the data partition,
	// mounted on /var by the initrd (see rootfs/usr/share/initramfs-tools).
	MachineIDTarget = "../var/lib/switchboard/machine-id"
	appliancedPath  = "usr/bin/applianced"
	// clientsPath holds the support app builds: applianced's default
	// clients_dir (appliance/config).
	clientsPath = "usr/lib/switchboard/clients"
)

// Boot holds what the build takes from the base tree for the boot path.
type Boot struct {
	KernelVersion string
	Kernel        []byte // /boot/vmlinuz-*
	Initrd        []byte // /boot/initrd.img-*
	Stub          []byte // linuxx64.efi.stub
	SystemdBoot   []byte // systemd-bootx64.efi
	OSRelease     []byte // the image's os-release, with OSReleaseFields
}

// BuildApplianced builds cmd/applianced for the image into dir and returns
// its path: static, trimmed and without build IDs or VCS stamps, so that the
// same source gives the same bytes, and linked with the version and the
// trusted update keys (Profile.Ldflags).
func BuildApplianced(ctx context.Context, p *Profile, dir string) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "applianced")
	if err := goBuild(ctx, p, "linux", "amd64", p.Ldflags(), out, "./cmd/applianced"); err != nil {
		return "", err
	}
	return out, nil
}

// BuildClients builds the support app (cmd/supportclient) for each of
// p.ClientPlatforms into dir/clients, named as applianced looks them up
// (supportclient-OS-ARCH, .exe for Windows), and returns that directory.
// Like applianced, the builds are static, trimmed and without build IDs or
// VCS stamps; they are also stripped (-s -w) and made for each
// architecture's baseline (GOAMD64=v1, GOARM64=v8.0) whatever the host's
// environment says, so that the same source and Go toolchain give the same
// bytes on any build host. With the Go build cache warm, the four take a
// second or two.
func BuildClients(ctx context.Context, p *Profile, dir string) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "clients")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	for _, pl := range p.ClientPlatforms {
		goos, goarch, _ := strings.Cut(pl, "-")
		if err := goBuild(ctx, p, goos, goarch, clientLdflags, filepath.Join(out, clientFile(pl)), "./cmd/supportclient"); err != nil {
			return "", err
		}
	}
	return out, nil
}

// goBuild builds pkg of p's module for goos/goarch into out, with the
// settings that make the bytes depend only on the source and the toolchain.
func goBuild(ctx context.Context, p *Profile, goos, goarch, ldflags, out, pkg string) error {
	cmd := exec.CommandContext(ctx, p.GoCmd, "build", "-trimpath", "-buildvcs=false",
		"-ldflags", ldflags, "-o", out, pkg)
	cmd.Dir = p.ModuleDir
	cmd.Env = append(os.Environ(), buildEnv(goos, goarch)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s (%s/%s): %v\n%s", pkg, goos, goarch, err, b)
	}
	return nil
}

// buildEnv is the environment goBuild sets on top of the host's: no cgo,
// the target, and the target architecture's baseline instruction set.
func buildEnv(goos, goarch string) []string {
	env := []string{"CGO_ENABLED=0", "GOOS=" + goos, "GOARCH=" + goarch}
	switch goarch {
	case "amd64":
		env = append(env, "GOAMD64=v1")
	case "arm64":
		env = append(env, "GOARM64=v8.0")
	}
	return env
}

// clientFile is the file name of platform's support app build, as
// applianced looks it up (clientFile in appliance/remote.go).
func clientFile(platform string) string {
	if strings.HasPrefix(platform, "windows-") {
		return "supportclient-" + platform + ".exe"
	}
	return "supportclient-" + platform
}

// readClients reads the support app builds of p.ClientPlatforms from dir.
func readClients(p *Profile, dir string) (map[string][]byte, error) {
	clients := map[string][]byte{}
	for _, pl := range p.ClientPlatforms {
		b, err := os.ReadFile(filepath.Join(dir, clientFile(pl)))
		if err != nil {
			return nil, fmt.Errorf("support app for %s: %w", pl, err)
		}
		clients[pl] = b
	}
	return clients, nil
}

// BuildRoot turns the base tar into the squashfs root at out, adding the
// applianced binary at bin and the support app builds in the directory
// clients (BuildClients) under /usr/lib/switchboard/clients, and returns
// the boot files it found in the tar. In the root, /boot and /var are empty
// directories (the kernel lives in the UKIs; /var is the data partition),
// /etc/machine-id points to the data partition, os-release carries the
// image version, and no file is newer than SOURCE_DATE_EPOCH.
func BuildRoot(ctx context.Context, p *Profile, baseTar, bin, clients, out string) (*Boot, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	in, err := os.Open(baseTar)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	appl, err := os.ReadFile(bin)
	if err != nil {
		return nil, err
	}
	cls, err := readClients(p, clients)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, err
	}
	part := out + ".part"
	cmd := exec.CommandContext(ctx, "tar2sqfs", p.tar2sqfsArgs(part)...)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(p.SourceDateEpoch, 10))
	pr, pw := io.Pipe()
	cmd.Stdin = pr
	var stderr tailBuffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("tar2sqfs: %w", err)
	}
	boot, rerr := rewriteTar(in, pw, p, appl, cls)
	pw.CloseWithError(rerr)
	werr := cmd.Wait()
	pr.Close()
	if rerr != nil {
		os.Remove(part)
		return nil, fmt.Errorf("root image: %w", rerr)
	}
	if werr != nil {
		os.Remove(part)
		return nil, fmt.Errorf("tar2sqfs: %v\n%s", werr, stderr.String())
	}
	if err := os.Rename(part, out); err != nil {
		return nil, err
	}
	return boot, nil
}

// rewriteTar copies the base tar to w with the changes BuildRoot describes;
// clients holds the support app build of each of p.ClientPlatforms.
func rewriteTar(r io.Reader, w io.Writer, p *Profile, appl []byte, clients map[string][]byte) (*Boot, error) {
	epoch := time.Unix(p.SourceDateEpoch, 0)
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	boot := &Boot{}
	skipped := map[string]bool{}
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(h.Name, "./"), "/"), "/")
		seen[name] = true
		var body []byte
		if h.Typeflag == tar.TypeReg {
			if body, err = io.ReadAll(tr); err != nil {
				return nil, err
			}
		}
		keep := true
		switch {
		case strings.HasPrefix(name, "boot/"):
			base := strings.TrimPrefix(name, "boot/")
			if v, ok := strings.CutPrefix(base, "vmlinuz-"); ok && h.Typeflag == tar.TypeReg {
				if boot.Kernel != nil {
					return nil, fmt.Errorf("two kernels in /boot: %s and %s", boot.KernelVersion, v)
				}
				boot.KernelVersion, boot.Kernel = v, body
			}
			if strings.HasPrefix(base, "initrd.img-") && h.Typeflag == tar.TypeReg {
				boot.Initrd = body
			}
			keep = false
		case strings.HasPrefix(name, "var/"):
			keep = false
		case name == stubPath:
			boot.Stub = body
		case name == sdbootPath:
			boot.SystemdBoot = body
		case name == machineIDPath:
			h = &tar.Header{Typeflag: tar.TypeSymlink, Name: h.Name, Linkname: MachineIDTarget, Mode: 0o777, ModTime: epoch}
			body = nil
		case name == osReleasePath:
			body = AddOSReleaseFields(body, p.OSReleaseFields())
			h.Size = int64(len(body))
			boot.OSRelease = body
		}
		if !keep {
			skipped[name] = true
			continue
		}
		if h.Typeflag == tar.TypeLink {
			target := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(h.Linkname, "./"), "/"), "/")
			if skipped[target] {
				return nil, fmt.Errorf("%s: hard link to %s, which the root image leaves out", name, target)
			}
		}
		clampHeader(h, epoch)
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if body != nil {
			if _, err := tw.Write(body); err != nil {
				return nil, err
			}
		}
	}
	switch {
	case boot.Kernel == nil || boot.Initrd == nil:
		return nil, errors.New("no /boot/vmlinuz-* and /boot/initrd.img-* in the base tree")
	case boot.Stub == nil || boot.SystemdBoot == nil:
		return nil, errors.New("no systemd-boot EFI binaries in the base tree (packages systemd-boot-efi)")
	case boot.OSRelease == nil:
		return nil, errors.New("no /usr/lib/os-release in the base tree")
	case seen[appliancedPath]:
		return nil, errors.New("the base tree already has /usr/bin/applianced")
	}
	type extraFile struct {
		h    *tar.Header
		body []byte
	}
	extra := []extraFile{
		{&tar.Header{Typeflag: tar.TypeReg, Name: "./" + appliancedPath, Mode: 0o755, Size: int64(len(appl))}, appl},
	}
	if !seen["efi"] {
		// The ESP is mounted here (rootfs/etc/fstab).
		extra = append(extra, extraFile{&tar.Header{Typeflag: tar.TypeDir, Name: "./efi/", Mode: 0o755}, nil})
	}
	// addFile adds a file of the build, and the directories above it that
	// the base tree lacks.
	addFile := func(name string, mode int64, body []byte) error {
		if seen[name] {
			return fmt.Errorf("the base tree already has /%s", name)
		}
		for _, d := range parentDirs(name) {
			if !seen[d] {
				seen[d] = true
				extra = append(extra, extraFile{&tar.Header{Typeflag: tar.TypeDir, Name: "./" + d + "/", Mode: 0o755}, nil})
			}
		}
		seen[name] = true
		extra = append(extra, extraFile{&tar.Header{Typeflag: tar.TypeReg, Name: "./" + name, Mode: mode, Size: int64(len(body))}, body})
		return nil
	}
	for _, pl := range p.ClientPlatforms {
		body, ok := clients[pl]
		if !ok {
			return nil, fmt.Errorf("no support app build for %s", pl)
		}
		if err := addFile(clientsPath+"/"+clientFile(pl), 0o755, body); err != nil {
			return nil, err
		}
	}
	for _, f := range p.testConsoleFiles() {
		if err := addFile(f.Name, f.Mode, []byte(f.Body)); err != nil {
			return nil, err
		}
	}
	for _, e := range extra {
		h := e.h
		h.Uname, h.Gname = "root", "root"
		clampHeader(h, epoch)
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.body); err != nil {
				return nil, err
			}
		}
	}
	return boot, tw.Close()
}

// parentDirs returns the directories above name ("a/b/c" gives "a", "a/b").
func parentDirs(name string) []string {
	var dirs []string
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			dirs = append(dirs, name[:i])
		}
	}
	return dirs
}

// clampHeader clamps a header's times to epoch and drops access and change
// times, as tar --clamp-mtime does.
func clampHeader(h *tar.Header, epoch time.Time) {
	if h.ModTime.IsZero() || h.ModTime.After(epoch) {
		h.ModTime = epoch
	}
	h.ModTime = h.ModTime.Truncate(time.Second)
	h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
	if len(h.PAXRecords) > 0 {
		h.Format = tar.FormatPAX
		for k := range h.PAXRecords {
			if k == "atime" || k == "ctime" || k == "mtime" {
				delete(h.PAXRecords, k)
			}
		}
	}
}

// AddOSReleaseFields returns an os-release file with fields (KEY=value)
// set: a key already there is replaced in place, a new one appended.
func AddOSReleaseFields(osrel []byte, fields []string) []byte {
	lines := strings.Split(strings.TrimRight(string(osrel), "\n"), "\n")
	for _, f := range fields {
		key, _, _ := strings.Cut(f, "=")
		done := false
		for i, l := range lines {
			if strings.HasPrefix(l, key+"=") {
				lines[i], done = f, true
			}
		}
		if !done {
			lines = append(lines, f)
		}
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

// UKIOSRelease is the .osrel section of slot's UKI: the image's os-release
// with VERSION_ID set to the image version (systemd-boot sorts by it) and a
// title that names the version and the slot.
func (p *Profile) UKIOSRelease(osrel []byte, slot string) []byte {
	return AddOSReleaseFields(osrel, []string{
		"VERSION_ID=" + p.Version,
		fmt.Sprintf("PRETTY_NAME=\"Switchboard %s (slot %s)\"", p.Version, strings.ToUpper(slot)),
	})
}

// BuildUKIs writes one Unified Kernel Image per slot: the image's own EFI
// stub with the .osrel, .cmdline, .linux and .initrd sections added by
// objcopy, each at its own address after the stub's last section.
func BuildUKIs(ctx context.Context, p *Profile, boot *Boot, work string) error {
	stub := filepath.Join(work, "linuxx64.efi.stub")
	files := map[string][]byte{"stub": boot.Stub, "linux": boot.Kernel, "initrd": boot.Initrd}
	for _, s := range Slots {
		files["osrel-"+s] = p.UKIOSRelease(boot.OSRelease, s)
		files["cmdline-"+s] = []byte(p.Cmdline(s))
	}
	for name, b := range files {
		path := filepath.Join(work, name)
		if name == "stub" {
			path = stub
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
	}
	base, align, err := stubEnd(stub)
	if err != nil {
		return fmt.Errorf("EFI stub: %w", err)
	}
	for _, s := range Slots {
		sections := []struct{ name, file string }{
			{".osrel", "osrel-" + s},
			{".cmdline", "cmdline-" + s},
			{".linux", "linux"},
			{".initrd", "initrd"},
		}
		args := []string{}
		vma := base
		for _, sec := range sections {
			path := filepath.Join(work, sec.file)
			args = append(args,
				"--add-section", sec.name+"="+path,
				"--change-section-vma", fmt.Sprintf("%s=0x%x", sec.name, vma))
			vma += roundUp(uint64(len(files[sec.file])), align)
		}
		out := p.UKIPath(s)
		part := out + ".part"
		args = append(args, stub, part)
		cmd := exec.CommandContext(ctx, "objcopy", args...)
		if b, err := cmd.CombinedOutput(); err != nil {
			os.Remove(part)
			return fmt.Errorf("objcopy (UKI for slot %s): %v\n%s", s, err, b)
		}
		if err := os.Rename(part, out); err != nil {
			return err
		}
	}
	return nil
}

// stubEnd returns the first free address after the stub's sections
// (image base included, as objcopy wants it) and the section alignment.
func stubEnd(path string) (uint64, uint64, error) {
	f, err := pe.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if !ok {
		return 0, 0, errors.New("not a PE32+ (x86-64) image")
	}
	align := uint64(oh.SectionAlignment)
	if align == 0 {
		align = 4096
	}
	var end uint64
	for _, s := range f.Sections {
		if e := uint64(s.VirtualAddress) + uint64(s.VirtualSize); e > end {
			end = e
		}
	}
	return oh.ImageBase + roundUp(end, align), align, nil
}

func roundUp(n, align uint64) uint64 { return (n + align - 1) / align * align }

// checkUKI reads back a UKI and reports whether it has the four sections.
func checkUKI(path string) error {
	f, err := pe.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	want := map[string]bool{".osrel": false, ".cmdline": false, ".linux": false, ".initrd": false}
	for _, s := range f.Sections {
		if _, ok := want[s.Name]; ok {
			want[s.Name] = true
		}
	}
	var missing []string
	for n, ok := range want {
		if !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s: missing sections %s", path, strings.Join(missing, " "))
	}
	return nil
}
