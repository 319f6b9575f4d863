package e2e

import (
	"os"
	"testing"

	"github.com/switchboardhq/switchboard/tools/daemon"
)

func TestMain(m *testing.M) {
	code := m.Run()
	daemon.RemoveBinary()
	os.Exit(code)
}
