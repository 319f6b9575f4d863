package linux

import (
	"context"
	"path/filepath"
	"slices"
	"strings"

	"github.com/switchboardhq/switchboard/hw"
)

// sectorSize is the unit of /sys/block/*/size, whatever the logical block
// size of the device.
const sectorSize = 512

// skipDisk reports whether a /sys/block entry is not a data disk: loop
// devices, RAM disks and compressed RAM (zram) swap.
func skipDisk(name string) bool {
	for _, p := range []string{"loop", "ram", "zram"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// Disks lists the block devices in /sys/block, sorted by name, without loop,
// RAM and zram devices, and without devices that have no medium (size 0, as
// an empty card reader or optical drive reports).
func (b *Board) Disks(ctx context.Context) ([]hw.Disk, error) {
	dir := b.path("sys/block")
	names, err := listDirs(dir)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(names, compareNatural)
	var disks []hw.Disk
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if skipDisk(name) {
			continue
		}
		d, ok := readDisk(filepath.Join(dir, name))
		if !ok {
			continue
		}
		d.Name = name
		disks = append(disks, d)
	}
	return disks, nil
}

func readDisk(dir string) (hw.Disk, bool) {
	sectors, ok := readInt(filepath.Join(dir, "size"))
	if !ok || sectors <= 0 {
		return hw.Disk{}, false
	}
	model, _ := readString(filepath.Join(dir, "device/model"))
	rot, _ := readString(filepath.Join(dir, "queue/rotational"))
	return hw.Disk{
		Model:      model,
		SizeBytes:  uint64(sectors) * sectorSize,
		Rotational: rot == "1",
	}, true
}
