//go:build windows

package win32

import (
	"fmt"
	"log/slog"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// Desktop is the interactive desktop of this Windows session: its screen,
// mouse, keyboard and clipboard. Capture, input and the clipboard may be
// used from different goroutines; each is serialized. After Close they
// return errors.
type Desktop struct {
	log *slog.Logger

	capMu     sync.Mutex
	cap       capturer
	capClosed bool

	inMu     sync.Mutex
	in       inputState
	inClosed bool

	clip      *windowThread // owns the clipboard while text is set
	closeOnce sync.Once
}

// Open prepares the desktop of this session: it makes the process aware of
// each monitor's DPI (so that all coordinates are physical pixels), tries
// DXGI Desktop Duplication for capture and starts the thread that owns the
// clipboard.
func Open(log *slog.Logger) (*Desktop, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dpiAware()
	if _, _, w, h := virtualScreen(); w <= 0 || h <= 0 {
		return nil, fmt.Errorf("win32: the desktop has no screen (%d×%d)", w, h)
	}
	clip, err := startWindowThread()
	if err != nil {
		return nil, fmt.Errorf("win32: clipboard: %w", err)
	}
	d := &Desktop{log: log, clip: clip}
	d.cap.init(log)
	d.in.init()
	return d, nil
}

var dpiOnce sync.Once

// dpiAware makes the process per-monitor DPI aware (version 2), or system
// DPI aware on a Windows older than 10 1703. It can be set once per process
// and before the first window; later calls do nothing and failures are
// ignored (the process may have been made aware by its manifest).
func dpiAware() {
	dpiOnce.Do(func() {
		const perMonitorAwareV2 = ^uintptr(3) // DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2, (HANDLE)-4
		if procSetProcessDpiAwarenessContext.Find() == nil {
			if r, _, _ := procSetProcessDpiAwarenessContext.Call(perMonitorAwareV2); r != 0 {
				return
			}
		}
		if procSetProcessDPIAware.Find() == nil {
			procSetProcessDPIAware.Call()
		}
	})
}

// Size returns the size of the virtual screen, which spans all monitors.
func (d *Desktop) Size() (w, h int) {
	_, _, vw, vh := virtualScreen()
	return int(vw), int(vh)
}

// Screens returns the size of each monitor, at least one.
func (d *Desktop) Screens() []wire.Screen {
	var screens []wire.Screen
	for _, r := range monitors() {
		screens = append(screens, wire.Screen{Width: int(r.width()), Height: int(r.height())})
	}
	if len(screens) == 0 {
		w, h := d.Size()
		screens = append(screens, wire.Screen{Width: w, Height: h})
	}
	return screens
}

// monitorInfo is MONITORINFO.
type monitorInfo struct {
	size    uint32
	monitor rect
	work    rect
	flags   uint32
}

var (
	monitorsMu  sync.Mutex
	monitorList []rect
	monitorCB   = windows.NewCallback(func(hmon, hdc, clip, data uintptr) uintptr {
		mi := monitorInfo{size: uint32(unsafe.Sizeof(monitorInfo{}))}
		if r, _, _ := procGetMonitorInfoW.Call(hmon, uintptr(unsafe.Pointer(&mi))); r != 0 {
			monitorList = append(monitorList, mi.monitor)
		}
		return 1
	})
)

// monitors returns the rectangle of each monitor in desktop coordinates.
func monitors() []rect {
	monitorsMu.Lock()
	defer monitorsMu.Unlock()
	monitorList = nil
	procEnumDisplayMonitors.Call(0, 0, monitorCB, 0)
	return monitorList
}

// Refuses returns the key combinations that Windows does not let a user
// process inject: Ctrl-Alt-Del (the secure attention sequence) needs
// SendSAS from a service. Apply sends the keys all the same; Windows
// ignores them as a SAS.
func (d *Desktop) Refuses() []string { return []string{"Ctrl-Alt-Del"} }

// Close releases keys and buttons still held by input, frees the capture
// resources and stops the clipboard thread. It is safe to call twice.
func (d *Desktop) Close() error {
	d.closeOnce.Do(func() {
		d.ReleaseAll()
		d.inMu.Lock()
		d.inClosed = true
		d.inMu.Unlock()
		d.capMu.Lock()
		d.capClosed = true
		d.cap.close()
		d.capMu.Unlock()
		d.clip.stop()
	})
	return nil
}
