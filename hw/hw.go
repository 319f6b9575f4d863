// Package hw is the hardware abstraction of the appliance: the network
// interfaces, disks, sensors, watchdog and LEDs of the box it runs on.
//
// A Board hides where those come from. Package hw/linux reads them from sysfs
// and /dev/watchdog on a real machine; package hw/sim simulates a fixed board
// for dev mode and tests. Package hw imports nothing from the appliance, so
// every part of the tree may depend on it.
package hw

import (
	"context"
	"errors"
)

// ErrNoDevice is returned (wrapped) when a board has no device of the asked
// kind or name, such as a missing watchdog or an unknown LED. Callers usually
// treat it as "not supported on this hardware".
var ErrNoDevice = errors.New("no such device")

// Board is the hardware of one box.
//
// The listing methods return what the board has right now, in a stable order.
// An entry whose data cannot be read is left out rather than reported as an
// error, so one odd device does not hide the others.
type Board interface {
	// Name is a short human name of the board, such as its DMI product name.
	Name() string
	// NICs lists the network interfaces, without loopback.
	NICs(ctx context.Context) ([]NIC, error)
	// Disks lists the block devices that hold data, without loop and RAM
	// devices.
	Disks(ctx context.Context) ([]Disk, error)
	// Sensors lists the hardware monitoring readings.
	Sensors(ctx context.Context) ([]Sensor, error)
	// Watchdog opens and arms the hardware watchdog. The caller must Ping it
	// regularly and Close it to disarm it. It returns an error wrapping
	// ErrNoDevice when the board has none.
	Watchdog() (Watchdog, error)
	// SetLED turns the named LED on or off. It returns an error wrapping
	// ErrNoDevice for an unknown name.
	SetLED(name string, on bool) error
}

// Watchdog is an armed hardware watchdog: if nobody pings it in time, the
// machine resets.
type Watchdog interface {
	// Ping restarts the watchdog's countdown.
	Ping() error
	// Close disarms the watchdog (the magic 'V' close) and releases it.
	// Calling it again does nothing and returns nil.
	Close() error
}

// NIC is a network interface.
type NIC struct {
	Name      string // kernel name, such as "eth0"
	MAC       string // hardware address, lower case with colons
	Up        bool   // operationally up (link present)
	SpeedMbps int    // link speed, 0 when unknown or down
}

// Disk is a block device.
type Disk struct {
	Name       string // kernel name, such as "sda" or "nvme0n1"
	Model      string // model string, empty when unknown
	SizeBytes  uint64 // capacity
	Rotational bool   // spinning disk rather than flash
}

// Sensor is one hardware monitoring reading.
type Sensor struct {
	Name   string  // "chip/label", such as "coretemp/Package id 0"
	Kind   string  // one of KindTemp, KindFan, KindVoltage, KindPower
	Unit   string  // one of UnitCelsius, UnitRPM, UnitVolt, UnitWatt
	Value  float64 // the reading, in Unit
	Status string  // one of StatusOK, StatusWarn, StatusCrit
}

// Sensor kinds.
const (
	KindTemp    = "temp"
	KindFan     = "fan"
	KindVoltage = "voltage"
	KindPower   = "power"
)

// Sensor units.
const (
	UnitCelsius = "C"
	UnitRPM     = "RPM"
	UnitVolt    = "V"
	UnitWatt    = "W"
)

// Sensor statuses, from good to bad.
const (
	StatusOK   = "ok"
	StatusWarn = "warn"
	StatusCrit = "crit"
)

// UnitOf returns the unit of readings of the given kind, or "" for an unknown
// kind.
func UnitOf(kind string) string {
	switch kind {
	case KindTemp:
		return UnitCelsius
	case KindFan:
		return UnitRPM
	case KindVoltage:
		return UnitVolt
	case KindPower:
		return UnitWatt
	}
	return ""
}
