package update

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// systemd-boot boots the first entry of its sorted list (when loader.conf
// pins no default): entries with no tries left go last, then the newest
// version (IMAGE_VERSION of the image's embedded os-release) comes first,
// then the file name, compared the same way, descending. A newer version
// therefore boots next by itself, and once it goes bad the running one is
// first again. A forced install of an older or equal version would not be
// tried at all, so the installer sets the running entry aside: it renames it
// to have no tries left. The new entry is then first; if it goes bad too,
// both are bad and the running entry, sorted first among them, boots again
// (systemd-bless-boot marks it good once it is healthy).

// bootOrder sorts Switchboard entries the way systemd-boot does. It assumes
// each image's embedded version equals the version in its file name.
func bootOrder(es []Entry) []Entry {
	out := append([]Entry(nil), es...)
	sort.SliceStable(out, func(i, j int) bool { return bootCompare(out[i], out[j]) < 0 })
	return out
}

// bootCompare is systemd-boot's config_entry_compare for entries that share
// a sort key: negative when a boots before b.
func bootCompare(a, b Entry) int {
	if ab, bb := a.State == Bad, b.State == Bad; ab != bb {
		if ab {
			return 1
		}
		return -1
	}
	if c := VersionCompare(a.Version, b.Version); c != 0 {
		return -c
	}
	if c := VersionCompare(strings.ToLower(a.File), strings.ToLower(b.File)); c != 0 {
		return -c
	}
	if a.State == Good || b.State == Good {
		return 0
	}
	if a.TriesLeft != b.TriesLeft {
		return b.TriesLeft - a.TriesLeft
	}
	return a.TriesDone - b.TriesDone
}

// VersionCompare orders version strings as systemd does
// (strverscmp_improved): numeric and alphabetic segments, '~' for
// pre-releases (oldest), then '-', '^' and '.' prefixes; other characters
// separate segments. It returns -1, 0 or +1.
func VersionCompare(a, b string) int {
	valid := func(c byte) bool {
		return isDigit(c) || isAlpha(c) || c == '~' || c == '-' || c == '^' || c == '.'
	}
	at := func(s string, i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	i, j := 0, 0
	for {
		for i < len(a) && !valid(a[i]) {
			i++
		}
		for j < len(b) && !valid(b[j]) {
			j++
		}
		if at(a, i) == '~' || at(b, j) == '~' {
			if c := cmpBool(at(a, i) != '~', at(b, j) != '~'); c != 0 {
				return c
			}
			i, j = i+1, j+1
		}
		if i >= len(a) || j >= len(b) {
			return cmpBool(i < len(a), j < len(b))
		}
		for _, sep := range []byte{'-', '^', '.'} {
			if at(a, i) == sep || at(b, j) == sep {
				if c := cmpBool(at(a, i) != sep, at(b, j) != sep); c != 0 {
					return c
				}
				i, j = i+1, j+1
			}
		}
		if isDigit(at(a, i)) || isDigit(at(b, j)) {
			ai, bj := i, j
			for ai < len(a) && isDigit(a[ai]) {
				ai++
			}
			for bj < len(b) && isDigit(b[bj]) {
				bj++
			}
			if c := cmpBool(ai > i, bj > j); c != 0 {
				return c
			}
			for i < ai && a[i] == '0' {
				i++
			}
			for j < bj && b[j] == '0' {
				j++
			}
			if c := cmpInt(ai-i, bj-j); c != 0 {
				return c
			}
			if c := strings.Compare(a[i:ai], b[j:bj]); c != 0 {
				return c
			}
			i, j = ai, bj
			continue
		}
		ai, bj := i, j
		for ai < len(a) && isAlpha(a[ai]) {
			ai++
		}
		for bj < len(b) && isAlpha(b[bj]) {
			bj++
		}
		n := min(ai-i, bj-j)
		if c := strings.Compare(a[i:i+n], b[j:j+n]); c != 0 {
			return c
		}
		if c := cmpInt(ai-i, bj-j); c != 0 {
			return c
		}
		i, j = ai, bj
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// setAsideName is the name that gives e no tries left, keeping its count of
// tries done.
func setAsideName(e Entry) string {
	return fmt.Sprintf("%s%s-%s+0-%d.efi", entryPrefix, e.Version, e.Slot, e.TriesDone)
}

// preferNew makes systemd-boot boot the entry named next at the next boot
// and fall back to the running system's entry if next runs out of tries,
// setting the running entry aside when the version order alone would not do
// it. It returns the running entry's new name when it renamed it.
func (in *Installer) preferNew(next string, run running) (string, error) {
	es, err := in.entries()
	if err != nil {
		return "", err
	}
	var cur *Entry
	for i := range es {
		if es[i].Slot == run.Slot && es[i].Version == run.Version {
			cur = &es[i]
		}
	}
	if arranged(es, next, cur) {
		return "", nil
	}
	if cur == nil {
		return "", fmt.Errorf("systemd-boot would not boot %s first, and the running system has no entry to set aside", next)
	}
	aside := setAsideName(*cur)
	dir := in.entryDir()
	if err := os.Rename(filepath.Join(dir, cur.File), filepath.Join(dir, aside)); err != nil {
		return "", err
	}
	if es, err = in.entries(); err == nil {
		moved, _ := ParseEntryName(aside)
		if arranged(es, next, &moved) {
			return aside, syncDir(dir)
		}
		err = fmt.Errorf("systemd-boot would not boot %s first, or would not fall back to %s", next, cur.File)
	}
	if rerr := os.Rename(filepath.Join(dir, aside), filepath.Join(dir, cur.File)); rerr != nil {
		return "", fmt.Errorf("%v; restoring %s: %v", err, cur.File, rerr)
	}
	return "", err
}

// arranged reports whether next boots first among es and, once next has no
// tries left, fallback (when not nil) boots first.
func arranged(es []Entry, next string, fallback *Entry) bool {
	order := bootOrder(es)
	if len(order) == 0 || order[0].File != next {
		return false
	}
	if fallback == nil {
		return true
	}
	failed := append([]Entry(nil), es...)
	for i := range failed {
		if failed[i].File == next {
			e := failed[i]
			e.TriesDone += e.TriesLeft
			e.TriesLeft, e.State = 0, Bad
			e.File = setAsideName(e)
			failed[i] = e
		}
	}
	return bootOrder(failed)[0].File == fallback.File
}
