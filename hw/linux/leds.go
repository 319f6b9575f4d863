package linux

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/hw"
)

// LEDs lists the names of the LEDs in /sys/class/leds, sorted, such as
// "input0::capslock" or "identify".
func (b *Board) LEDs(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	names, err := listDirs(b.path("sys/class/leds"))
	if err != nil {
		return nil, err
	}
	slices.SortFunc(names, compareNatural)
	return names, nil
}

// SetLED sets the brightness of /sys/class/leds/<name> to its maximum (or 1
// when the maximum cannot be read) to turn it on, and to 0 to turn it off.
func (b *Board) SetLED(name string, on bool) error {
	if name == "" || name == "." || name == ".." || strings.ContainsRune(name, '/') {
		return fmt.Errorf("led %q: %w", name, hw.ErrNoDevice)
	}
	dir := b.path("sys/class/leds", name)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("led %q: %w", name, hw.ErrNoDevice)
	}
	value := "0"
	if on {
		value = "1"
		if full, ok := readInt(filepath.Join(dir, "max_brightness")); ok && full > 0 {
			value = strconv.FormatInt(full, 10)
		}
	}
	// No O_CREATE: sysfs attributes exist or the LED does not support it.
	f, err := os.OpenFile(filepath.Join(dir, "brightness"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("led %q: %w", name, err)
	}
	_, werr := f.WriteString(value)
	cerr := f.Close()
	if werr != nil {
		return fmt.Errorf("led %q: set brightness: %w", name, werr)
	}
	if cerr != nil {
		return fmt.Errorf("led %q: set brightness: %w", name, cerr)
	}
	return nil
}
