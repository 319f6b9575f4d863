package linux

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/switchboardhq/switchboard/hw"
)

// Watchdog opens /dev/watchdog, which arms the hardware watchdog. It returns
// an error wrapping hw.ErrNoDevice when the device does not exist; another
// process holding it open is a plain error (EBUSY).
func (b *Board) Watchdog() (hw.Watchdog, error) {
	path := b.path("dev/watchdog")
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("watchdog: %w: %w", hw.ErrNoDevice, err)
	}
	if err != nil {
		return nil, fmt.Errorf("watchdog: %w", err)
	}
	return &watchdog{f: f}, nil
}

// watchdog is an open /dev/watchdog.
type watchdog struct {
	mu sync.Mutex
	f  *os.File // nil after Close
}

// errWatchdogClosed is returned by Ping after Close.
var errWatchdogClosed = errors.New("watchdog: closed")

// Ping writes one byte other than 'V', which the kernel takes as a keepalive.
func (w *watchdog) Ping() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return errWatchdogClosed
	}
	if _, err := w.f.Write([]byte{'.'}); err != nil {
		return fmt.Errorf("watchdog: ping: %w", err)
	}
	return nil
}

// Close writes the magic 'V' so that the driver disarms the watchdog on
// close (unless the kernel was built with nowayout), then closes the device.
func (w *watchdog) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	_, werr := w.f.Write([]byte{'V'})
	cerr := w.f.Close()
	w.f = nil
	if werr != nil {
		return fmt.Errorf("watchdog: magic close: %w", werr)
	}
	if cerr != nil {
		return fmt.Errorf("watchdog: close: %w", cerr)
	}
	return nil
}
