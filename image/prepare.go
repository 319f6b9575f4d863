package image

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// initramfsDirs are the parts of rootfs/ that must be in the tree before
// the kernel is installed, because the initrd is made then.
var initramfsDirs = []string{"etc/initramfs-tools", "usr/share/initramfs-tools"}

// Prepare makes the Debian base tree as a tar (see the package doc) and
// returns its path. A tar made earlier from the same inputs is reused unless
// fresh is set. Progress and mmdebstrap's own messages go to log.
func Prepare(ctx context.Context, p *Profile, fresh bool, log io.Writer) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	if err := os.MkdirAll(p.CacheDir, 0o755); err != nil {
		return "", err
	}
	stage, err := os.MkdirTemp(p.CacheDir, "stage-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(stage)
	overlay, initramfs := filepath.Join(stage, "overlay"), filepath.Join(stage, "initramfs")
	files, err := stageOverlay(p.RootfsDir, overlay, initramfs, p.SourceDateEpoch)
	if err != nil {
		return "", fmt.Errorf("prepare: rootfs overlay: %w", err)
	}
	key := baseKey(p, files)
	base := filepath.Join(p.CacheDir, "base-"+key+".tar")
	if !fresh && exists(base) {
		fmt.Fprintf(log, "    reusing %s (same packages, rootfs/ and SOURCE_DATE_EPOCH)\n", base)
		return base, nil
	}
	apt := filepath.Join(p.CacheDir, "apt")
	if err := os.MkdirAll(apt, 0o755); err != nil {
		return "", err
	}
	tmp := base + ".part"
	if err := runMmdebstrap(ctx, p, initramfs, overlay, apt, tmp, log); err != nil {
		os.Remove(tmp)
		return "", err
	}
	if err := os.Rename(tmp, base); err != nil {
		return "", err
	}
	// Base trees are large; keep only the newest.
	old, _ := filepath.Glob(filepath.Join(p.CacheDir, "base-*.tar"))
	for _, o := range old {
		if o != base {
			os.Remove(o)
		}
	}
	return base, nil
}

// PrepareTo is Prepare without the cache: it always runs mmdebstrap and
// writes the tar to out. The reproducibility test uses it.
func PrepareTo(ctx context.Context, p *Profile, apt, out string, log io.Writer) error {
	if err := p.Validate(); err != nil {
		return err
	}
	stage, err := os.MkdirTemp(filepath.Dir(out), "stage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	overlay, initramfs := filepath.Join(stage, "overlay"), filepath.Join(stage, "initramfs")
	if _, err := stageOverlay(p.RootfsDir, overlay, initramfs, p.SourceDateEpoch); err != nil {
		return fmt.Errorf("prepare: rootfs overlay: %w", err)
	}
	return runMmdebstrap(ctx, p, initramfs, overlay, apt, out, log)
}

func runMmdebstrap(ctx context.Context, p *Profile, initramfs, overlay, apt, out string, log io.Writer) error {
	mode, why := chooseMode()
	fmt.Fprintf(log, "    mmdebstrap --mode=%s (%s)\n", mode, why)
	err := mmdebstrap(ctx, p, mode, initramfs, overlay, apt, out, log)
	if err != nil && mode == "unshare" && os.Geteuid() == 0 && ctx.Err() == nil && errors.Is(err, errUnshare) {
		fmt.Fprintf(log, "    unshare mode failed; trying --mode=root\n")
		err = mmdebstrap(ctx, p, "root", initramfs, overlay, apt, out, log)
	}
	return err
}

var errUnshare = errors.New("mmdebstrap could not set up a user namespace")

func mmdebstrap(ctx context.Context, p *Profile, mode, initramfs, overlay, apt, out string, log io.Writer) error {
	if mode == "unshare" {
		// The unprivileged user namespace must be able to read the staging
		// directories and write the package cache.
		for _, d := range []string{filepath.Dir(initramfs), apt, filepath.Dir(out)} {
			if err := os.Chmod(d, 0o755); err != nil {
				return err
			}
		}
	}
	cmd := exec.CommandContext(ctx, "mmdebstrap", p.MmdebstrapArgs(mode, initramfs, overlay, apt, out)...)
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(p.SourceDateEpoch, 10), "LC_ALL=C.UTF-8")
	var tail tailBuffer
	w := io.MultiWriter(prefixWriter(log, "    "), &tail)
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Run(); err != nil {
		msg := tail.String()
		if mode == "unshare" && (strings.Contains(msg, "unshare") || strings.Contains(msg, "newuidmap") || strings.Contains(msg, "subuid")) {
			return fmt.Errorf("%w: %v", errUnshare, err)
		}
		return fmt.Errorf("mmdebstrap: %v", err)
	}
	return nil
}

// chooseMode picks mmdebstrap's unshare mode when the current user has a
// subordinate id range and newuidmap exists, and root mode otherwise.
func chooseMode() (mode, why string) {
	if _, err := exec.LookPath("newuidmap"); err != nil {
		return "root", "no newuidmap; install uidmap for rootless builds"
	}
	u, err := user.Current()
	if err != nil {
		return "root", err.Error()
	}
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		if !hasSubID(f, u.Username, u.Uid) {
			return "root", "no range for " + u.Username + " in " + f
		}
	}
	return "unshare", "rootless, with the subordinate ids of " + u.Username
}

func hasSubID(file, name, uid string) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		first, _, _ := strings.Cut(s.Text(), ":")
		if first == name || first == uid {
			return true
		}
	}
	return false
}

// stagedFile is one entry of the normalized overlay, for the cache key.
type stagedFile struct {
	path string
	mode fs.FileMode
	data []byte // contents, or the target of a symbolic link
}

// stageOverlay copies rootfs/ (less its README) to overlay with normalized
// permissions (0755 for directories and executables, 0644 for other files)
// and times, so that the image does not depend on the umask or the
// checkout, and copies its initramfs parts to initramfs too.
func stageOverlay(src, overlay, initramfs string, epoch int64) ([]stagedFile, error) {
	var files []stagedFile
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == "README.md" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		var f stagedFile
		f.path = rel
		switch {
		case d.IsDir():
			f.mode = fs.ModeDir | 0o755
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			f.mode, f.data = fs.ModeSymlink|0o777, []byte(target)
		case info.Mode().IsRegular():
			f.mode = 0o644
			if info.Mode()&0o111 != 0 {
				f.mode = 0o755
			}
			if f.data, err = os.ReadFile(path); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: not a file, directory or symbolic link", rel)
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].path < files[j].path })
	for _, dst := range []string{overlay, initramfs} {
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return nil, err
		}
		if err := os.Chmod(dst, 0o755); err != nil {
			return nil, err
		}
		for _, f := range files {
			if dst == initramfs && !underAny(f.path, initramfsDirs) {
				continue
			}
			if err := writeStaged(dst, f, epoch); err != nil {
				return nil, err
			}
		}
	}
	// Times last: writing a file changes its directory's time.
	t := time.Unix(epoch, 0)
	for _, dst := range []string{overlay, initramfs} {
		err := filepath.WalkDir(dst, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.Type()&fs.ModeSymlink != 0 {
				return err
			}
			return os.Chtimes(path, t, t)
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

func underAny(rel string, dirs []string) bool {
	for _, d := range dirs {
		if rel == d || strings.HasPrefix(rel, d+"/") || strings.HasPrefix(d, rel+"/") || rel == "." {
			return true
		}
	}
	return false
}

func writeStaged(dst string, f stagedFile, epoch int64) error {
	path := filepath.Join(dst, filepath.FromSlash(f.path))
	switch {
	case f.mode.IsDir():
		if err := os.MkdirAll(path, 0o755); err != nil {
			return err
		}
		return os.Chmod(path, 0o755)
	case f.mode&fs.ModeSymlink != 0:
		return os.Symlink(string(f.data), path)
	default:
		if err := os.WriteFile(path, f.data, f.mode.Perm()); err != nil {
			return err
		}
		return os.Chmod(path, f.mode.Perm())
	}
}

// baseKey hashes everything the base tree is made from: the mmdebstrap
// arguments (with the staging paths left out), SOURCE_DATE_EPOCH and the
// overlay.
func baseKey(p *Profile, files []stagedFile) string {
	h := sha256.New()
	fmt.Fprintf(h, "epoch %d\n", p.SourceDateEpoch)
	for _, a := range p.MmdebstrapArgs("any", "INITRAMFS", "OVERLAY", "APT", "OUT") {
		fmt.Fprintf(h, "arg %q\n", a)
	}
	for _, f := range files {
		fmt.Fprintf(h, "file %q %o %d\n", f.path, uint32(f.mode), len(f.data))
		h.Write(f.data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// tailBuffer keeps the last 8 KiB written to it, for error messages.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 8192 {
		t.b = t.b[len(t.b)-8192:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

// prefixWriter indents every line written through it and starts it with
// the seconds since the writer was made.
func prefixWriter(w io.Writer, prefix string) io.Writer {
	return &prefixer{w: w, prefix: prefix, bol: true, start: time.Now()}
}

type prefixer struct {
	w      io.Writer
	prefix string
	bol    bool
	start  time.Time
}

func (p *prefixer) Write(b []byte) (int, error) {
	n := len(b)
	var out bytes.Buffer
	for len(b) > 0 {
		if p.bol {
			fmt.Fprintf(&out, "%s%6.1fs ", p.prefix, time.Since(p.start).Seconds())
			p.bol = false
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out.Write(b)
			break
		}
		out.Write(b[:i+1])
		b = b[i+1:]
		p.bol = true
	}
	if _, err := p.w.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return n, nil
}
