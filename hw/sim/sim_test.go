package sim

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"

	"github.com/switchboardhq/switchboard/hw"
)

func TestListingsAreStable(t *testing.T) {
	ctx := t.Context()
	a, b := New(), New()

	nicsA, err := a.NICs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nicsB, _ := b.NICs(ctx)
	if !reflect.DeepEqual(nicsA, nicsB) {
		t.Errorf("NICs differ between boards: %v vs %v", nicsA, nicsB)
	}
	if len(nicsA) != 2 || !nicsA[0].Up || nicsA[1].Up {
		t.Errorf("NICs = %+v, want eth0 up and eth1 down", nicsA)
	}

	disks, err := a.Disks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(disks) != 1 || disks[0].SizeBytes == 0 {
		t.Errorf("Disks = %+v, want one sized disk", disks)
	}

	sensors, err := a.Sensors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := a.Sensors(ctx)
	if !reflect.DeepEqual(sensors, again) {
		t.Errorf("Sensors changed between calls: %v vs %v", sensors, again)
	}
	kinds := map[string]bool{}
	for _, s := range sensors {
		kinds[s.Kind] = true
		if s.Status != hw.StatusOK {
			t.Errorf("sensor %s status %q, want ok", s.Name, s.Status)
		}
		if s.Unit != hw.UnitOf(s.Kind) || s.Unit == "" {
			t.Errorf("sensor %s unit %q for kind %q", s.Name, s.Unit, s.Kind)
		}
	}
	for _, k := range []string{hw.KindTemp, hw.KindFan, hw.KindVoltage, hw.KindPower} {
		if !kinds[k] {
			t.Errorf("no sensor of kind %s", k)
		}
	}
}

func TestCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	b := New()
	if _, err := b.NICs(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("NICs: err = %v, want context.Canceled", err)
	}
	if _, err := b.Disks(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Disks: err = %v, want context.Canceled", err)
	}
	if _, err := b.Sensors(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Sensors: err = %v, want context.Canceled", err)
	}
}

func TestFailSensor(t *testing.T) {
	b := New()
	names := b.SensorNames()
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			b := New()
			if err := b.FailSensor(name); err != nil {
				t.Fatal(err)
			}
			sensors, err := b.Sensors(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range sensors {
				want := hw.StatusOK
				if s.Name == name {
					want = hw.StatusCrit
				}
				if s.Status != want {
					t.Errorf("sensor %s status %q, want %q", s.Name, s.Status, want)
				}
			}
			b.ResetSensors()
			sensors, _ = b.Sensors(t.Context())
			for _, s := range sensors {
				if s.Status != hw.StatusOK {
					t.Errorf("after reset, sensor %s status %q", s.Name, s.Status)
				}
			}
		})
	}
	if err := b.FailSensor("nope"); !errors.Is(err, hw.ErrNoDevice) {
		t.Errorf("FailSensor(unknown): err = %v, want ErrNoDevice", err)
	}
}

func TestSensorsErr(t *testing.T) {
	b := New()
	boom := errors.New("i2c bus stuck")
	b.SetSensorsErr(boom)
	if _, err := b.Sensors(t.Context()); !errors.Is(err, boom) {
		t.Fatalf("Sensors: err = %v, want %v", err, boom)
	}
	b.SetSensorsErr(nil)
	if _, err := b.Sensors(t.Context()); err != nil {
		t.Fatalf("Sensors after clearing: %v", err)
	}
}

func TestSensorsReturnsCopy(t *testing.T) {
	b := New()
	s, _ := b.Sensors(t.Context())
	s[0].Value = -1
	again, _ := b.Sensors(t.Context())
	if again[0].Value == -1 {
		t.Fatal("Sensors shares its slice with the caller")
	}
}

func TestLEDs(t *testing.T) {
	b := New()
	if on, ok := b.LED(LEDPower); !ok || !on {
		t.Errorf("power LED = %v,%v, want on", on, ok)
	}
	tests := []struct {
		name string
		on   bool
	}{
		{LEDIdentify, true},
		{LEDFault, true},
		{LEDPower, false},
		{LEDIdentify, false},
	}
	for _, tt := range tests {
		if err := b.SetLED(tt.name, tt.on); err != nil {
			t.Fatalf("SetLED(%s, %v): %v", tt.name, tt.on, err)
		}
		if on, ok := b.LED(tt.name); !ok || on != tt.on {
			t.Errorf("LED(%s) = %v,%v, want %v", tt.name, on, ok, tt.on)
		}
	}
	want := map[string]bool{LEDPower: false, LEDStatus: false, LEDFault: true, LEDIdentify: false}
	leds := b.LEDs()
	if !reflect.DeepEqual(leds, want) {
		t.Errorf("LEDs = %v, want %v", leds, want)
	}
	leds[LEDStatus] = true
	if on, _ := b.LED(LEDStatus); on {
		t.Error("LEDs shares its map with the caller")
	}
	if err := b.SetLED("disco", true); !errors.Is(err, hw.ErrNoDevice) {
		t.Errorf("SetLED(unknown): err = %v, want ErrNoDevice", err)
	}
}

func TestWatchdog(t *testing.T) {
	b := New()
	if b.WatchdogArmed() {
		t.Fatal("watchdog armed before open")
	}
	w, err := b.Watchdog()
	if err != nil {
		t.Fatal(err)
	}
	if !b.WatchdogArmed() {
		t.Error("watchdog not armed after open")
	}
	if _, err := b.Watchdog(); !errors.Is(err, ErrWatchdogBusy) {
		t.Errorf("second open: err = %v, want ErrWatchdogBusy", err)
	}
	for range 3 {
		if err := w.Ping(); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.(*Watchdog).Pings(); got != 3 {
		t.Errorf("watchdog pings = %d, want 3", got)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if b.WatchdogArmed() {
		t.Error("watchdog armed after Close")
	}
	if err := w.Ping(); !errors.Is(err, ErrWatchdogClosed) {
		t.Errorf("Ping after Close: err = %v, want ErrWatchdogClosed", err)
	}

	w2, err := b.Watchdog()
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer w2.Close()
	if err := w2.Ping(); err != nil {
		t.Fatal(err)
	}
	// A stale handle must not disarm the new one.
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !b.WatchdogArmed() {
		t.Error("closing a stale handle disarmed the open watchdog")
	}
	if got := b.Pings(); got != 4 {
		t.Errorf("board pings = %d, want 4", got)
	}
}

func TestWatchdogConcurrentPings(t *testing.T) {
	b := New()
	w, err := b.Watchdog()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if err := w.Ping(); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := b.Pings(); got != 800 {
		t.Errorf("pings = %d, want 800", got)
	}
}
