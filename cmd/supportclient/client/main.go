package client

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/i18n"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/switchboardhq/switchboard/appliance/wire"
	"github.com/switchboardhq/switchboard/appliance/wire/stamp"
	"github.com/switchboardhq/switchboard/cmd/supportclient/prompt"
	"github.com/switchboardhq/switchboard/cmd/supportclient/x11"
)

// closeWait bounds how long the program waits for the box to take its
// Close before hanging up.
const closeWait = 2 * time.Second

// Main is the support client program: it reads the stamp (or the
// development flags), connects to the box and runs the session. It
// returns the exit status: 0 when the customer stopped, 1 when the
// session failed or was closed, 2 for usage errors.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("supportclient", flag.ContinueOnError)
	fs.SetOutput(stderr)
	boxFlag := fs.String("box", "", "box address host:port[#sha256=<hex>] (development; overrides the stamp)")
	tokenFlag := fs.String("token", "", "session token (development; overrides the stamp)")
	promptKind := fs.String("prompt", prompt.Auto, "how to ask: auto, zenity, kdialog or terminal")
	downloads := fs.String("downloads", "", "directory for received files (default ~/Downloads, else the working directory)")
	display := fs.String("display", "", "X display to share (default $DISPLAY)")
	verbose := fs.Bool("v", false, "log details to standard error")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	token, addr, err := stamp.Self()
	if *boxFlag != "" || *tokenFlag != "" {
		token, addr, err = *tokenFlag, *boxFlag, nil
		if token == "" || addr == "" {
			fmt.Fprintln(stderr, "supportclient: -box and -token go together")
			return 2
		}
	}
	if err != nil {
		// No stamp, so no language: English.
		fmt.Fprintln(stdout, "This program does not know which support session to join.")
		fmt.Fprintln(stdout, "Download it again from the support page and run the new copy.")
		log.Debug("stamp", "err", err)
		return 2
	}
	box, err := ParseBox(addr)
	if err != nil {
		fmt.Fprintf(stderr, "supportclient: %v\n", err)
		return 2
	}
	say := func(format string, args ...any) { fmt.Fprintln(stdout, i18n.T(box.Lang, format, args...)) }
	prompt.SetLanguage(box.Lang)
	if box.Site != "" {
		prompt.SetTitle(i18n.T(box.Lang, "%s remote support", box.Site))
	} else {
		prompt.SetTitle(i18n.T(box.Lang, "Switchboard remote support"))
	}
	p, err := prompt.Choose(*promptKind, stdin, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "supportclient: %v\n", err)
		return 2
	}

	cfg := Config{Box: box.Host, Lang: box.Lang, Prompter: p, Out: stdout, Log: log, Downloads: downloadDir(*downloads)}
	var screens []wire.Screen
	d, why := openDisplay(*display, log)
	if d != nil {
		defer d.Close()
		cfg.Screen, cfg.Input = capturer{d}, d
		w, h := d.Size()
		screens = []wire.Screen{{Width: w, Height: h}}
		cfg.Clipboard = d.SetClipboard
		cfg.ReadClipboard = func() (string, error) { return d.Clipboard(wire.MaxClipboard) }
		cfg.WatchClipboard = d.ClipboardChanges
	}
	cfg.Info = DeviceInfo(screens)
	if why != "" {
		cfg.Info.Note = why
		say("Note: %s. The technician can still chat with you and exchange files.", i18n.Text(box.Lang, why))
	}

	say("Connecting to %s…", box.Host)
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	link, err := Dial(dctx, box)
	cancel()
	switch {
	case errors.Is(err, ErrWrongCertificate):
		// Not a network problem: retrying or checking the connection
		// would not help, and connecting anyway would not be safe.
		say("Did not connect to %s: the server that answered is not the support appliance this app was made for (%v).", box.Host, err)
		say("Download the support app again from your support session page, then open the new one. If it happens again, tell your technician.")
		return 1
	case err != nil:
		say("Could not connect to %s: %v", box.Host, err)
		say("Check your internet connection and try again.")
		return 1
	}
	log.Debug("connected", "transport", link.Transport())
	err = Run(ctx, link, wire.Hello{Token: token, DeviceID: DeviceID()}, cfg)
	link.Hangup(closeWait) // our side is done; let the box read the Close
	var closed *ClosedError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &closed):
		say("The session was closed: %s", prompt.Clean(closed.Close.Reason, wire.MaxReason))
	default:
		say("The session ended: %v", err)
	}
	return 1
}

// capturer adapts a display to Screen.
type capturer struct{ d *x11.Display }

func (c capturer) Capture() ([]byte, int, int, error) { return c.d.Capture() }

// openDisplay connects to the X display to share, or says why the screen
// cannot be shared.
func openDisplay(name string, log *slog.Logger) (*x11.Display, string) {
	if runtime.GOOS != "linux" {
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

// downloadDir is dir if given, else ~/Downloads when it exists, else the
// working directory.
func downloadDir(dir string) string {
	if dir != "" {
		return dir
	}
	if home, err := os.UserHomeDir(); err == nil {
		d := filepath.Join(home, "Downloads")
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	if wd, err := os.Getwd(); err == nil {
		return wd
	}
	return "."
}
