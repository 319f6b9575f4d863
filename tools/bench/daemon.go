package main

import (
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/switchboardhq/switchboard/tools/daemon"
)

var (
	binMu  sync.Mutex
	binDir string // where tools/daemon built applianced
)

// startDaemon builds (once) and starts applianced in dev mode on loopback.
// The daemon stops at the latest when the tool exits.
func startDaemon(cfg config, o daemon.Options) *daemon.Daemon {
	cfg.tb.Logf("building and starting applianced")
	d := daemon.Start(cfg.tb, o)
	binMu.Lock()
	binDir = filepath.Dir(d.Bin)
	binMu.Unlock()
	return d
}

// removeBinary deletes the directory tools/daemon built applianced into; it
// runs as the tool's last cleanup, after every daemon stopped.
func removeBinary() {
	binMu.Lock()
	defer binMu.Unlock()
	if strings.HasPrefix(filepath.Base(binDir), "applianced-bin-") {
		os.RemoveAll(binDir)
	}
}
