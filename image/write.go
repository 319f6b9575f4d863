package image

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// LoaderConf is the ESP's /loader/loader.conf: no menu (hold a key at boot
// to see it), the firmware's console mode, and no editing of the kernel
// command line at the console.
const LoaderConf = "timeout 0\nconsole-mode keep\neditor no\n"

// WriteDisk lays out the disk image at p.ImagePath(): the GPT, the ESP with
// systemd-boot, loader.conf and slot A's UKI, the root in slot A, slot B
// empty, and an empty ext4 data partition labelled "data". work is a
// scratch directory.
func WriteDisk(ctx context.Context, p *Profile, boot *Boot, work string) error {
	parts, size := p.Layout()
	esp := filepath.Join(work, "esp.img")
	if err := makeESP(ctx, p, boot, esp, parts[0].Bytes()); err != nil {
		return fmt.Errorf("ESP: %w", err)
	}
	data := filepath.Join(work, "data.img")
	if err := makeData(ctx, data, parts[3].Bytes()); err != nil {
		return fmt.Errorf("data partition: %w", err)
	}

	img := p.ImagePath()
	part := img + ".part"
	os.Remove(part)
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		f.Close()
		os.Remove(part)
	}()
	if err := f.Truncate(size); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", part)
	cmd.Stdin = strings.NewReader(p.SfdiskScript())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("sfdisk: %v\n%s", err, out)
	}
	for _, c := range []struct {
		pt   Part
		file string
	}{{parts[0], esp}, {parts[1], p.RootPath()}, {parts[3], data}} {
		if err := copyAt(f, c.file, c.pt); err != nil {
			return err
		}
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := checkTable(ctx, part, parts); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(part, img)
}

func makeESP(ctx context.Context, p *Profile, boot *Boot, path string, size int64) error {
	os.Remove(path)
	// FAT32, with a volume id derived from SOURCE_DATE_EPOCH rather than
	// the clock.
	if err := run(ctx, nil, "mkfs.vfat", "-C", "-F", "32", "-n", "ESP",
		"-i", fmt.Sprintf("%08x", uint32(p.SourceDateEpoch)), path, fmt.Sprint(size/1024)); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	loader := filepath.Join(dir, "loader.conf")
	sdboot := filepath.Join(dir, "BOOTX64.EFI")
	if err := os.WriteFile(loader, []byte(LoaderConf), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(sdboot, boot.SystemdBoot, 0o644); err != nil {
		return err
	}
	env := []string{"MTOOLS_SKIP_CHECK=1"}
	if err := run(ctx, env, "mmd", "-i", path, "::/EFI", "::/EFI/BOOT", "::/EFI/Linux", "::/loader", "::/loader/entries"); err != nil {
		return err
	}
	copies := [][2]string{
		{sdboot, "::/EFI/BOOT/BOOTX64.EFI"},
		{loader, "::/loader/loader.conf"},
		{p.UKIPath("a"), "::/EFI/Linux/" + p.UKIName("a")},
	}
	for _, c := range copies {
		if err := run(ctx, env, "mcopy", "-i", path, c[0], c[1]); err != nil {
			return err
		}
	}
	return nil
}

func makeData(ctx context.Context, path string, size int64) error {
	os.Remove(path)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return run(ctx, nil, "mkfs.ext4", "-q", "-F", "-L", PartData, "-E", "root_owner=0:0", path)
}

// copyAt copies file into the disk at the partition's offset, skipping
// blocks of zeros so that the disk file stays sparse.
func copyAt(disk *os.File, file string, pt Part) error {
	src, err := os.Open(file)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	if st.Size() > pt.Bytes() {
		return fmt.Errorf("%s is %d MiB, more than partition %s (%d MiB)", file, st.Size()/mib, pt.Name, pt.Bytes()/mib)
	}
	buf := make([]byte, mib)
	zero := make([]byte, mib)
	off := pt.Offset()
	for {
		n, err := io.ReadFull(src, buf)
		if n > 0 && !bytes.Equal(buf[:n], zero[:n]) {
			if _, werr := disk.WriteAt(buf[:n], off); werr != nil {
				return werr
			}
		}
		off += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// checkTable reads the partition table back and compares it with the
// layout.
func checkTable(ctx context.Context, path string, parts []Part) error {
	out, err := exec.CommandContext(ctx, "sfdisk", "--json", path).Output()
	if err != nil {
		return fmt.Errorf("sfdisk --json: %v", err)
	}
	var t struct {
		PartitionTable struct {
			Label      string `json:"label"`
			Partitions []struct {
				Start int64  `json:"start"`
				Size  int64  `json:"size"`
				Type  string `json:"type"`
				Name  string `json:"name"`
			} `json:"partitions"`
		} `json:"partitiontable"`
	}
	if err := json.Unmarshal(out, &t); err != nil {
		return fmt.Errorf("sfdisk --json: %v", err)
	}
	got := t.PartitionTable.Partitions
	if t.PartitionTable.Label != "gpt" || len(got) != len(parts) {
		return fmt.Errorf("partition table: %s with %d partitions, want gpt with %d", t.PartitionTable.Label, len(got), len(parts))
	}
	for i, pt := range parts {
		g := got[i]
		if g.Start != pt.Start || g.Size != pt.Size || !strings.EqualFold(g.Type, pt.Type) || g.Name != pt.Name {
			return fmt.Errorf("partition %d: %+v, want %+v", pt.Num, g, pt)
		}
	}
	return nil
}

// Compress writes p.ImagePath()+".zst" with zstd on every core.
func Compress(ctx context.Context, p *Profile) error {
	img := p.ImagePath()
	part := img + ".zst.part"
	if err := run(ctx, nil, "zstd", "-q", "-f", "-T0", img, "-o", part); err != nil {
		os.Remove(part)
		return err
	}
	return os.Rename(part, img+".zst")
}

// run runs a build tool with fixed arguments and reports its output on
// failure.
func run(ctx context.Context, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v\n%s", name, err, out)
	}
	return nil
}
