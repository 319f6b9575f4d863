package update

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/switchboardhq/switchboard/image/bundle"
)

// Options tune one install.
type Options struct {
	// Force installs a version that is not newer than the running one, and
	// installs even when the running system is not marked good yet.
	Force bool
	// Tries is how many boots the new slot gets to become healthy (default
	// DefaultTries, at most MaxTries).
	Tries int
	// NoReboot leaves the reboot to the caller.
	NoReboot bool
	// Progress, when not nil, is called as work is done. Phases are
	// "verifying", "writing slot X" and "writing boot entry".
	Progress func(phase string, done, total int64)
}

// Result says what an install did.
type Result struct {
	Version string // installed version
	From    string // the version that was running
	Slot    string // the slot written
	Entry   string // boot entry file name
	Tries   int
	// SetAside is the new name of the running system's entry when it had to
	// lose its tries so that an older or equal version boots next; it boots
	// again only if the new one fails.
	SetAside string
	// Warnings are problems that did not stop the install.
	Warnings []string
}

// headSize is how much of a slot's start is written last, and zeroed to mark
// a slot unusable: it holds the squashfs superblock.
const headSize = 4096

// errChanged reports payload bytes that differ from the ones verified.
var errChanged = errors.New("the bundle changed after it was verified")

// Install installs the bundle at path into the inactive slot. Every check is
// done before the first byte is written: the signature, the manifest, the
// version, the disk layout and the hash of every payload. Then it removes the
// inactive slot's old boot entries, writes the root image (hashing it again),
// writes the slot's boot entry with Tries tries, records the install in the
// history and, unless NoReboot, reboots. If anything fails after writing
// started, the slot is left unusable and has no boot entry, so the box keeps
// booting the running slot.
func (in *Installer) Install(ctx context.Context, path string, opts Options) (*Result, error) {
	if opts.Tries == 0 {
		opts.Tries = DefaultTries
	}
	if opts.Tries < 1 || opts.Tries > MaxTries {
		return nil, fmt.Errorf("tries must be 1 to %d, not %d", MaxTries, opts.Tries)
	}
	progress := func(phase string) func(done, total int64) {
		return func(done, total int64) {
			if opts.Progress != nil {
				opts.Progress(phase, done, total)
			}
		}
	}
	if len(in.trusted) == 0 {
		return nil, ErrNoTrustedKey
	}
	unlock, err := in.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()

	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	b, err := bundle.Open(f, st.Size(), in.trusted)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m := b.Manifest
	run, err := in.running()
	if err != nil {
		return nil, err
	}
	if err := checkVersion(run.Version, m.Version, opts.Force); err != nil {
		return nil, err
	}
	target := otherSlot(run.Slot)
	if err := in.checkRunningEntry(run, opts.Force); err != nil {
		return nil, err
	}
	dev, err := in.checkPartition(target, b.Size(bundle.NameRoot))
	if err != nil {
		return nil, err
	}
	var total int64
	for _, name := range bundle.Payloads {
		total += b.Size(name)
	}
	progress("verifying")(0, total)
	if err := b.VerifyPayload(progress("verifying")); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if in.afterVerify != nil {
		in.afterVerify()
	}

	// From here on the inactive slot is written.
	res := &Result{Version: m.Version, From: run.Version, Slot: target, Entry: entryName(m.Version, target, opts.Tries), Tries: opts.Tries}
	fail := func(err error) (*Result, error) {
		os.Remove(filepath.Join(in.entryDir(), res.Entry))
		if uerr := markUnusable(dev); uerr != nil {
			return nil, fmt.Errorf("writing slot %s: %w; marking it unusable also failed: %v", target, err, uerr)
		}
		return nil, fmt.Errorf("writing slot %s: %w; the slot was left unusable and the box keeps booting slot %s", target, err, run.Slot)
	}
	if err := in.removeEntries(target); err != nil {
		return fail(err)
	}
	rootSum, _ := m.Sum(bundle.NameRoot)
	r, size := b.File(bundle.NameRoot)
	progress("writing slot "+target)(0, size)
	if err := writeRoot(ctx, dev, r, size, rootSum, progress("writing slot "+target)); err != nil {
		return fail(err)
	}
	uki := bundle.NameUKIA
	if target == "b" {
		uki = bundle.NameUKIB
	}
	ukiSum, _ := m.Sum(uki)
	r, size = b.File(uki)
	progress("writing boot entry")(0, size)
	if err := in.writeEntry(ctx, res.Entry, r, size, ukiSum, progress("writing boot entry")); err != nil {
		return fail(err)
	}
	if res.SetAside, err = in.preferNew(res.Entry, run); err != nil {
		return fail(err)
	}

	if err := in.archiveFailures(); err != nil {
		res.Warnings = append(res.Warnings, "keeping old failure records: "+err.Error())
	}
	if err := in.record(Event{Kind: "installed", Version: m.Version, Slot: target, From: run.Version, Detail: installDetail(b.KeyID, opts.Tries, res.SetAside)}); err != nil {
		res.Warnings = append(res.Warnings, "recording the install: "+err.Error())
	}
	if opts.NoReboot || in.reboot == nil {
		return res, nil
	}
	if err := in.reboot(ctx); err != nil {
		return res, fmt.Errorf("installed %s into slot %s, but the reboot failed: %w; reboot the box to start it", m.Version, target, err)
	}
	return res, nil
}

// checkVersion refuses a bundle that is not newer than the running version
// unless forced. Versions compare the way systemd-boot orders its entries
// (VersionCompare), so "newer" here is what the boot loader will prefer, and
// a running build with any version string can be compared.
func checkVersion(running, next string, force bool) error {
	switch c := VersionCompare(next, running); {
	case force || c > 0:
		return nil
	case c < 0:
		return refusal{ErrNotNewer, fmt.Sprintf("downgrade refused: running %s, bundle %s; use --force", running, next)}
	}
	return refusal{ErrNotNewer, fmt.Sprintf("%s is already running; use --force to install it again", next)}
}

// refusal is an error that says msg and matches kind with errors.Is.
type refusal struct {
	kind error
	msg  string
}

func (r refusal) Error() string { return r.msg }
func (r refusal) Unwrap() error { return r.kind }

// checkRunningEntry makes sure the box has a good entry to fall back to:
// the running system's own entry, already blessed.
func (in *Installer) checkRunningEntry(run running, force bool) error {
	if force {
		return nil
	}
	es, err := in.entries()
	if err != nil {
		return err
	}
	for _, e := range es {
		if e.Slot != run.Slot || e.Version != run.Version {
			continue
		}
		if e.State == Good {
			return nil
		}
		return fmt.Errorf("%w: the running version %s has not been marked good yet (boot entry %s is %s); wait until applianced is healthy, or use --force", ErrNotReady, run.Version, e.File, e.State)
	}
	return fmt.Errorf("%w: the ESP has no boot entry for the running system (%s%s-%s.efi), so there would be nothing to fall back to; use --force to install anyway", ErrNotReady, entryPrefix, run.Version, run.Slot)
}

// checkPartition returns the inactive slot's device and checks that it is
// big enough and is not the running slot's.
func (in *Installer) checkPartition(slot string, need int64) (string, error) {
	dev := filepath.Join(in.paths.PartLabels, "root-"+slot)
	size, err := deviceSize(dev)
	if err != nil {
		return "", fmt.Errorf("%w: slot %s: %v", ErrNotReady, slot, err)
	}
	if size < need {
		return "", fmt.Errorf("%w: slot %s (%s) has %d bytes, too small for the %d-byte root image", ErrNotReady, slot, dev, size, need)
	}
	// O_EXCL on a block device fails with EBUSY while it is mounted or
	// otherwise held; opening it writes nothing.
	f, err := os.OpenFile(dev, os.O_WRONLY|os.O_EXCL, 0)
	if err != nil {
		return "", fmt.Errorf("%w: slot %s (%s) cannot be written: %v", ErrNotReady, slot, dev, err)
	}
	f.Close()
	self, err1 := filepath.EvalSymlinks(dev)
	other, err2 := filepath.EvalSymlinks(filepath.Join(in.paths.PartLabels, "root-"+otherSlot(slot)))
	if err1 == nil && err2 == nil && self == other {
		return "", fmt.Errorf("%w: root-a and root-b are the same device %s", ErrNotReady, self)
	}
	return dev, nil
}

// deviceSize returns the size of a block device or file.
func deviceSize(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return f.Seek(0, io.SeekEnd)
}

// writeRoot writes the root image to dev. It zeroes the image's first
// headSize bytes first and writes them last, after the whole image matched
// want, so an interrupted or altered write never leaves a mountable slot.
func writeRoot(ctx context.Context, dev string, r io.Reader, size int64, want []byte, progress func(done, total int64)) error {
	// O_EXCL on a block device fails with EBUSY while it is mounted.
	f, err := os.OpenFile(dev, os.O_WRONLY|os.O_EXCL, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, headSize), 0); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	h := sha256.New()
	head := make([]byte, min(headSize, size))
	if _, err := io.ReadFull(r, head); err != nil {
		return fmt.Errorf("reading the bundle: %w", err)
	}
	h.Write(head)
	if _, err := f.Seek(int64(len(head)), io.SeekStart); err != nil {
		return err
	}
	rest := size - int64(len(head))
	err = copyChunks(ctx, io.MultiWriter(f, h), r, rest, func(done, _ int64) { progress(done, size) })
	if err != nil {
		return err
	}
	if !bytes.Equal(h.Sum(nil), want) {
		return errChanged
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if _, err := f.WriteAt(head, 0); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	progress(size, size)
	return f.Close()
}

// markUnusable zeroes the start of a slot so nothing can mount it.
func markUnusable(dev string) error {
	f, err := os.OpenFile(dev, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, headSize), 0); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// copyChunks copies exactly n bytes, reporting progress and stopping when
// ctx ends.
func copyChunks(ctx context.Context, w io.Writer, r io.Reader, n int64, progress func(done, total int64)) error {
	buf := make([]byte, 1<<20)
	for done := int64(0); done < n; {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, err := io.ReadFull(r, buf[:min(int64(len(buf)), n-done)])
		if err != nil {
			return fmt.Errorf("reading the bundle: %w", err)
		}
		if _, err := w.Write(buf[:k]); err != nil {
			return err
		}
		done += int64(k)
		progress(done, n)
	}
	return nil
}

// lock takes the install lock in the state directory.
func (in *Installer) lock() (func(), error) {
	if err := os.MkdirAll(in.paths.State, 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(in.paths.State, "install.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrBusy
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}

func installDetail(keyID string, tries int, aside string) string {
	d := fmt.Sprintf("key %s, %d tries", keyID, tries)
	if aside != "" {
		d += ", running entry set aside as " + aside
	}
	return d
}
