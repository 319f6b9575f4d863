package linux

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/hw"
)

// tree builds a fake root in a temporary directory: each key is a path below
// the root and each value the file's content. A value starting with "->" makes
// a symlink to the rest of the value instead, as sysfs class entries are.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, path); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestEmptyRoot(t *testing.T) {
	b := &Board{Root: t.TempDir()}
	ctx := t.Context()
	if nics, err := b.NICs(ctx); err != nil || len(nics) != 0 {
		t.Errorf("NICs = %v, %v; want none", nics, err)
	}
	if disks, err := b.Disks(ctx); err != nil || len(disks) != 0 {
		t.Errorf("Disks = %v, %v; want none", disks, err)
	}
	if sensors, err := b.Sensors(ctx); err != nil || len(sensors) != 0 {
		t.Errorf("Sensors = %v, %v; want none", sensors, err)
	}
	if leds, err := b.LEDs(ctx); err != nil || len(leds) != 0 {
		t.Errorf("LEDs = %v, %v; want none", leds, err)
	}
	if name := b.Name(); name != "Linux" {
		t.Errorf("Name = %q, want Linux", name)
	}
	if _, err := b.Watchdog(); !errors.Is(err, hw.ErrNoDevice) {
		t.Errorf("Watchdog: err = %v, want ErrNoDevice", err)
	}
	if err := b.SetLED("identify", true); !errors.Is(err, hw.ErrNoDevice) {
		t.Errorf("SetLED: err = %v, want ErrNoDevice", err)
	}
}

func TestNICs(t *testing.T) {
	root := tree(t, map[string]string{
		"sys/devices/pci0000:00/0000:00:03.0/net/eth0/address":   "52:54:00:AB:CD:EF\n",
		"sys/devices/pci0000:00/0000:00:03.0/net/eth0/operstate": "up\n",
		"sys/devices/pci0000:00/0000:00:03.0/net/eth0/carrier":   "1\n",
		"sys/devices/pci0000:00/0000:00:03.0/net/eth0/speed":     "1000\n",
		"sys/class/net/eth0":            "->../../devices/pci0000:00/0000:00:03.0/net/eth0",
		"sys/class/net/lo/address":      "00:00:00:00:00:00\n",
		"sys/class/net/lo/operstate":    "unknown\n",
		"sys/class/net/eth1/address":    "52:54:00:00:00:02\n",
		"sys/class/net/eth1/operstate":  "down\n",
		"sys/class/net/eth1/speed":      "-1\n",
		"sys/class/net/eth10/address":   "52:54:00:00:00:10\n",
		"sys/class/net/eth10/operstate": "down\n",
		"sys/class/net/tun0/address":    "\n",
		"sys/class/net/tun0/operstate":  "unknown\n",
		"sys/class/net/tun0/carrier":    "1\n",
		"sys/class/net/wg0/operstate":   "up\n", // no address file: omitted
		"sys/class/net/bonding_masters": "bond0\n",
	})
	got, err := (&Board{Root: root}).NICs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []hw.NIC{
		{Name: "eth0", MAC: "52:54:00:ab:cd:ef", Up: true, SpeedMbps: 1000},
		{Name: "eth1", MAC: "52:54:00:00:00:02"},
		{Name: "eth10", MAC: "52:54:00:00:00:10"},
		{Name: "tun0", MAC: "", Up: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("NICs =\n%+v\nwant\n%+v", got, want)
	}
}

func TestDisks(t *testing.T) {
	root := tree(t, map[string]string{
		"sys/block/sda/size":                 "7814037168\n",
		"sys/block/sda/device/model":         "WDC WD40EFRX-68N\n",
		"sys/block/sda/queue/rotational":     "1\n",
		"sys/block/nvme0n1/size":             "1000215216\n",
		"sys/block/nvme0n1/device/model":     "Samsung SSD 980 1TB                     \n",
		"sys/block/nvme0n1/queue/rotational": "0\n",
		"sys/block/vda/size":                 "20971520\n", // no model, no queue
		"sys/block/vdb/device/model":         "no size\n",
		"sys/block/sr0/size":                 "0\n",
		"sys/block/loop0/size":               "1024\n",
		"sys/block/ram0/size":                "8192\n",
		"sys/block/zram0/size":               "8192\n",
	})
	got, err := (&Board{Root: root}).Disks(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []hw.Disk{
		{Name: "nvme0n1", Model: "Samsung SSD 980 1TB", SizeBytes: 1000215216 * 512},
		{Name: "sda", Model: "WDC WD40EFRX-68N", SizeBytes: 7814037168 * 512, Rotational: true},
		{Name: "vda", SizeBytes: 20971520 * 512},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Disks =\n%+v\nwant\n%+v", got, want)
	}
}

func TestSensors(t *testing.T) {
	root := tree(t, map[string]string{
		"sys/devices/platform/coretemp.0/hwmon/hwmon0/name":         "coretemp\n",
		"sys/devices/platform/coretemp.0/hwmon/hwmon0/temp1_label":  "Package id 0\n",
		"sys/devices/platform/coretemp.0/hwmon/hwmon0/temp1_input":  "45000\n",
		"sys/devices/platform/coretemp.0/hwmon/hwmon0/temp1_max":    "80000\n",
		"sys/devices/platform/coretemp.0/hwmon/hwmon0/temp1_crit":   "100000\n",
		"sys/devices/platform/coretemp.0/hwmon/hwmon0/temp2_label":  "Core 0\n",
		"sys/devices/platform/coretemp.0/hwmon/hwmon0/temp2_input":  "85000\n",
		"sys/devices/platform/coretemp.0/hwmon/hwmon0/temp2_max":    "80000\n",
		"sys/devices/platform/coretemp.0/hwmon/hwmon0/temp2_crit":   "100000\n",
		"sys/devices/platform/coretemp.0/hwmon/hwmon0/temp10_label": "Core 8\n",
		"sys/devices/platform/coretemp.0/hwmon/hwmon0/temp10_input": "101500\n",
		"sys/devices/platform/coretemp.0/hwmon/hwmon0/temp10_crit":  "100000\n",
		"sys/devices/platform/coretemp.0/hwmon/hwmon0/temp3_label":  "Core 1\n", // no input: omitted
		"sys/class/hwmon/hwmon0":                                    "->../../devices/platform/coretemp.0/hwmon/hwmon0",

		"sys/class/hwmon/hwmon1/name":         "nct6775\n",
		"sys/class/hwmon/hwmon1/fan1_input":   "1200\n",
		"sys/class/hwmon/hwmon1/fan1_min":     "300\n",
		"sys/class/hwmon/hwmon1/fan2_input":   "0\n",
		"sys/class/hwmon/hwmon1/fan2_min":     "300\n",
		"sys/class/hwmon/hwmon1/fan3_input":   "250\n",
		"sys/class/hwmon/hwmon1/fan3_min":     "300\n",
		"sys/class/hwmon/hwmon1/fan4_input":   "0\n", // no minimum: an empty header
		"sys/class/hwmon/hwmon1/in0_label":    "+12V\n",
		"sys/class/hwmon/hwmon1/in0_input":    "12100\n",
		"sys/class/hwmon/hwmon1/in0_min":      "11400\n",
		"sys/class/hwmon/hwmon1/in0_max":      "12600\n",
		"sys/class/hwmon/hwmon1/in1_input":    "3300\n",
		"sys/class/hwmon/hwmon1/in1_alarm":    "1\n",
		"sys/class/hwmon/hwmon1/in2_input":    "900\n",
		"sys/class/hwmon/hwmon1/in2_lcrit":    "1000\n",
		"sys/class/hwmon/hwmon1/temp1_input":  "30000\n",
		"sys/class/hwmon/hwmon1/temp1_enable": "0\n", // disabled: omitted
		"sys/class/hwmon/hwmon1/temp2_input":  "31000\n",
		"sys/class/hwmon/hwmon1/temp2_fault":  "1\n",
		"sys/class/hwmon/hwmon1/temp3_input":  "32000\n",
		"sys/class/hwmon/hwmon1/temp3_max":    "0\n", // unset
		"sys/class/hwmon/hwmon1/pwm1":         "128\n",

		"sys/class/hwmon/hwmon2/name":           "amdgpu\n",
		"sys/class/hwmon/hwmon2/power1_average": "35000000\n",
		"sys/class/hwmon/hwmon2/power1_cap":     "150000000\n",
		"sys/class/hwmon/hwmon2/power2_average": "1000000\n",
		"sys/class/hwmon/hwmon2/power2_input":   "2500000\n", // preferred
		"sys/class/hwmon/hwmon2/power2_crit":    "2000000\n",

		"sys/class/hwmon/hwmon3/name":              "nvme\n",
		"sys/class/hwmon/hwmon3/temp1_label":       "Composite\n",
		"sys/class/hwmon/hwmon3/temp1_input":       "38850\n",
		"sys/class/hwmon/hwmon10/name":             "nvme\n",
		"sys/class/hwmon/hwmon10/temp1_label":      "Composite\n",
		"sys/class/hwmon/hwmon10/temp1_input":      "40850\n",
		"sys/class/hwmon/hwmon10/temp1_crit_alarm": "1\n",
		"sys/class/hwmon/hwmon11/device/name":      "w83627hf\n", // old kernels
		"sys/class/hwmon/hwmon11/temp1_input":      "-5000\n",
		"sys/class/hwmon/hwmon11/temp1_min":        "0\n",
		"sys/class/hwmon/hwmon12/temp1_input":      "20000\n", // no name at all
	})
	got, err := (&Board{Root: root}).Sensors(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	temp := func(name string, v float64, status string) hw.Sensor {
		return hw.Sensor{Name: name, Kind: hw.KindTemp, Unit: hw.UnitCelsius, Value: v, Status: status}
	}
	fan := func(name string, v float64, status string) hw.Sensor {
		return hw.Sensor{Name: name, Kind: hw.KindFan, Unit: hw.UnitRPM, Value: v, Status: status}
	}
	volt := func(name string, v float64, status string) hw.Sensor {
		return hw.Sensor{Name: name, Kind: hw.KindVoltage, Unit: hw.UnitVolt, Value: v, Status: status}
	}
	power := func(name string, v float64, status string) hw.Sensor {
		return hw.Sensor{Name: name, Kind: hw.KindPower, Unit: hw.UnitWatt, Value: v, Status: status}
	}
	want := []hw.Sensor{
		temp("coretemp/Package id 0", 45, hw.StatusOK),
		temp("coretemp/Core 0", 85, hw.StatusWarn),
		temp("coretemp/Core 8", 101.5, hw.StatusCrit),
		temp("nct6775/temp2", 31, hw.StatusCrit),
		temp("nct6775/temp3", 32, hw.StatusOK),
		fan("nct6775/fan1", 1200, hw.StatusOK),
		fan("nct6775/fan2", 0, hw.StatusCrit),
		fan("nct6775/fan3", 250, hw.StatusWarn),
		fan("nct6775/fan4", 0, hw.StatusOK),
		volt("nct6775/+12V", 12.1, hw.StatusOK),
		volt("nct6775/in1", 3.3, hw.StatusWarn),
		volt("nct6775/in2", 0.9, hw.StatusCrit),
		power("amdgpu/power1", 35, hw.StatusOK),
		power("amdgpu/power2", 2.5, hw.StatusCrit),
		temp("nvme/Composite", 38.85, hw.StatusOK),
		temp("nvme#2/Composite", 40.85, hw.StatusCrit),
		temp("w83627hf/temp1", -5, hw.StatusWarn),
		temp("hwmon12/temp1", 20, hw.StatusOK),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Sensors:\n got %+v\nwant %+v", got, want)
		for i := range max(len(got), len(want)) {
			var g, w hw.Sensor
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if g != w {
				t.Errorf("[%d] got %+v, want %+v", i, g, w)
			}
		}
	}
}

func TestCanceledContext(t *testing.T) {
	root := tree(t, map[string]string{
		"sys/class/net/eth0/address":         "52:54:00:00:00:01\n",
		"sys/block/sda/size":                 "100\n",
		"sys/class/hwmon/hwmon0/temp1_input": "1000\n",
	})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	b := &Board{Root: root}
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

func TestName(t *testing.T) {
	tests := []struct {
		vendor, product string // "" means no file
		want            string
	}{
		{"QEMU", "Standard PC (Q35 + ICH9, 2009)", "QEMU Standard PC (Q35 + ICH9, 2009)"},
		{"Supermicro", "Super Server", "Supermicro Super Server"},
		{"LENOVO", "", "LENOVO"},
		{"", "ThinkCentre M720q", "ThinkCentre M720q"},
		{"Dell Inc.", "Dell Inc. PowerEdge R640", "Dell Inc. PowerEdge R640"},
		{"System manufacturer", "System Product Name", "Linux"},
		{"To Be Filled By O.E.M.", "X570 Phantom", "X570 Phantom"},
		{"", "", "Linux"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			files := map[string]string{}
			if tt.vendor != "" {
				files["sys/class/dmi/id/sys_vendor"] = tt.vendor + "\n"
			}
			if tt.product != "" {
				files["sys/class/dmi/id/product_name"] = tt.product + "\n"
			}
			if got := (&Board{Root: tree(t, files)}).Name(); got != tt.want {
				t.Errorf("Name = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWatchdog(t *testing.T) {
	root := tree(t, map[string]string{"dev/watchdog": ""})
	w, err := (&Board{Root: root}).Watchdog()
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := w.Ping(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.Ping(); err == nil {
		t.Error("Ping after Close succeeded")
	}
	data, err := os.ReadFile(filepath.Join(root, "dev/watchdog"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(data), "...V"; got != want {
		t.Errorf("bytes written to the watchdog = %q, want %q (pings, then the magic close)", got, want)
	}
}

func TestSetLED(t *testing.T) {
	root := tree(t, map[string]string{
		"sys/class/leds/identify/brightness":         "0\n",
		"sys/class/leds/identify/max_brightness":     "255\n",
		"sys/class/leds/fault/brightness":            "0\n",
		"sys/class/leds/input0::capslock/brightness": "0\n",
		"sys/class/leds/broken/max_brightness":       "1\n", // no brightness file
		"sys/class/leds/brightness":                  "0\n", // a file, not an LED
	})
	b := &Board{Root: root}
	brightness := func(name string) string {
		data, err := os.ReadFile(filepath.Join(root, "sys/class/leds", name, "brightness"))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	tests := []struct {
		name string
		on   bool
		want string
	}{
		{"identify", true, "255"},
		{"identify", false, "0"},
		{"fault", true, "1"},
		{"fault", false, "0"},
	}
	for _, tt := range tests {
		if err := b.SetLED(tt.name, tt.on); err != nil {
			t.Fatalf("SetLED(%q, %v): %v", tt.name, tt.on, err)
		}
		if got := brightness(tt.name); got != tt.want {
			t.Errorf("after SetLED(%q, %v) brightness = %q, want %q", tt.name, tt.on, got, tt.want)
		}
	}
	for _, name := range []string{"", ".", "..", "../leds/identify", "identify/..", "nope", "brightness"} {
		if err := b.SetLED(name, true); !errors.Is(err, hw.ErrNoDevice) {
			t.Errorf("SetLED(%q): err = %v, want ErrNoDevice", name, err)
		}
	}
	if err := b.SetLED("broken", true); err == nil || errors.Is(err, hw.ErrNoDevice) {
		t.Errorf("SetLED(broken): err = %v, want an error other than ErrNoDevice", err)
	}
	if _, err := os.Stat(filepath.Join(root, "sys/class/leds/broken/brightness")); err == nil {
		t.Error("SetLED created a brightness file")
	}
	leds, err := b.LEDs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"broken", "fault", "identify", "input0::capslock"}; !reflect.DeepEqual(leds, want) {
		t.Errorf("LEDs = %q, want %q", leds, want)
	}
}

// TestThisMachine reads the real system, which must never fail whatever
// hardware the test runs on.
func TestThisMachine(t *testing.T) {
	b := &Board{}
	ctx := t.Context()
	t.Logf("board: %s", b.Name())
	nics, err := b.NICs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nics {
		if n.Name == "lo" {
			t.Error("NICs lists lo")
		}
		t.Logf("nic: %+v", n)
	}
	disks, err := b.Disks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range disks {
		t.Logf("disk: %+v", d)
	}
	sensors, err := b.Sensors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sensors {
		t.Logf("sensor: %+v", s)
	}
}
