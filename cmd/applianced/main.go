// Command applianced is the Switchboard appliance daemon: the public site,
// the technician console, /login, /appliance and the remote-control relay.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	// The sites' opening hours need every IANA time zone, whatever the
	// root file system holds.
	_ "time/tzdata"

	"github.com/switchboardhq/switchboard/appliance"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.0.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := appliance.Main(ctx, os.Args[1:], version, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
