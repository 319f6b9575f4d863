package box

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/appliance/web"
	"github.com/switchboardhq/switchboard/hw"
	"golang.org/x/sys/unix"
)

// Health thresholds: below these the status page warns.
const (
	minFreeData     = 1 << 30 // bytes free on the data partition
	minFreeDataPart = 0.10    // share of the data partition free
	minFreeMemPart  = 0.10    // share of memory available
)

// space is used and total bytes of something, in words.
type space struct {
	Total, Free uint64
	Err         string
}

func (s space) TotalText() string { return web.Bytes(s.Total) }
func (s space) FreeText() string  { return web.Bytes(s.Free) }

// UsedPercent is the share in use, 0–100.
func (s space) UsedPercent() int {
	if s.Total == 0 {
		return 0
	}
	return int(100 * (s.Total - s.Free) / s.Total)
}

// dataSpace is the file system that holds the store (the data partition
// on the box).
func dataSpace(storePath string) space {
	var st unix.Statfs_t
	if err := unix.Statfs(filepath.Dir(storePath), &st); err != nil {
		return space{Err: err.Error()}
	}
	return space{Total: st.Blocks * uint64(st.Bsize), Free: st.Bavail * uint64(st.Bsize)}
}

// memory reads MemTotal and MemAvailable from /proc/meminfo.
func memory() space {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return space{Err: err.Error()}
	}
	defer f.Close()
	var s space
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch k {
		case "MemTotal":
			s.Total = n << 10
		case "MemAvailable":
			s.Free = n << 10
		}
	}
	if s.Total == 0 {
		s.Err = "no MemTotal in /proc/meminfo"
	}
	return s
}

// warnings says, in words, what on the status page needs attention.
func warnings(data, mem space, sensors []hw.Sensor, nics []nicView, clk clock) []string {
	var out []string
	if clk.Known && !clk.Synced {
		out = append(out, "The clock is not synchronized with a time server yet: sign-in codes and certificates depend on it. Check that the box reaches an NTP server (UDP port 123).")
	}
	if data.Err == "" && data.Total > 0 && (data.Free < minFreeData || float64(data.Free) < minFreeDataPart*float64(data.Total)) {
		out = append(out, fmt.Sprintf("The data partition is %d%% full (%s free of %s): delete old backups or give the box a larger disk before the store cannot grow.",
			data.UsedPercent(), data.FreeText(), data.TotalText()))
	}
	if mem.Err == "" && mem.Total > 0 && float64(mem.Free) < minFreeMemPart*float64(mem.Total) {
		out = append(out, fmt.Sprintf("Memory is short: %s available of %s.", mem.FreeText(), mem.TotalText()))
	}
	for _, s := range sensors {
		switch s.Status {
		case hw.StatusCrit:
			out = append(out, fmt.Sprintf("%s reads %.1f %s, past its critical threshold: check the box's cooling and power now.", s.Name, s.Value, s.Unit))
		case hw.StatusWarn:
			out = append(out, fmt.Sprintf("%s reads %.1f %s, past its warning threshold.", s.Name, s.Value, s.Unit))
		}
	}
	up := 0
	for _, n := range nics {
		if n.Up {
			up++
		}
	}
	if len(nics) > 0 && up == 0 {
		out = append(out, "No network interface has a link: check the cables.")
	}
	return out
}

// nicView is a network interface on the status page: the board's facts
// and the addresses the network has on it.
type nicView struct {
	hw.NIC
	Addrs []string
}

// clock is the box's time as the status page shows it: the zone and
// whether systemd-timesyncd has synchronized the clock. Changing the zone
// and the NTP servers needs root and comes with the privileged helper.
type clock struct {
	Zone string
	// Known is false where there is no timesyncd (a dev machine).
	Known  bool
	Synced bool
	Since  string // when timesyncd last synchronized, in UTC
}

// Files of systemd-timesyncd: /run/systemd/timesync exists while it runs;
// "synchronized" is touched at each synchronization.
var (
	timesyncDir = "/run/systemd/timesync"
	localtime   = "/etc/localtime"
)

func timeStatus() clock {
	c := clock{Zone: "UTC"}
	if target, err := os.Readlink(localtime); err == nil {
		if _, zone, ok := strings.Cut(target, "zoneinfo/"); ok {
			c.Zone = zone
		}
	}
	if _, err := os.Stat(timesyncDir); err != nil {
		return c
	}
	c.Known = true
	if fi, err := os.Stat(filepath.Join(timesyncDir, "synchronized")); err == nil {
		c.Synced = true
		c.Since = fi.ModTime().UTC().Format("2006-01-02 15:04 MST")
	}
	return c
}
