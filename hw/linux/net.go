package linux

import (
	"context"
	"path/filepath"
	"slices"
	"strings"

	"github.com/switchboardhq/switchboard/hw"
)

// NICs lists the interfaces in /sys/class/net except "lo", sorted by name.
// An interface is up when its operstate is "up", or "unknown" (drivers that
// do not report it) with carrier present.
func (b *Board) NICs(ctx context.Context) ([]hw.NIC, error) {
	dir := b.path("sys/class/net")
	names, err := listDirs(dir)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(names, compareNatural)
	var nics []hw.NIC
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if name == "lo" {
			continue
		}
		nic, ok := readNIC(filepath.Join(dir, name))
		if !ok {
			continue
		}
		nic.Name = name
		nics = append(nics, nic)
	}
	return nics, nil
}

func readNIC(dir string) (hw.NIC, bool) {
	mac, ok := readString(filepath.Join(dir, "address"))
	if !ok {
		return hw.NIC{}, false
	}
	nic := hw.NIC{MAC: strings.ToLower(mac)}
	switch state, _ := readString(filepath.Join(dir, "operstate")); state {
	case "up":
		nic.Up = true
	case "unknown":
		// carrier cannot be read while the interface is down.
		carrier, _ := readString(filepath.Join(dir, "carrier"))
		nic.Up = carrier == "1"
	}
	// speed is -1 or unreadable (EINVAL) without a link.
	if speed, ok := readInt(filepath.Join(dir, "speed")); ok && nic.Up && speed > 0 {
		nic.SpeedMbps = int(speed)
	}
	return nic, true
}
