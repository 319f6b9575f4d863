// Package prompt asks the person at the keyboard of the customer's machine
// for consent and for files: with a zenity or kdialog dialog on a desktop,
// or at the terminal the client runs in. Dialogs are started with a fixed
// argument list, never through a shell; text that came from the network
// (a technician's name, a file name) is cleaned with Clean first and
// escaped for the dialog.
package prompt

import (
	"context"
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/i18n"
	"io"
	"os"
	"os/exec"
	"strings"
	"unicode"
)

// A Prompter asks the person at the keyboard. Both methods return when ctx
// is done (as a refusal), closing any dialog they opened.
type Prompter interface {
	// Confirm asks a yes/no question; only an explicit yes is true.
	Confirm(ctx context.Context, question string) (bool, error)
	// PickFile lets the person choose a file; "" means none was chosen.
	PickFile(ctx context.Context, title string) (string, error)
}

// A Notifier shows that the screen is being shared, with a way to stop.
// Sharing returns when the person closes the notice (or ctx is done).
type Notifier interface {
	Sharing(ctx context.Context, text string) error
}

// Kinds of Prompter that Choose accepts.
const (
	Auto     = "auto"
	Zenity   = "zenity"
	KDialog  = "kdialog"
	Terminal = "terminal"
)

// Choose returns the Prompter of the given kind. Auto picks a dialog when
// a graphical session is there (DISPLAY or WAYLAND_DISPLAY) and zenity or
// kdialog is installed, and the terminal otherwise.
func Choose(kind string, in io.Reader, out io.Writer) (Prompter, error) {
	switch kind {
	case Auto, "":
		if os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != "" {
			if p, err := exec.LookPath("zenity"); err == nil {
				return &ZenityPrompter{Path: p}, nil
			}
			if p, err := exec.LookPath("kdialog"); err == nil {
				return &KDialogPrompter{Path: p}, nil
			}
		}
		return NewTerminal(in, out), nil
	case Zenity, KDialog:
		p, err := exec.LookPath(kind)
		if err != nil {
			return nil, fmt.Errorf("prompt: %s is not installed: %w", kind, err)
		}
		if kind == Zenity {
			return &ZenityPrompter{Path: p}, nil
		}
		return &KDialogPrompter{Path: p}, nil
	case Terminal:
		return NewTerminal(in, out), nil
	}
	return nil, fmt.Errorf("prompt: unknown kind %q (auto, zenity, kdialog or terminal)", kind)
}

// Clean makes text from the network safe to show: control and formatting
// characters (including bidirectional overrides that disguise file names)
// are dropped, line breaks and tabs become spaces, and the result is cut
// to max runes with an ellipsis.
func Clean(s string, max int) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			r = ' '
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			continue
		}
		if n == max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// title is the window title of every dialog (SetTitle).
var title = "Switchboard remote support"

// lang is the language of the dialogs' own words (SetLanguage).
var lang = i18n.English

// SetLanguage sets the language of the dialogs' buttons and the
// terminal's questions; call it before the first dialog.
func SetLanguage(l string) {
	if i18n.Valid(l) {
		lang = l
	}
}

// tr is s in the dialogs' language.
func tr(s string) string { return i18n.T(lang, s) }

// SetTitle sets the window title of every dialog, such as the public
// site's name with the words for remote support; call it before the
// first dialog.
func SetTitle(s string) {
	if s = Clean(s, 100); s != "" {
		title = s
	}
}

// Title is the window title SetTitle set, for dialogs of other packages.
func Title() string { return title }

// run starts a dialog and returns its exit code and standard output; an
// exit code of -1 with ctx.Err() means ctx ended it.
func run(ctx context.Context, path string, args ...string) (int, string, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.WaitDelay = waitDelay
	var out strings.Builder
	cmd.Stdout = &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return -1, "", ctx.Err()
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), nil
	}
	if err != nil {
		return -1, "", fmt.Errorf("prompt: %s: %w", path, err)
	}
	return 0, out.String(), nil
}
