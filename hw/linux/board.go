// Package linux is the hw.Board of a real Linux machine.
//
// It reads network interfaces from /sys/class/net, disks from /sys/block,
// sensors from /sys/class/hwmon and LEDs from /sys/class/leds, and drives
// /dev/watchdog. Every path is taken below Board.Root, so tests point it at a
// fake tree in a temporary directory.
//
// A device whose defining file is missing or unreadable (a NIC without an
// address file, a disk without a size, a sensor whose input cannot be read)
// is left out of the listing; a missing optional file (a disk model, a link
// speed) leaves its field at the zero value. Only a listing directory that
// exists but cannot be read is an error.
package linux

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/hw"
)

var _ hw.Board = (*Board)(nil)

// Board is the hardware of the machine the process runs on. The zero value
// reads the real system; it holds no open resources and is safe for
// concurrent use.
type Board struct {
	// Root is the directory that holds sys/ and dev/; empty means "/".
	Root string
}

// path returns the absolute path of rel (such as "sys/class/net") below Root.
func (b *Board) path(rel ...string) string {
	root := b.Root
	if root == "" {
		root = "/"
	}
	return filepath.Join(append([]string{root}, rel...)...)
}

// placeholderDMI holds the values firmware vendors leave in DMI fields they
// did not fill in.
var placeholderDMI = map[string]bool{
	"":                       true,
	"to be filled by o.e.m.": true,
	"system product name":    true,
	"system manufacturer":    true,
	"default string":         true,
	"not specified":          true,
	"not applicable":         true,
	"none":                   true,
	"o.e.m.":                 true,
	"oem":                    true,
	"type1productconfigid":   true,
	"unknown":                true,
	"invalid":                true,
	"empty":                  true,
	"to be filled by oem":    true,
}

// Name returns the DMI vendor and product name of the machine, such as
// "QEMU Standard PC (Q35 + ICH9, 2009)", or "Linux" when the firmware does
// not say.
func (b *Board) Name() string {
	dmi := func(field string) string {
		v, ok := readString(b.path("sys/class/dmi/id", field))
		if !ok || placeholderDMI[strings.ToLower(v)] {
			return ""
		}
		return v
	}
	vendor, product := dmi("sys_vendor"), dmi("product_name")
	switch {
	case product == "" && vendor == "":
		return "Linux"
	case product == "":
		return vendor
	case vendor == "" || strings.HasPrefix(strings.ToLower(product), strings.ToLower(vendor)):
		return product
	}
	return vendor + " " + product
}

// readString returns the trimmed content of a small sysfs file; ok is false
// when it cannot be read.
func readString(path string) (s string, ok bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(data)), true
}

// readInt returns the integer in a sysfs file; ok is false when it cannot be
// read or parsed.
func readInt(path string) (n int64, ok bool) {
	s, ok := readString(path)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// listDirs returns the names of the directories (or symlinks to directories,
// as sysfs class entries are) in dir, in directory order. A missing dir is an
// empty list.
func listDirs(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil || !fi.IsDir() {
			continue
		}
		names = append(names, e.Name())
	}
	return names, nil
}

// splitNum splits a name such as "hwmon12" into "hwmon" and 12; n is -1 when
// the name has no numeric suffix.
func splitNum(name string) (prefix string, n int) {
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	n, err := strconv.Atoi(name[i:])
	if err != nil {
		return name, -1
	}
	return name[:i], n
}

// compareNatural orders names so that "hwmon2" comes before "hwmon10".
func compareNatural(a, b string) int {
	pa, na := splitNum(a)
	pb, nb := splitNum(b)
	if c := strings.Compare(pa, pb); c != 0 {
		return c
	}
	if na != nb {
		if na < nb {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}
