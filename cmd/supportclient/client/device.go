package client

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// maxField bounds each text field of the device info (the wire's limit).
const maxField = 256

// NoCaptureNote is the device info's note when the screen cannot be shared.
const NoCaptureNote = "screen sharing is not supported on this OS"

// DeviceID returns a stable id of this machine that does not reveal its
// machine id (/etc/machine-id; Windows' MachineGuid): the first 16 bytes of SHA-256(machine-id + "switchboard"),
// in hex; a random one when there is no machine id.
func DeviceID() string {
	var sum []byte
	if id := strings.TrimSpace(machineID()); id != "" {
		h := sha256.Sum256(append([]byte(id), "switchboard"...))
		sum = h[:16]
	} else {
		sum = make([]byte, 16)
		rand.Read(sum)
	}
	return hex.EncodeToString(sum)
}

// DeviceInfo describes this machine; screens are the sizes of the screens
// that can be shared (none when capture is not available).
func DeviceInfo(screens []wire.Screen) wire.DeviceInfo {
	info := wire.DeviceInfo{
		OS:        runtime.GOOS + "/" + runtime.GOARCH,
		Version:   osVersion(),
		Addresses: addresses(),
		Screens:   screens,
		Capture:   len(screens) > 0,
	}
	info.Hostname, _ = os.Hostname()
	if u, err := user.Current(); err == nil {
		info.User = u.Username
	} else if v := os.Getenv("USER"); v != "" {
		info.User = v
	} else {
		info.User = os.Getenv("USERNAME")
	}
	if !info.Capture {
		info.Note = NoCaptureNote
	}
	info.OS, info.Version = bound(info.OS), bound(info.Version)
	info.Hostname, info.User = bound(info.Hostname), bound(info.User)
	return info
}

func bound(s string) string {
	if len(s) > maxField {
		s = s[:maxField]
	}
	return strings.ToValidUTF8(s, "")
}

// osVersion is PRETTY_NAME from /etc/os-release on Linux, else the OS name.
func osVersion() string {
	if runtime.GOOS == "linux" {
		for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
			f, err := os.Open(p)
			if err != nil {
				continue
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
					if u, err := strconv.Unquote(v); err == nil {
						return u
					}
					return strings.Trim(v, `"'`)
				}
			}
		}
	}
	return runtime.GOOS
}

// addresses lists the machine's addresses other than loopback.
func addresses() []string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok || n.IP.IsLoopback() {
			continue
		}
		out = append(out, n.IP.String())
		if len(out) == 64 {
			break
		}
	}
	return out
}
