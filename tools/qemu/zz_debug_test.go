package qemu_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/image"
	"github.com/switchboardhq/switchboard/tools/qemu"
)

func TestZZDebug(t *testing.T) {
	if os.Getenv("ZZDEBUG") == "" {
		t.Skip()
	}
	repo := moduleRoot(t)
	work := t.TempDir()
	p := testProfile(repo, work, "0.1.0", "")
	var log strings.Builder
	if err := image.Run(context.Background(), &p, image.Options{NoCompress: true}, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	m := qemu.New(t, qemu.CopyDisk(t, p.ImagePath(), t.TempDir(), 6<<30))
	m.Boot()
	m.Login(0, qemu.BootBudget)
	time.Sleep(30 * time.Second)
	out, _ := m.Run("journalctl -b -u applianced -o verbose --no-pager | grep -E \"MESSAGE=|ERR=\" | head -30; systemctl list-jobs --no-pager; systemctl status boot-complete.target --no-pager | head", 60*time.Second)
	t.Log(out)
}
