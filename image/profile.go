package image

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Partition type GUIDs (Discoverable Partitions Specification).
const (
	TypeESP       = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
	TypeRootX8664 = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
	TypeLinuxData = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
)

// Partition names (GPT partition labels). The update installer and the
// running system find partitions by these names.
const (
	PartESP   = "esp"
	PartRootA = "root-a"
	PartRootB = "root-b"
	PartData  = "data"
)

// Slots are the two root slots, in partition order.
var Slots = []string{"a", "b"}

// Profile fixes every input of an image build. DefaultProfile fills in the
// appliance's; tests change fields before calling the phases.
type Profile struct {
	// Version is the image version: dotted numbers ("0.1.0"), because
	// systemd-boot orders boot entries by comparing versions.
	Version string
	// SourceDateEpoch is the time every file of the root image carries at
	// most; with the same inputs it gives a byte-identical root image.
	SourceDateEpoch int64

	// Suite and Mirrors are the Debian release and the sources.list lines
	// mmdebstrap installs from.
	Suite   string
	Mirrors []string
	// Packages are installed on top of the minbase variant; Kernel is the
	// kernel package among them.
	Packages []string
	Kernel   string
	// PruneModules are directories under /usr/lib/modules/VERSION/kernel
	// that are removed (with depmod run again): drivers an appliance
	// never uses.
	PruneModules []string
	// EnableUnits and MaskUnits are passed to systemctl enable and mask in
	// the image. Units of rootfs/ are among EnableUnits.
	EnableUnits []string
	MaskUnits   []string
	// Hostname is the image's /etc/hostname.
	Hostname string
	// Squashfs are the tar2sqfs compressor options.
	SquashfsCompressor string
	SquashfsLevel      int

	// ESPMiB, RootMiB (each slot) and DataMiB size the partitions; the data
	// partition grows to the end of the disk on the first boot.
	ESPMiB, RootMiB, DataMiB int64

	// TrustedKeys are the update-signing public keys applianced is linked
	// with: comma-separated standard base64 of raw Ed25519 keys, as
	// `mkbundle -print-trust` prints them. Empty, the box accepts no update.
	TrustedKeys string

	// ClientPlatforms are the builds of the support app (cmd/supportclient)
	// that the root carries in /usr/lib/switchboard/clients, applianced's
	// default clients_dir, as OS-ARCH: applianced hands them to customers
	// (docs/remote-control.md §5).
	ClientPlatforms []string

	// TestConsole makes a TEST image, never one to ship: root is logged in
	// on the serial console without a password (a serial-getty@ttyS0
	// drop-in) so that the QEMU tests can type commands, a trial boot gives
	// up after TestTrialSeconds instead of 120 s, and os-release says
	// VARIANT_ID=test-console. Off by default; only `mkimage -test-console`
	// and the tests set it.
	TestConsole bool

	// RootfsDir is the overlay copied into the image (rootfs/ of the
	// repository); ModuleDir is the Go module that holds cmd/applianced and
	// cmd/supportclient; GoCmd is the go command that builds them.
	RootfsDir string
	ModuleDir string
	GoCmd     string
	// CacheDir keeps downloaded packages and prepared base trees between
	// builds; OutDir receives the image and its parts.
	CacheDir string
	OutDir   string
}

// DefaultProfile returns the appliance's profile for version, built from the
// repository at repo, with the cache and output under cache and out.
func DefaultProfile(version string, epoch int64, repo, cache, out string) Profile {
	return Profile{
		Version:         version,
		SourceDateEpoch: epoch,
		Suite:           "bookworm",
		Mirrors: []string{
			"deb http://deb.debian.org/debian bookworm main",
			"deb http://deb.debian.org/debian bookworm-updates main",
			"deb http://deb.debian.org/debian-security bookworm-security main",
		},
		Packages: []string{
			"systemd", "systemd-sysv", "udev", "dbus", "iproute2",
			"systemd-resolved", "systemd-timesyncd",
			"systemd-boot", "systemd-boot-efi", "initramfs-tools",
			"e2fsprogs", "fdisk", "ca-certificates",
			"linux-image-amd64",
		},
		Kernel: "linux-image-amd64",
		// Sound, cameras and TV cards, Wi-Fi, Bluetooth and desktop GPUs.
		// Server consoles (ast, mgag200) and VM displays (bochs, qxl,
		// virtio-gpu) stay.
		PruneModules: []string{
			"sound",
			"drivers/media",
			"drivers/net/wireless",
			"net/wireless",
			"net/mac80211",
			"drivers/bluetooth",
			"net/bluetooth",
			"drivers/gpu/drm/amd",
			"drivers/gpu/drm/radeon",
			"drivers/gpu/drm/nouveau",
			"drivers/gpu/drm/i915",
			"drivers/staging",
			"drivers/iio",
			"drivers/input/joystick",
			"drivers/input/touchscreen",
			"drivers/isdn",
			"net/nfc",
			"drivers/nfc",
		},
		EnableUnits: []string{
			"systemd-timesyncd.service",
			"applianced.service",
			"switchboard-grow-data.service",
			"switchboard-trial.service",
			"switchboard-ready.service",
			"switchboard-console@tty1.service",
			"switchboard-console@ttyS0.service",
		},
		MaskUnits: []string{
			// Scrubbing needs LVM snapshots; the reaper costs seconds at boot.
			"e2scrub_reap.service", "e2scrub_all.timer",
			// The installer owns the ESP: no silent boot loader updates.
			"systemd-boot-update.service",
			// There is no package management on the box.
			"apt-daily.timer", "apt-daily-upgrade.timer",
			// The console menu takes the screen and the serial port.
			"getty@tty1.service", "serial-getty@ttyS0.service",
		},
		// The platforms applianced offers (platforms in appliance/remote.go).
		ClientPlatforms:    []string{"linux-amd64", "linux-arm64", "windows-amd64", "darwin-arm64"},
		Hostname:           "switchboard",
		SquashfsCompressor: "zstd",
		SquashfsLevel:      9,
		ESPMiB:             256,
		RootMiB:            1536,
		DataMiB:            512,
		RootfsDir:          filepath.Join(repo, "rootfs"),
		ModuleDir:          repo,
		GoCmd:              "go",
		CacheDir:           cache,
		OutDir:             out,
	}
}

var (
	versionRe = regexp.MustCompile(`^[0-9]+(\.[0-9]+){1,3}$`)
	keysRe    = regexp.MustCompile(`^[A-Za-z0-9+/=]+(,[A-Za-z0-9+/=]+)*$`)
	// platformRe is GOOS-GOARCH.
	platformRe = regexp.MustCompile(`^[a-z0-9]+-[a-z0-9]+$`)
)

// clientLdflags are the linker flags of the support app builds: stripped,
// without build ID.
const clientLdflags = "-s -w -buildid="

// trustedKeysVar is the linker symbol that holds applianced's trusted update
// keys (appliance/update).
const trustedKeysVar = "github.com/switchboardhq/switchboard/appliance/update.trustedKeys"

// Ldflags are the linker flags of the image's applianced.
func (p *Profile) Ldflags() string {
	f := "-buildid= -X main.version=" + p.Version
	if p.TrustedKeys != "" {
		f += " -X " + trustedKeysVar + "=" + p.TrustedKeys
	}
	return f
}

// Validate checks the fields that reach file names, command lines and
// mmdebstrap hooks.
func (p *Profile) Validate() error {
	if !versionRe.MatchString(p.Version) {
		return fmt.Errorf("version %q: want dotted numbers such as 0.1.0 (systemd-boot compares versions)", p.Version)
	}
	if p.TrustedKeys != "" && !keysRe.MatchString(p.TrustedKeys) {
		return fmt.Errorf("trusted keys %q: want comma-separated base64 keys", p.TrustedKeys)
	}
	seen := map[string]bool{}
	for _, pl := range p.ClientPlatforms {
		if !platformRe.MatchString(pl) || seen[pl] {
			return fmt.Errorf("support app platform %q: want GOOS-GOARCH such as linux-amd64, each once", pl)
		}
		seen[pl] = true
	}
	if p.SourceDateEpoch <= 0 {
		return fmt.Errorf("SOURCE_DATE_EPOCH %d: want seconds since 1970", p.SourceDateEpoch)
	}
	if p.ESPMiB < 64 || p.RootMiB < 64 || p.DataMiB < 64 {
		return fmt.Errorf("partition sizes %d/%d/%d MiB: each must be at least 64 MiB", p.ESPMiB, p.RootMiB, p.DataMiB)
	}
	for _, d := range []struct{ what, path string }{
		{"rootfs", p.RootfsDir}, {"cache", p.CacheDir}, {"out", p.OutDir},
	} {
		if !filepath.IsAbs(d.path) {
			return fmt.Errorf("%s directory %q: want an absolute path", d.what, d.path)
		}
		// mmdebstrap splits special hooks at white space.
		if strings.ContainsAny(d.path, " \t\n'\"\\$`") {
			return fmt.Errorf("%s directory %q: no spaces, quotes or shell characters, please", d.what, d.path)
		}
	}
	return nil
}

// Name is the image's base name: switchboard-VERSION.
func (p *Profile) Name() string { return "switchboard-" + p.Version }

// ImagePath is the raw disk image; ImagePath()+".zst" is its compressed copy.
func (p *Profile) ImagePath() string { return filepath.Join(p.OutDir, p.Name()+".img") }

// PartsDir holds root.squashfs, uki-a.efi and uki-b.efi, which the update
// bundle is made of.
func (p *Profile) PartsDir() string { return filepath.Join(p.OutDir, p.Name()) }

// RootPath is the squashfs root file system.
func (p *Profile) RootPath() string { return filepath.Join(p.PartsDir(), "root.squashfs") }

// UKIPath is the Unified Kernel Image for slot ("a" or "b").
func (p *Profile) UKIPath(slot string) string {
	return filepath.Join(p.PartsDir(), "uki-"+slot+".efi")
}

// UKIName is the file name of slot's UKI on the ESP, under /EFI/Linux. The
// first image's slot A entry has no boot counter: it is known good. The
// installer adds "+3" to the entries it writes.
func (p *Profile) UKIName(slot string) string { return p.Name() + "-" + slot + ".efi" }

// Cmdline is the kernel command line baked into slot's UKI.
func (p *Profile) Cmdline(slot string) string {
	return "root=PARTLABEL=root-" + slot + " rootfstype=squashfs ro switchboard.slot=" + slot +
		" console=tty0 console=ttyS0,115200 systemd.gpt_auto=0 panic=10"
}

// OSReleaseFields are added to the image's os-release (in the root file
// system and in each UKI's .osrel section), so that systemd-boot sorts the
// entries by version and the running system knows its own version.
func (p *Profile) OSReleaseFields() []string {
	f := []string{"IMAGE_ID=switchboard", "IMAGE_VERSION=" + p.Version}
	if p.TestConsole {
		f = append(f, "VARIANT_ID=test-console", `VARIANT="TEST image: root shell on the serial console"`)
	}
	return f
}

// units is list without the serial port's console menu and the mask of
// its getty on a TestConsole image, whose serial port is a root shell.
func (p *Profile) units(list []string) []string {
	if !p.TestConsole {
		return list
	}
	var out []string
	for _, u := range list {
		if u != "switchboard-console@ttyS0.service" && u != "serial-getty@ttyS0.service" {
			out = append(out, u)
		}
	}
	return out
}

// TestTrialSeconds is how long a trial boot of a TestConsole image waits for
// applianced before it gives up (the production default is 120 s).
const TestTrialSeconds = 45

// testConsoleFiles are the files a TestConsole image adds to the root, with
// their modes; the directories that hold them are created as needed.
func (p *Profile) testConsoleFiles() []struct {
	Name string
	Mode int64
	Body string
} {
	if !p.TestConsole {
		return nil
	}
	return []struct {
		Name string
		Mode int64
		Body string
	}{
		{"etc/systemd/system/serial-getty@ttyS0.service.d/test-console-autologin.conf", 0o644,
			"# TEST image (Profile.TestConsole): root logs in on the serial console\n" +
				"# without a password, for the QEMU tests. Never in a shipped image.\n" +
				"[Service]\nExecStart=\n" +
				"ExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200,57600,38400,9600 %I $TERM\n"},
		{"etc/systemd/system/switchboard-trial.service.d/test-console-budget.conf", 0o644,
			"# TEST image (Profile.TestConsole): shorter trial boots for the QEMU tests.\n" +
				fmt.Sprintf("[Service]\nEnvironment=SWITCHBOARD_TRIAL_SECONDS=%d\n", TestTrialSeconds)},
	}
}

// Part is one partition of the disk layout.
type Part struct {
	Num        int
	Name, Type string
	// Start and Size are in 512-byte sectors.
	Start, Size int64
}

// Offset and Bytes give the partition's place in the disk file.
func (pt Part) Offset() int64 { return pt.Start * 512 }

// Bytes is the partition's size in bytes.
func (pt Part) Bytes() int64 { return pt.Size * 512 }

const mib = 1 << 20

// Layout returns the partitions, 1 MiB aligned, and the size of the disk
// file (with 1 MiB left at the end for the backup GPT).
func (p *Profile) Layout() ([]Part, int64) {
	sizes := []struct {
		name, typ string
		mib       int64
	}{
		{PartESP, TypeESP, p.ESPMiB},
		{PartRootA, TypeRootX8664, p.RootMiB},
		{PartRootB, TypeRootX8664, p.RootMiB},
		{PartData, TypeLinuxData, p.DataMiB},
	}
	var parts []Part
	start := int64(mib / 512)
	for i, s := range sizes {
		n := s.mib * mib / 512
		parts = append(parts, Part{Num: i + 1, Name: s.name, Type: s.typ, Start: start, Size: n})
		start += n
	}
	return parts, start*512 + mib
}

// SfdiskScript is the partition table, as sfdisk reads it.
func (p *Profile) SfdiskScript() string {
	parts, _ := p.Layout()
	var b strings.Builder
	b.WriteString("label: gpt\nunit: sectors\nsector-size: 512\nfirst-lba: 2048\n\n")
	for _, pt := range parts {
		fmt.Fprintf(&b, "start=%d, size=%d, type=%s, name=%q\n", pt.Start, pt.Size, pt.Type, pt.Name)
	}
	return b.String()
}

// MmdebstrapArgs are the arguments of the prepare phase: mode is "unshare"
// or "root", initramfs and overlay are directories holding the initramfs
// files of rootfs/ and all of rootfs/ (normalized), apt is the package cache
// and out the tar to write.
func (p *Profile) MmdebstrapArgs(mode, initramfs, overlay, apt, out string) []string {
	args := []string{
		"--mode=" + mode,
		"--variant=minbase",
		"--format=tar",
		"--include=" + strings.Join(p.Packages, ","),
		// The initrd is made when the kernel is installed: its settings
		// must be there before.
		"--essential-hook=sync-in " + initramfs + " /",
		`--setup-hook=mkdir -p "$1"/var/cache/apt/archives/`,
		"--setup-hook=sync-in " + apt + " /var/cache/apt/archives/",
		"--customize-hook=sync-out /var/cache/apt/archives " + apt,
		"--customize-hook=sync-in " + overlay + " /",
		`--customize-hook=chroot "$1" systemd-sysusers`,
		`--customize-hook=chroot "$1" systemctl enable ` + strings.Join(p.units(p.EnableUnits), " "),
		`--customize-hook=chroot "$1" systemctl mask ` + strings.Join(p.units(p.MaskUnits), " "),
	}
	if len(p.PruneModules) > 0 {
		var rm []string
		for _, m := range p.PruneModules {
			rm = append(rm, `"$d"/kernel/`+m)
		}
		args = append(args, `--customize-hook=for d in "$1"/usr/lib/modules/*; do rm -rf `+strings.Join(rm, " ")+
			`; chroot "$1" depmod -a "${d##*/}"; done`)
	}
	args = append(args,
		`--customize-hook=echo `+p.Hostname+` > "$1"/etc/hostname`,
		// mmdebstrap copies the build host's resolv.conf and hostname; the
		// image has its own name, and the resolver file applianced writes
		// from /appliance/network and its DHCP leases (systemd-networkd
		// and systemd-resolved stay installed but never start).
		`--customize-hook=rm -f "$1"/etc/.resolv.conf.systemd-resolved.bak`,
		`--customize-hook=ln -sfn ../run/applianced/resolv.conf "$1"/etc/resolv.conf`,
		p.Suite, out,
	)
	return append(args, p.Mirrors...)
}

// Expand renders every derived value of the profile as text, with the
// directories replaced by their role; the golden test in testdata/ pins it.
func (p *Profile) Expand() string {
	var b strings.Builder
	fmt.Fprintf(&b, "name: %s\nSOURCE_DATE_EPOCH: %d\n", p.Name(), p.SourceDateEpoch)
	fmt.Fprintf(&b, "image: %s\nimage.zst: %s.zst\n", p.ImagePath(), p.ImagePath())
	fmt.Fprintf(&b, "root: %s\n", p.RootPath())
	for _, s := range Slots {
		fmt.Fprintf(&b, "uki-%s: %s -> ESP /EFI/Linux/%s\n", s, p.UKIPath(s), p.UKIName(s))
		fmt.Fprintf(&b, "cmdline-%s: %s\n", s, p.Cmdline(s))
	}
	fmt.Fprintf(&b, "os-release: %s\n", strings.Join(p.OSReleaseFields(), " "))
	fmt.Fprintf(&b, "applianced ldflags: %s\n", p.Ldflags())
	fmt.Fprintf(&b, "support app ldflags: %s\n", clientLdflags)
	for _, pl := range p.ClientPlatforms {
		goos, goarch, _ := strings.Cut(pl, "-")
		fmt.Fprintf(&b, "support app %s: /%s/%s (%s)\n", pl, clientsPath, clientFile(pl), strings.Join(buildEnv(goos, goarch), " "))
	}
	for _, f := range p.testConsoleFiles() {
		fmt.Fprintf(&b, "TEST console file: /%s\n", f.Name)
	}
	fmt.Fprintf(&b, "squashfs: tar2sqfs %s\n", strings.Join(p.tar2sqfsArgs("ROOT"), " "))
	parts, size := p.Layout()
	fmt.Fprintf(&b, "disk bytes: %d\n", size)
	for _, pt := range parts {
		fmt.Fprintf(&b, "partition %d %s: offset %d bytes %d\n", pt.Num, pt.Name, pt.Offset(), pt.Bytes())
	}
	b.WriteString("sfdisk:\n")
	for _, l := range strings.Split(strings.TrimSpace(p.SfdiskScript()), "\n") {
		b.WriteString("  " + l + "\n")
	}
	b.WriteString("mmdebstrap:\n")
	for _, a := range p.MmdebstrapArgs("unshare", "INITRAMFS", "OVERLAY", "APT", "BASE.tar") {
		b.WriteString("  " + strconv.Quote(a) + "\n")
	}
	return b.String()
}

func (p *Profile) tar2sqfsArgs(out string) []string {
	return []string{
		"--quiet", "--force", "--no-skip",
		"--compressor", p.SquashfsCompressor,
		"--comp-extra", fmt.Sprintf("level=%d", p.SquashfsLevel),
		"--num-jobs", "2",
		"--defaults", fmt.Sprintf("mtime=%d", p.SourceDateEpoch),
		out,
	}
}

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// FallbackEpoch is SOURCE_DATE_EPOCH outside a git checkout.
const FallbackEpoch = 1700000000

// EpochFromGit returns the time of the last commit of the repository at
// repo, as the Makefile's default SOURCE_DATE_EPOCH does, or FallbackEpoch.
func EpochFromGit(repo string) int64 {
	out, err := exec.Command("git", "-C", repo, "log", "-1", "--format=%ct").Output()
	if err != nil {
		return FallbackEpoch
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil || n <= 0 {
		return FallbackEpoch
	}
	return n
}
