// Command supportclient is the program a customer downloads to let a
// technician see and use their computer: it joins the support session it
// was stamped for (docs/remote-control.md §5), asks the person at the
// keyboard before a technician sees the screen, uses the mouse and
// keyboard, or sends a file, and stops on Ctrl-C.
//
// Usage (the flags are for development; a stamped download needs none):
//
//	supportclient [-box host:port[#sha256=<hex>] -token T] [-prompt auto|zenity|kdialog|terminal] [-downloads DIR] [-display :0] [-v]
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/switchboardhq/switchboard/cmd/supportclient/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := client.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
