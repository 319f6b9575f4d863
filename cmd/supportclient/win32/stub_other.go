//go:build !windows

package win32

import (
	"context"
	"log/slog"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// Desktop is the interactive desktop of this Windows session. On other
// systems it cannot be opened.
type Desktop struct{}

// Open returns ErrNotWindows on this system.
func Open(log *slog.Logger) (*Desktop, error) { return nil, ErrNotWindows }

// Capture returns ErrNotWindows on this system.
func (d *Desktop) Capture() (rgb []byte, w, h int, err error) { return nil, 0, 0, ErrNotWindows }

// Size returns 0, 0 on this system.
func (d *Desktop) Size() (w, h int) { return 0, 0 }

// Screens returns nothing on this system.
func (d *Desktop) Screens() []wire.Screen { return nil }

// Method returns "" on this system.
func (d *Desktop) Method() string { return "" }

// Apply returns ErrNotWindows on this system.
func (d *Desktop) Apply(in wire.Input) error { return ErrNotWindows }

// ReleaseAll does nothing on this system.
func (d *Desktop) ReleaseAll() {}

// Refuses returns the key combinations Windows does not let a user process
// inject.
func (d *Desktop) Refuses() []string { return []string{"Ctrl-Alt-Del"} }

// ClipboardText returns ErrNotWindows on this system.
func (d *Desktop) ClipboardText() (text string, seq uint32, err error) { return "", 0, ErrNotWindows }

// ClipboardSeq returns 0 on this system.
func (d *Desktop) ClipboardSeq() uint32 { return 0 }

// SetClipboardText returns ErrNotWindows on this system.
func (d *Desktop) SetClipboardText(text string) error { return ErrNotWindows }

// Close does nothing on this system.
func (d *Desktop) Close() error { return nil }

// Confirm returns ErrNotWindows on this system.
func (p *Prompter) Confirm(ctx context.Context, question string) (bool, error) {
	return false, ErrNotWindows
}

// PickFile returns ErrNotWindows on this system.
func (p *Prompter) PickFile(ctx context.Context, title string) (string, error) {
	return "", ErrNotWindows
}

// Sharing returns ErrNotWindows on this system.
func (p *Prompter) Sharing(ctx context.Context, text string) error { return ErrNotWindows }

// Downloads returns ErrNotWindows on this system.
func Downloads() (string, error) { return "", ErrNotWindows }
