package prompt

import (
	"context"
	"os"
	"strings"
	"time"
)

// waitDelay bounds how long a killed dialog may keep its output open.
const waitDelay = 2 * time.Second

// ZenityPrompter asks with zenity (GNOME and most desktops).
type ZenityPrompter struct{ Path string }

// pango escapes text for zenity's --text, which is Pango markup.
var pango = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Confirm implements Prompter.
func (z *ZenityPrompter) Confirm(ctx context.Context, question string) (bool, error) {
	code, _, err := run(ctx, z.Path, "--question", "--title="+title, "--width=420",
		"--ok-label="+tr("Allow"), "--cancel-label="+tr("Deny"), "--text="+pango.Replace(question))
	if err != nil {
		return false, err
	}
	return code == 0, nil
}

// PickFile implements Prompter.
func (z *ZenityPrompter) PickFile(ctx context.Context, what string) (string, error) {
	code, out, err := run(ctx, z.Path, "--file-selection", "--title="+what)
	if err != nil || code != 0 {
		return "", err
	}
	return strings.TrimSuffix(out, "\n"), nil
}

// Sharing implements Notifier: an information dialog whose button stops
// the session.
func (z *ZenityPrompter) Sharing(ctx context.Context, text string) error {
	_, _, err := run(ctx, z.Path, "--info", "--title="+title, "--width=360",
		"--ok-label="+tr("Stop sharing"), "--text="+pango.Replace(text))
	return err
}

// KDialogPrompter asks with kdialog (KDE).
type KDialogPrompter struct{ Path string }

// qtPlain keeps kdialog (Qt) from taking text for rich text, which it
// guesses from tags, and keeps text from being read as an option.
func qtPlain(s string) string {
	s = strings.NewReplacer("<", "‹", ">", "›").Replace(s)
	if strings.HasPrefix(s, "-") {
		s = " " + s
	}
	return s
}

// Confirm implements Prompter.
func (k *KDialogPrompter) Confirm(ctx context.Context, question string) (bool, error) {
	code, _, err := run(ctx, k.Path, "--title", title, "--yes-label", tr("Allow"), "--no-label", tr("Deny"),
		"--yesno", qtPlain(question))
	if err != nil {
		return false, err
	}
	return code == 0, nil
}

// PickFile implements Prompter.
func (k *KDialogPrompter) PickFile(ctx context.Context, what string) (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	code, out, err := run(ctx, k.Path, "--title", qtPlain(what), "--getopenfilename", home)
	if err != nil || code != 0 {
		return "", err
	}
	return strings.TrimSuffix(out, "\n"), nil
}

var (
	_ Prompter = (*ZenityPrompter)(nil)
	_ Notifier = (*ZenityPrompter)(nil)
	_ Prompter = (*KDialogPrompter)(nil)
	_ Prompter = (*TerminalPrompter)(nil)
)
