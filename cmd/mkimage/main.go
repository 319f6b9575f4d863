// Command mkimage builds the Switchboard disk image (see package image and
// docs/image.md). `make image` runs it from the repository root.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/switchboardhq/switchboard/image"
)

func main() {
	version := flag.String("version", "0.1.0", "image version: dotted numbers")
	epoch := flag.Int64("epoch", 0, "SOURCE_DATE_EPOCH (default: the environment's, else the last commit's time)")
	out := flag.String("out", "out", "output directory")
	cache := flag.String("cache", ".cache/image", "cache directory (packages, base trees)")
	goCmd := flag.String("go", "go", "go command that builds applianced")
	fresh := flag.Bool("fresh", false, "run mmdebstrap even when a cached base tree fits")
	trust := flag.String("trust", "", "trusted update keys for applianced (mkbundle -print-trust)")
	testConsole := flag.Bool("test-console", false, "TEST image only, never to ship: root shell without password on the serial console, 45 s trial boots")
	flag.Parse()
	if *epoch == 0 {
		fmt.Sscan(os.Getenv("SOURCE_DATE_EPOCH"), epoch)
	}
	// Run from the repository root, as `make image` does.
	repo, _ := os.Getwd()
	if *epoch == 0 {
		*epoch = image.EpochFromGit(repo)
	}
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	p := image.DefaultProfile(*version, *epoch, repo, abs(*cache), abs(*out))
	p.GoCmd = *goCmd
	p.TrustedKeys = *trust
	p.TestConsole = *testConsole
	if p.TestConsole {
		fmt.Fprintln(os.Stderr, "mkimage: WARNING: -test-console builds a TEST image with a password-less root shell on the serial console; never ship it")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := image.Run(ctx, &p, image.Options{Fresh: *fresh}, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}
