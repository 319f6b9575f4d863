package update

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// running is what the box booted.
type running struct {
	Version string
	Slot    string
}

// running reads the slot from the kernel command line and the version from
// os-release.
func (in *Installer) running() (running, error) {
	cmdline, err := os.ReadFile(in.paths.Cmdline)
	if err != nil {
		return running{}, fmt.Errorf("%w: %v", ErrNotReady, err)
	}
	slot, ok := SlotFromCmdline(string(cmdline))
	if !ok {
		return running{}, fmt.Errorf("%w: the kernel command line has no switchboard.slot=a or =b; is this a Switchboard image?", ErrNotReady)
	}
	osr, err := os.ReadFile(in.paths.OSRelease)
	if err != nil {
		return running{}, fmt.Errorf("%w: %v", ErrNotReady, err)
	}
	version := osReleaseField(osr, "IMAGE_VERSION")
	if version == "" {
		return running{}, fmt.Errorf("%w: %s has no IMAGE_VERSION", ErrNotReady, in.paths.OSRelease)
	}
	return running{Version: version, Slot: slot}, nil
}

// SlotFromCmdline returns the slot named by the last switchboard.slot= on a
// kernel command line.
func SlotFromCmdline(cmdline string) (slot string, ok bool) {
	for _, f := range strings.Fields(cmdline) {
		if v, found := strings.CutPrefix(f, "switchboard.slot="); found {
			slot, ok = v, v == "a" || v == "b"
		}
	}
	return slot, ok
}

// osReleaseField reads KEY=value (value optionally quoted) from os-release.
func osReleaseField(data []byte, key string) string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), key+"=")
		if !ok {
			continue
		}
		if u, err := strconv.Unquote(v); err == nil {
			return u
		}
		return strings.Trim(v, `'`)
	}
	return ""
}

func otherSlot(s string) string {
	if s == "a" {
		return "b"
	}
	return "a"
}

// SystemReboot asks systemd to reboot the box.
func SystemReboot(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, "systemctl", "reboot").CombinedOutput()
	if err != nil {
		return fmt.Errorf("systemctl reboot: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}
