// Package sim is a simulated hardware board for dev mode and tests.
//
// The board is deterministic: two NICs (eth0 up at 1 Gb/s, eth1 down), one
// solid-state disk, a handful of sensors with fixed values that are all "ok",
// four LEDs and an in-memory watchdog that counts its pings. Tests can make a
// sensor fail (FailSensor) or make the sensor listing itself fail
// (SetSensorsErr) to exercise health reporting.
package sim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/switchboardhq/switchboard/hw"
)

var _ hw.Board = (*Board)(nil)

// LED names of the simulated board.
const (
	LEDPower    = "power"
	LEDStatus   = "status"
	LEDFault    = "fault"
	LEDIdentify = "identify"
)

// Board is a simulated hw.Board. Its zero value is not usable; call New.
// It is safe for concurrent use.
type Board struct {
	mu         sync.Mutex
	sensors    []hw.Sensor
	sensorsErr error
	leds       map[string]bool
	dog        *Watchdog // the open watchdog, nil when closed
	pings      int       // pings over every open of the watchdog
}

// New returns a simulated board in its initial state: power LED on, every
// other LED off, watchdog closed, every sensor ok.
func New() *Board {
	return &Board{
		sensors: defaultSensors(),
		leds: map[string]bool{
			LEDPower:    true,
			LEDStatus:   false,
			LEDFault:    false,
			LEDIdentify: false,
		},
	}
}

func defaultSensors() []hw.Sensor {
	s := func(name, kind string, v float64) hw.Sensor {
		return hw.Sensor{Name: name, Kind: kind, Unit: hw.UnitOf(kind), Value: v, Status: hw.StatusOK}
	}
	return []hw.Sensor{
		s("sim/cpu", hw.KindTemp, 42.5),
		s("sim/board", hw.KindTemp, 35),
		s("sim/fan1", hw.KindFan, 2400),
		s("sim/12v", hw.KindVoltage, 12.05),
		s("sim/psu", hw.KindPower, 85),
	}
}

// Name returns "Switchboard simulated board".
func (b *Board) Name() string { return "Switchboard simulated board" }

// NICs returns eth0 (up, 1000 Mb/s) and eth1 (down).
func (b *Board) NICs(ctx context.Context) ([]hw.NIC, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return []hw.NIC{
		{Name: "eth0", MAC: "02:5b:00:00:00:01", Up: true, SpeedMbps: 1000},
		{Name: "eth1", MAC: "02:5b:00:00:00:02", Up: false, SpeedMbps: 0},
	}, nil
}

// Disks returns one 64 GiB solid-state disk named "sda".
func (b *Board) Disks(ctx context.Context) ([]hw.Disk, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return []hw.Disk{
		{Name: "sda", Model: "Switchboard SimDisk", SizeBytes: 64 << 30, Rotational: false},
	}, nil
}

// Sensors returns the simulated readings, or the error set with
// SetSensorsErr.
func (b *Board) Sensors(ctx context.Context) ([]hw.Sensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sensorsErr != nil {
		return nil, b.sensorsErr
	}
	return slices.Clone(b.sensors), nil
}

// SensorNames returns the names of the simulated sensors, in listing order.
func (b *Board) SensorNames() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	names := make([]string, len(b.sensors))
	for i, s := range b.sensors {
		names[i] = s.Name
	}
	return names
}

// FailSensor makes the named sensor report a failing reading with status
// "crit": a stopped fan, an overheating temperature, a collapsed voltage or
// an overloaded supply. It returns an error wrapping hw.ErrNoDevice for an
// unknown name.
func (b *Board) FailSensor(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range b.sensors {
		s := &b.sensors[i]
		if s.Name != name {
			continue
		}
		switch s.Kind {
		case hw.KindTemp:
			s.Value = 105
		case hw.KindFan:
			s.Value = 0
		case hw.KindVoltage:
			s.Value = 0
		case hw.KindPower:
			s.Value = 900
		}
		s.Status = hw.StatusCrit
		return nil
	}
	return fmt.Errorf("sensor %q: %w", name, hw.ErrNoDevice)
}

// SetSensorsErr makes Sensors fail with err, as when the monitoring chip
// cannot be read. A nil err restores normal operation.
func (b *Board) SetSensorsErr(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sensorsErr = err
}

// ResetSensors undoes FailSensor and SetSensorsErr.
func (b *Board) ResetSensors() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sensors = defaultSensors()
	b.sensorsErr = nil
}

// SetLED turns a simulated LED on or off. The names are LEDPower, LEDStatus,
// LEDFault and LEDIdentify.
func (b *Board) SetLED(name string, on bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.leds[name]; !ok {
		return fmt.Errorf("led %q: %w", name, hw.ErrNoDevice)
	}
	b.leds[name] = on
	return nil
}

// LED reports whether the named LED is on; ok is false for an unknown name.
func (b *Board) LED(name string) (on, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	on, ok = b.leds[name]
	return on, ok
}

// LEDs returns a copy of the state of every LED.
func (b *Board) LEDs() map[string]bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return maps.Clone(b.leds)
}

// ErrWatchdogBusy is returned by Watchdog while the watchdog is already open,
// as the kernel does for a second open of /dev/watchdog.
var ErrWatchdogBusy = errors.New("sim: watchdog already open")

// Watchdog opens and arms the simulated watchdog. Only one may be open at a
// time; a second call before Close returns ErrWatchdogBusy.
func (b *Board) Watchdog() (hw.Watchdog, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.dog != nil {
		return nil, ErrWatchdogBusy
	}
	b.dog = &Watchdog{board: b}
	return b.dog, nil
}

// Pings returns how many times the watchdog was pinged, over every time it
// was opened.
func (b *Board) Pings() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pings
}

// WatchdogArmed reports whether a watchdog is open and armed.
func (b *Board) WatchdogArmed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dog != nil
}

// Watchdog is the simulated watchdog returned by Board.Watchdog.
type Watchdog struct {
	board  *Board
	pings  int  // guarded by board.mu
	closed bool // guarded by board.mu
}

var _ hw.Watchdog = (*Watchdog)(nil)

// ErrWatchdogClosed is returned by Ping after Close.
var ErrWatchdogClosed = errors.New("sim: watchdog closed")

// Ping counts one ping. It fails with ErrWatchdogClosed after Close.
func (w *Watchdog) Ping() error {
	w.board.mu.Lock()
	defer w.board.mu.Unlock()
	if w.closed {
		return ErrWatchdogClosed
	}
	w.pings++
	w.board.pings++
	return nil
}

// Pings returns how many times this watchdog was pinged.
func (w *Watchdog) Pings() int {
	w.board.mu.Lock()
	defer w.board.mu.Unlock()
	return w.pings
}

// Close disarms the watchdog so that the board may open it again. Calling it
// again does nothing.
func (w *Watchdog) Close() error {
	w.board.mu.Lock()
	defer w.board.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if w.board.dog == w {
		w.board.dog = nil
	}
	return nil
}
