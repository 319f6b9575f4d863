//go:build !windows

package client

import (
	"io"
	"log/slog"
	"os"
	"runtime"

	"github.com/switchboardhq/switchboard/appliance/wire"
	"github.com/switchboardhq/switchboard/cmd/supportclient/prompt"
	"github.com/switchboardhq/switchboard/cmd/supportclient/x11"
)

// openScreen opens what the screen is shared with (an X11 display) and
// fills in cfg's screen, input and clipboard; it returns the screens, or
// why the screen cannot be shared, and what to close at the end.
func openScreen(cfg *Config, display string, log *slog.Logger) ([]wire.Screen, string, func()) {
	d, why := openDisplay(display, log)
	if d == nil {
		return nil, why, func() {}
	}
	cfg.Screen, cfg.Input = capturer{d}, d
	w, h := d.Size()
	cfg.Clipboard = d.SetClipboard
	cfg.ReadClipboard = func() (string, error) { return d.Clipboard(wire.MaxClipboard) }
	cfg.WatchClipboard = d.ClipboardChanges
	return []wire.Screen{{Width: w, Height: h}}, "", func() { d.Close() }
}

// choosePrompter is the prompt package's choice (zenity, kdialog or the
// terminal).
func choosePrompter(kind, _ string, stdin io.Reader, stdout io.Writer) (prompt.Prompter, error) {
	return prompt.Choose(kind, stdin, stdout)
}

// systemDownloads is "" here: ~/Downloads is the convention.
func systemDownloads() string { return "" }

// capturer adapts a display to Screen.
type capturer struct{ d *x11.Display }

func (c capturer) Capture() ([]byte, int, int, error) { return c.d.Capture() }

// openDisplay connects to the X display to share, or says why the screen
// cannot be shared.
func openDisplay(name string, log *slog.Logger) (*x11.Display, string) {
	switch runtime.GOOS {
	case "linux":
	case "darwin":
		return nil, "screen sharing is not supported on macOS yet"
	default:
		return nil, NoCaptureNote
	}
	if os.Getenv("XDG_SESSION_TYPE") == "wayland" {
		return nil, "screen sharing is not supported in a Wayland session (log in with an X11 session to share the screen)"
	}
	if name == "" && os.Getenv("DISPLAY") == "" {
		return nil, "screen sharing needs a graphical X11 session"
	}
	d, err := x11.Open(name, log)
	if err != nil {
		log.Warn("screen", "err", err)
		return nil, "screen sharing needs a graphical X11 session"
	}
	return d, ""
}

// machineID is /etc/machine-id, or "".
func machineID() string {
	b, _ := os.ReadFile("/etc/machine-id")
	return string(b)
}
