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
	"sort"
	"strconv"
	"strings"
)

// Boot entries are systemd-boot "Type #2" unified kernel images in
// <ESP>/EFI/Linux, named switchboard-<version>-<slot>.efi once good, and
// switchboard-<version>-<slot>+<left>[-<done>].efi while systemd-boot counts
// tries (boot loader specification, "Boot counting"). An entry with no tries
// left is bad: systemd-boot boots it only when nothing else is left.

const entryPrefix = "switchboard-"

// State is the boot-counting state of an entry.
type State int

// Entry states.
const (
	Good   State = iota // blessed: booted and became healthy
	Trying              // counting: tries left
	Bad                 // no tries left
)

// String names the state: good, trying or bad.
func (s State) String() string {
	switch s {
	case Good:
		return "good"
	case Trying:
		return "trying"
	case Bad:
		return "bad"
	}
	return "unknown"
}

// An Entry is one boot entry on the ESP.
type Entry struct {
	File      string // name in EFI/Linux
	Version   string
	Slot      string
	State     State
	TriesLeft int // while counting
	TriesDone int // while counting
}

// Describe says what state e is in, for people.
func (e Entry) Describe() string {
	switch e.State {
	case Trying:
		return fmt.Sprintf("trying: %d of %d tries left", e.TriesLeft, e.TriesLeft+e.TriesDone)
	case Bad:
		if e.TriesDone == 0 {
			return "set aside: boots only if the newer entry fails"
		}
		return fmt.Sprintf("bad: did not become healthy in %d tries", e.TriesDone)
	}
	return "good"
}

// ParseEntryName parses a boot entry file name; ok is false for files that
// are not Switchboard entries.
func ParseEntryName(name string) (e Entry, ok bool) {
	core, found := strings.CutPrefix(name, entryPrefix)
	if !found {
		return e, false
	}
	if core, found = strings.CutSuffix(core, ".efi"); !found {
		return e, false
	}
	e.File = name
	if i := strings.LastIndexByte(core, '+'); i >= 0 {
		left, done, hasDone := strings.Cut(core[i+1:], "-")
		var err error
		if e.TriesLeft, err = counter(left); err != nil {
			return Entry{}, false
		}
		if hasDone {
			if e.TriesDone, err = counter(done); err != nil {
				return Entry{}, false
			}
		}
		e.State = Trying
		if e.TriesLeft == 0 {
			e.State = Bad
		}
		core = core[:i]
	}
	i := strings.LastIndexByte(core, '-')
	if i <= 0 {
		return Entry{}, false
	}
	e.Version, e.Slot = core[:i], core[i+1:]
	if e.Slot != "a" && e.Slot != "b" || strings.ContainsAny(e.Version, "/+") {
		return Entry{}, false
	}
	return e, true
}

func counter(s string) (int, error) {
	if s == "" || len(s) > 4 || strings.Trim(s, "0123456789") != "" {
		return 0, errors.New("bad counter")
	}
	return strconv.Atoi(s)
}

// entryName is the file name of a new entry with tries left.
func entryName(version, slot string, tries int) string {
	return fmt.Sprintf("%s%s-%s+%d.efi", entryPrefix, version, slot, tries)
}

func (in *Installer) entryDir() string { return filepath.Join(in.paths.ESP, "EFI", "Linux") }

// entries lists the Switchboard boot entries, sorted by file name.
func (in *Installer) entries() ([]Entry, error) {
	des, err := os.ReadDir(in.entryDir())
	if err != nil {
		return nil, fmt.Errorf("boot entries: %w", err)
	}
	var out []Entry
	for _, de := range des {
		if e, ok := ParseEntryName(de.Name()); ok && de.Type().IsRegular() {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out, nil
}

// removeEntries deletes every entry of slot, so that nothing boots it while
// it is rewritten.
func (in *Installer) removeEntries(slot string) error {
	es, err := in.entries()
	if err != nil {
		return err
	}
	removed := false
	for _, e := range es {
		if e.Slot != slot {
			continue
		}
		if err := os.Remove(filepath.Join(in.entryDir(), e.File)); err != nil {
			return fmt.Errorf("removing old boot entry: %w", err)
		}
		removed = true
	}
	if removed {
		return syncDir(in.entryDir())
	}
	return nil
}

// writeEntry copies the kernel image from r into a temporary file, checks
// its hash, and renames it to name. The entry appears whole or not at all.
func (in *Installer) writeEntry(ctx context.Context, name string, r io.Reader, size int64, want []byte, progress func(done, total int64)) error {
	dir := in.entryDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	os.Remove(tmp) // left by an interrupted install
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	if err := copyChunks(ctx, io.MultiWriter(f, h), r, size, progress); err != nil {
		return err
	}
	if !bytes.Equal(h.Sum(nil), want) {
		return errChanged
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	ok = true
	return syncDir(dir)
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
