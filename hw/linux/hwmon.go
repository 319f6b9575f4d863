package linux

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	"github.com/switchboardhq/switchboard/hw"
)

// hwmonInput matches the reading files of the channels Sensors reports.
// Some drivers (amdgpu) only have power*_average, no power*_input.
var hwmonInput = regexp.MustCompile(`^(temp|fan|in|power)([0-9]+)_(input|average)$`)

// hwmonKind describes one hwmon channel type: its sensor kind, the divisor
// from the sysfs integer to the hw unit, and its order in the listing.
type hwmonKind struct {
	kind  string
	div   float64
	order int
}

var hwmonKinds = map[string]hwmonKind{
	"temp":  {hw.KindTemp, 1e3, 0},    // millidegree Celsius
	"fan":   {hw.KindFan, 1, 1},       // RPM
	"in":    {hw.KindVoltage, 1e3, 2}, // millivolt
	"power": {hw.KindPower, 1e6, 3},   // microwatt
}

// Sensors lists the temperature, fan, voltage and power channels of every
// chip in /sys/class/hwmon. A sensor is named "chip/label", where chip is the
// driver's name (with "#2", "#3"… when several chips share it) and label is
// the channel's label or, without one, its sysfs name such as "temp1".
//
// The status is "crit" when the chip flags a fault or a critical alarm, or the
// reading passes a crit, emergency or lcrit threshold, or a fan that has a
// minimum speed stands still; "warn" when the chip flags an alarm or the
// reading passes a max or min threshold; "ok" otherwise. An upper threshold
// of 0 counts as unset.
func (b *Board) Sensors(ctx context.Context) ([]hw.Sensor, error) {
	dir := b.path("sys/class/hwmon")
	chips, err := listDirs(dir)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(chips, compareNatural)
	seen := map[string]int{}
	var sensors []hw.Sensor
	for _, chip := range chips {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cdir := filepath.Join(dir, chip)
		name := chipName(cdir, chip)
		seen[name]++
		if n := seen[name]; n > 1 {
			name = fmt.Sprintf("%s#%d", name, n)
		}
		sensors = append(sensors, readChip(cdir, name)...)
	}
	return sensors, nil
}

// chipName returns the driver name of a hwmon chip. Old kernels keep it in
// device/name; without either, the hwmon directory name stands in.
func chipName(dir, fallback string) string {
	for _, f := range []string{"name", "device/name"} {
		if s, ok := readString(filepath.Join(dir, f)); ok && s != "" {
			return s
		}
	}
	return fallback
}

// hwmonChannel is one reading of a chip, such as temp1 read from
// temp1_input.
type hwmonChannel struct {
	prefix string // "temp", "fan", "in" or "power"
	n      int
	file   string // "input" or "average"
}

func readChip(dir, chip string) []hw.Sensor {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	found := map[string]hwmonChannel{}
	for _, e := range entries {
		m := hwmonInput.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		n, err := strconv.Atoi(m[2])
		if err != nil {
			continue
		}
		key := m[1] + m[2]
		if old, ok := found[key]; ok && old.file == "input" {
			continue
		}
		found[key] = hwmonChannel{prefix: m[1], n: n, file: m[3]}
	}
	channels := make([]hwmonChannel, 0, len(found))
	for _, c := range found {
		channels = append(channels, c)
	}
	slices.SortFunc(channels, func(a, b hwmonChannel) int {
		return cmp.Or(cmp.Compare(hwmonKinds[a.prefix].order, hwmonKinds[b.prefix].order), cmp.Compare(a.n, b.n))
	})
	var sensors []hw.Sensor
	for _, c := range channels {
		if s, ok := readChannel(dir, chip, c); ok {
			sensors = append(sensors, s)
		}
	}
	return sensors
}

func readChannel(dir, chip string, c hwmonChannel) (hw.Sensor, bool) {
	k := hwmonKinds[c.prefix]
	base := fmt.Sprintf("%s%d", c.prefix, c.n)
	attr := func(name string) string { return filepath.Join(dir, base+"_"+name) }
	if enable, ok := readInt(attr("enable")); ok && enable == 0 {
		return hw.Sensor{}, false
	}
	raw, ok := readInt(attr(c.file))
	if !ok {
		return hw.Sensor{}, false
	}
	label, _ := readString(attr("label"))
	if label == "" {
		label = base
	}
	return hw.Sensor{
		Name:   chip + "/" + label,
		Kind:   k.kind,
		Unit:   hw.UnitOf(k.kind),
		Value:  float64(raw) / k.div,
		Status: channelStatus(attr, c.prefix, raw),
	}, true
}

// channelStatus classifies the raw reading v of a channel from the alarm
// flags and thresholds next to it, which sysfs gives in the same unit as the
// reading; attr maps an attribute suffix to its path.
func channelStatus(attr func(string) string, prefix string, v int64) string {
	flag := func(name string) bool {
		n, ok := readInt(attr(name))
		return ok && n != 0
	}
	above := func(name string) bool {
		n, ok := readInt(attr(name))
		return ok && n > 0 && v >= n
	}
	below := func(name string) bool {
		n, ok := readInt(attr(name))
		return ok && v < n
	}
	minSet := func() bool {
		n, ok := readInt(attr("min"))
		return ok && n > 0
	}
	switch {
	case flag("fault"), flag("crit_alarm"), flag("lcrit_alarm"), flag("emergency_alarm"),
		above("crit"), above("emergency"), below("lcrit"),
		prefix == "fan" && v == 0 && minSet():
		return hw.StatusCrit
	case flag("alarm"), flag("max_alarm"), flag("min_alarm"),
		above("max"), below("min"):
		return hw.StatusWarn
	}
	return hw.StatusOK
}
