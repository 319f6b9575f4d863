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
	"time"

	"github.com/switchboardhq/switchboard/appliance/wire"
	"github.com/switchboardhq/switchboard/appliance/wire/stamp"
	"github.com/switchboardhq/switchboard/cmd/supportclient/prompt"
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
	p, err := choosePrompter(*promptKind, box.Lang, stdin, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "supportclient: %v\n", err)
		return 2
	}

	cfg := Config{Box: box.Host, Lang: box.Lang, Prompter: p, Out: stdout, Log: log, Downloads: downloadDir(*downloads)}
	screens, why, closeScreen := openScreen(&cfg, *display, log)
	defer closeScreen()
	cfg.Info = DeviceInfo(screens)
	cfg.Info.Refuses = refuses(cfg.Input)
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

// refuses is what in cannot send of the console's key combinations.
func refuses(in Input) []string {
	if r, ok := in.(interface{ Refuses() []string }); ok {
		return r.Refuses()
	}
	return nil
}

// downloadDir is dir if given, else the system's Downloads folder, else
// ~/Downloads when it exists, else the working directory.
func downloadDir(dir string) string {
	if dir != "" {
		return dir
	}
	if d := systemDownloads(); d != "" {
		return d
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
