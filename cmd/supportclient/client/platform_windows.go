//go:build windows

package client

import (
	"context"
	"io"
	"log/slog"
	"time"

	"golang.org/x/sys/windows/registry"

	"github.com/switchboardhq/switchboard/appliance/i18n"
	"github.com/switchboardhq/switchboard/appliance/wire"
	"github.com/switchboardhq/switchboard/cmd/supportclient/prompt"
	"github.com/switchboardhq/switchboard/cmd/supportclient/win32"
)

// clipboardPoll is how often the Windows clipboard's change count is read.
const clipboardPoll = 250 * time.Millisecond

// openScreen opens the interactive desktop (DXGI or GDI capture,
// SendInput, the clipboard) and fills in cfg; it returns the screens, or
// why the screen cannot be shared, and what to close at the end.
func openScreen(cfg *Config, _ string, log *slog.Logger) ([]wire.Screen, string, func()) {
	d, err := win32.Open(log)
	if err != nil {
		log.Warn("screen", "err", err)
		return nil, "screen sharing needs the desktop of a signed-in Windows user", func() {}
	}
	cfg.Screen, cfg.Input = d, d
	cfg.Clipboard = d.SetClipboardText
	cfg.ReadClipboard = func() (string, error) {
		text, _, err := d.ClipboardText()
		return text, err
	}
	cfg.WatchClipboard = func(ctx context.Context, changed func()) error {
		tick := time.NewTicker(clipboardPoll)
		defer tick.Stop()
		ticks := make(chan struct{})
		go func() {
			defer close(ticks)
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
					select {
					case ticks <- struct{}{}:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
		return watchUntil(ctx, ticks, d.ClipboardSeq, changed)
	}
	w, h := d.Size()
	return []wire.Screen{{Width: w, Height: h}}, "", func() { d.Close() }
}

// choosePrompter asks with native dialogs unless the terminal was asked
// for.
func choosePrompter(kind, lang string, stdin io.Reader, stdout io.Writer) (prompt.Prompter, error) {
	if kind != prompt.Auto {
		return prompt.Choose(kind, stdin, stdout)
	}
	return win32.NewPrompter(prompt.Title(), i18n.T(lang, "Allow"), i18n.T(lang, "Deny"), i18n.T(lang, "Stop sharing")), nil
}

// systemDownloads is the user's Downloads folder.
func systemDownloads() string {
	d, err := win32.Downloads()
	if err != nil {
		return ""
	}
	return d
}

// machineID is Windows' MachineGuid, or "".
func machineID() string {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Cryptography`, registry.QUERY_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return ""
	}
	defer k.Close()
	v, _, err := k.GetStringValue("MachineGuid")
	if err != nil {
		return ""
	}
	return v
}

// watchUntil runs poll every tick until ctx ends, calling changed when the
// number it returns changes: for clipboards that only count their changes
// (Windows).
func watchUntil(ctx context.Context, tick <-chan struct{}, seq func() uint32, changed func()) error {
	last := seq()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
		}
		if n := seq(); n != last {
			last = n
			changed()
		}
	}
}
