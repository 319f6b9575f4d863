package box

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/hw"
)

func TestWarnings(t *testing.T) {
	const gib = 1 << 30
	fine := warnings(space{Total: 100 * gib, Free: 50 * gib}, space{Total: 8 * gib, Free: 4 * gib},
		[]hw.Sensor{{Name: "cpu", Status: hw.StatusOK}}, []nicView{{NIC: hw.NIC{Name: "eth0", Up: true}}}, clock{Known: true, Synced: true})
	if len(fine) != 0 {
		t.Fatalf("a healthy box warns: %v", fine)
	}
	got := strings.Join(warnings(space{Total: 100 * gib, Free: 5 * gib}, space{Total: 8 * gib, Free: gib / 2},
		[]hw.Sensor{{Name: "coretemp/Package id 0", Value: 97, Unit: "C", Status: hw.StatusCrit}, {Name: "fan1", Value: 300, Unit: "RPM", Status: hw.StatusWarn}},
		[]nicView{{NIC: hw.NIC{Name: "eth0"}}}, clock{Known: true}), "\n")
	for _, want := range []string{
		"The data partition is 95% full (5.0 GiB free of 100.0 GiB)",
		"Memory is short: 512.0 MiB available of 8.0 GiB.",
		"coretemp/Package id 0 reads 97.0 C, past its critical threshold",
		"fan1 reads 300.0 RPM, past its warning threshold.",
		"No network interface has a link",
		"The clock is not synchronized with a time server yet",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("warnings lack %q:\n%s", want, got)
		}
	}
	// A small disk warns below 1 GiB free even when that is over 10%.
	if w := warnings(space{Total: 4 * gib, Free: gib / 2}, space{}, nil, nil, clock{}); len(w) != 1 {
		t.Errorf("0.5 GiB free of 4 GiB: %v", w)
	}
	if m := memory(); m.Err != "" || m.Total == 0 || m.Free > m.Total {
		t.Errorf("memory() = %+v", m)
	}
	if d := dataSpace(t.TempDir() + "/applianced.db"); d.Err != "" || d.Total == 0 {
		t.Errorf("dataSpace = %+v", d)
	}
}

func TestTimeStatus(t *testing.T) {
	dir := t.TempDir()
	timesyncDir, localtime = filepath.Join(dir, "timesync"), filepath.Join(dir, "localtime")
	defer func() { timesyncDir, localtime = "/run/systemd/timesync", "/etc/localtime" }()
	if c := timeStatus(); c.Known || c.Zone != "UTC" {
		t.Errorf("without timesyncd or a zone: %+v", c)
	}
	os.Symlink("/usr/share/zoneinfo/Europe/Paris", localtime)
	os.Mkdir(timesyncDir, 0o755)
	if c := timeStatus(); !c.Known || c.Synced || c.Zone != "Europe/Paris" {
		t.Errorf("timesyncd running, not synchronized: %+v", c)
	}
	os.WriteFile(filepath.Join(timesyncDir, "synchronized"), nil, 0o644)
	if c := timeStatus(); !c.Synced || c.Since == "" {
		t.Errorf("synchronized: %+v", c)
	}
}
