// Package appliance is the composition root of applianced: it reads the
// configuration, opens the store, builds every subsystem, binds the
// listeners, tells systemd it is ready and stops everything in reverse order.
// It is the only package that wires subsystems together, and only
// cmd/applianced imports it.
package appliance

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/switchboardhq/switchboard/appliance/config"
	"github.com/switchboardhq/switchboard/appliance/store"
	"github.com/switchboardhq/switchboard/appliance/sysd"
)

const usage = `Usage:
  applianced [-dev [-demo] [-net-apply]] [-config FILE]
                                                   run the appliance
  applianced [-dev] [-config FILE] backup FILE     copy the live store to FILE
  applianced [-dev] [-config FILE] restore FILE    restore FILE into an empty state directory
  applianced [-config FILE] console                the console menu (the box's screen and serial port)
  applianced version                               print the version
  applianced update install [-force] [-tries N] [-no-reboot] BUNDLE
                                                   install a signed update and reboot into it
  applianced update status                         running version, boot entries, failed updates
`

// Main runs the command line args (without the program name) and returns the
// process exit code.
func Main(ctx context.Context, args []string, version string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("applianced", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	dev := fs.Bool("dev", false, "development mode: loopback ports 8443/8080, state in ./var, simulated hardware")
	path := fs.String("config", "", "configuration file (default "+config.DefaultPath+", none in -dev)")
	demo := fs.Bool("demo", false, "with -dev: fill an empty desk with demo channels, teams and technicians")
	netApply := fs.Bool("net-apply", false, "with -dev: let /appliance change the network (only inside a network namespace of its own)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.Arg(0) == "version" {
		fmt.Fprintln(stdout, "applianced", version)
		return 0
	}
	if fs.Arg(0) == "update" {
		return updateMain(ctx, fs.Args()[1:], stdout, stderr)
	}
	cfg, err := loadConfig(*dev, *path)
	if err != nil {
		fmt.Fprintln(stderr, "applianced:", err)
		return 2
	}
	rest := fs.Args()
	if len(rest) == 1 && rest[0] == "console" {
		return consoleMain(ctx, cfg.StateDir, cfg.Dev, version, stdin, stdout)
	}
	switch {
	case len(rest) == 0 || rest[0] == "run":
		log := sysd.NewLogger(stderr, levelOf(cfg.LogLevel))
		if *demo && !cfg.Dev {
			fmt.Fprintln(stderr, "applianced: -demo works only with -dev; a real box never gets demo accounts")
			return 2
		}
		if err := Run(ctx, cfg, Env{Stdout: stdout, Log: log, Version: version, Demo: *demo, NetApply: *netApply}); err != nil {
			log.Error("applianced stopped", "err", err)
			return 1
		}
		return 0
	case rest[0] == "backup" && len(rest) == 2:
		n, err := BackupTo(ctx, cfg, rest[1])
		if err != nil {
			fmt.Fprintln(stderr, "applianced: backup:", err)
			return 1
		}
		fmt.Fprintf(stdout, "backup written to %s (%d bytes)\n", rest[1], n)
		return 0
	case rest[0] == "restore" && len(rest) == 2:
		if err := store.Restore(rest[1], cfg.StateDir); err != nil {
			fmt.Fprintln(stderr, "applianced: restore:", err)
			if errors.Is(err, store.ErrNotEmpty) {
				fmt.Fprintln(stderr, "Stop applianced and move the current store away first.")
			}
			return 1
		}
		fmt.Fprintf(stdout, "restored %s into %s; start applianced to use it\n", rest[1], cfg.StateDir)
		return 0
	}
	fs.Usage()
	return 2
}

func loadConfig(dev bool, path string) (config.Config, error) {
	base := config.Box()
	if dev {
		base = config.Dev()
	}
	switch {
	case path != "":
		return config.Load(path, base, true)
	case dev:
		return base, base.Validate()
	}
	return config.Load(config.DefaultPath, base, false)
}

func levelOf(s string) slog.Level {
	var l slog.Level
	l.UnmarshalText([]byte(strings.ToUpper(s)))
	return l
}
