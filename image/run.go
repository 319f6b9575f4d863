package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Tools are the host programs a build runs, each with the Debian package
// that has it (the Makefile's IMAGE_PACKAGES installs them).
var Tools = []struct{ Name, Package string }{
	{"mmdebstrap", "mmdebstrap"},
	{"newuidmap", "uidmap"},
	{"tar2sqfs", "squashfs-tools-ng"},
	{"objcopy", "binutils"},
	{"sfdisk", "fdisk"},
	{"mkfs.vfat", "dosfstools"},
	{"mmd", "mtools"},
	{"mcopy", "mtools"},
	{"mkfs.ext4", "e2fsprogs"},
	{"zstd", "zstd"},
}

// MissingTools names the tools of Tools that are not on PATH, with their
// packages. newuidmap is optional (without it mmdebstrap runs as root).
func MissingTools() []string {
	var missing []string
	for _, t := range Tools {
		if t.Name == "newuidmap" {
			continue
		}
		if _, err := exec.LookPath(t.Name); err != nil {
			missing = append(missing, t.Name+" (package "+t.Package+")")
		}
	}
	return missing
}

// Options tune Run.
type Options struct {
	// Fresh runs mmdebstrap even when a base tree made from the same
	// inputs is cached.
	Fresh bool
	// NoCompress skips the .img.zst.
	NoCompress bool
}

// Run builds the whole image: it prepares the base tree, builds applianced,
// the support app, the root and the UKIs, writes the disk image and
// compresses it, printing each step, its time and the total to log.
func Run(ctx context.Context, p *Profile, opts Options, log io.Writer) error {
	start := time.Now()
	if err := p.Validate(); err != nil {
		return err
	}
	if m := MissingTools(); len(m) > 0 {
		return fmt.Errorf("missing build tools: %s (make image installs them)", strings.Join(m, ", "))
	}
	for _, d := range []string{p.CacheDir, p.PartsDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	work, err := os.MkdirTemp(p.CacheDir, "build-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)

	fmt.Fprintf(log, "image %s (SOURCE_DATE_EPOCH=%d)\n", p.Name(), p.SourceDateEpoch)
	var (
		base    string
		bin     string
		clients string
		boot    *Boot
	)
	steps := []struct {
		name string
		do   func() error
	}{
		{"prepare: Debian base tree (mmdebstrap)", func() (err error) {
			base, err = Prepare(ctx, p, opts.Fresh, log)
			return err
		}},
		{"build: applianced", func() (err error) {
			bin, err = BuildApplianced(ctx, p, work)
			return err
		}},
		{fmt.Sprintf("build: support app (%s)", strings.Join(p.ClientPlatforms, ", ")), func() (err error) {
			clients, err = BuildClients(ctx, p, work)
			return err
		}},
		{"build: root file system (squashfs)", func() (err error) {
			boot, err = BuildRoot(ctx, p, base, bin, clients, p.RootPath())
			return err
		}},
		{"build: kernel images for slots A and B (UKI)", func() error {
			if err := BuildUKIs(ctx, p, boot, work); err != nil {
				return err
			}
			for _, s := range Slots {
				if err := checkUKI(p.UKIPath(s)); err != nil {
					return err
				}
			}
			return nil
		}},
		{"write: disk image", func() error { return WriteDisk(ctx, p, boot, work) }},
		{"write: zstd", func() error {
			if opts.NoCompress {
				fmt.Fprintf(log, "    skipped\n")
				return nil
			}
			return Compress(ctx, p)
		}},
	}
	for i, s := range steps {
		t := time.Now()
		fmt.Fprintf(log, "[%d/%d] %s\n", i+1, len(steps), s.name)
		if err := s.do(); err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		fmt.Fprintf(log, "      done in %.1fs\n", time.Since(t).Seconds())
	}
	fmt.Fprintf(log, "kernel %s, initrd %s, root %s\n", boot.KernelVersion, sizeOf(nil, boot.Initrd), sizeOf([]string{p.RootPath()}, nil))
	outs := []string{p.ImagePath(), p.RootPath(), p.UKIPath("a"), p.UKIPath("b")}
	if !opts.NoCompress {
		outs = append(outs[:1], append([]string{p.ImagePath() + ".zst"}, outs[1:]...)...)
	}
	for _, o := range outs {
		fmt.Fprintf(log, "  %-10s %s\n", sizeOf([]string{o}, nil), rel(o))
	}
	fmt.Fprintf(log, "image %s built in %.1fs\n", p.Name(), time.Since(start).Seconds())
	return nil
}

func sizeOf(files []string, b []byte) string {
	n := int64(len(b))
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/mib)
}

func rel(path string) string {
	if wd, err := os.Getwd(); err == nil {
		if r, err := filepath.Rel(wd, path); err == nil && !strings.HasPrefix(r, "..") {
			return r
		}
	}
	return path
}
