package appliance

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/appliance/update"
	"github.com/switchboardhq/switchboard/image/bundle"
)

// updateBox lays out a box running 1.1.0 from slot a under a temporary
// directory and returns an installer for it and the path of a 1.2.0 bundle.
func updateBox(t *testing.T) (*update.Installer, string, *int) {
	t.Helper()
	dir := t.TempDir()
	p := update.Paths{
		ESP:        filepath.Join(dir, "efi"),
		PartLabels: filepath.Join(dir, "dev"),
		Cmdline:    filepath.Join(dir, "cmdline"),
		OSRelease:  filepath.Join(dir, "os-release"),
		State:      filepath.Join(dir, "state"),
	}
	files := map[string][]byte{
		"efi/EFI/Linux/switchboard-1.1.0-a.efi": []byte("kernel"),
		"dev/root-a":                            make([]byte, 1<<20),
		"dev/root-b":                            make([]byte, 1<<20),
		"cmdline":                               []byte("ro switchboard.slot=a\n"),
		"os-release":                            []byte("IMAGE_VERSION=1.1.0\n"),
		"state/failed-1.0.5.txt":                []byte("never became healthy\nlast line"),
		"payload/uki-a.efi":                     bytes.Repeat([]byte("a"), 3000),
		"payload/uki-b.efi":                     bytes.Repeat([]byte("b"), 3000),
		"payload/root.squashfs":                 bytes.Repeat([]byte("r"), 300<<10),
	}
	for name, data := range files {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	keys := "../image/testdata/keys/test-update"
	key, err := bundle.LoadPrivateKeyFile(keys + ".key")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(dir, "update.bundle"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	payload := map[string]string{}
	for _, n := range bundle.Payloads {
		payload[n] = filepath.Join(dir, "payload", n)
	}
	if err := bundle.Write(out, "1.2.0", time.Now(), key, payload); err != nil {
		t.Fatal(err)
	}
	reboots := 0
	in := update.New(p, []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, func(context.Context) error { reboots++; return nil })
	return in, out.Name(), &reboots
}

func TestUpdateCommand(t *testing.T) {
	ctx := context.Background()
	run := func(in *update.Installer, args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := runUpdate(ctx, in, args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	in, bundlePath, reboots := updateBox(t)
	code, out, errOut := run(in, "status")
	if code != 0 || !strings.Contains(out, "running:  1.1.0 (slot a)") || !strings.Contains(out, "WARNING: c923f0a53c54f689 is the public test key") ||
		!strings.Contains(out, "switchboard-1.1.0-a.efi") || !strings.Contains(out, "update to 1.0.5 failed: it did not become healthy\n    | never became healthy\n    | last line") {
		t.Fatalf("status: %d\n%s%s", code, out, errOut)
	}

	code, out, errOut = run(in, "install", "-no-reboot", bundlePath)
	if code != 0 || errOut != "" {
		t.Fatalf("install: %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"verifying 0%\n", "verifying 100%\n", "writing slot b 0%\n", "writing slot b 100%\n", "writing boot entry 0%\n", "writing boot entry 100%\n",
		"installed 1.2.0 into slot b (boot entry switchboard-1.2.0-b+3.efi, 3 tries to become healthy)\n", "reboot to start it; if it does not become healthy the box goes back to 1.1.0\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("install output lacks %q:\n%s", want, out)
		}
	}
	if *reboots != 0 {
		t.Error("rebooted with -no-reboot")
	}
	code, out, _ = run(in, "status")
	if code != 0 || !strings.Contains(out, "switchboard-1.2.0-b+3.efi") || !strings.Contains(out, "trying: 3 of 3 tries left") || strings.Contains(out, "failed updates:") ||
		!strings.Contains(out, "installed 1.2.0 into slot b (was running 1.1.0)") {
		t.Errorf("status after install:\n%s", out)
	}

	in2, bundle2, reboots2 := updateBox(t)
	code, out, errOut = run(in2, "install", "-tries", "5", bundle2)
	if code != 0 || *reboots2 != 1 || !strings.Contains(out, "switchboard-1.2.0-b+5.efi") || !strings.HasSuffix(out, "rebooting\n") {
		t.Errorf("install with reboot: %d %d\n%s%s", code, *reboots2, out, errOut)
	}

	for _, args := range [][]string{{}, {"install"}, {"install", "a", "b"}, {"install", "-tries", "x", "f"}, {"status", "x"}, {"bless"}} {
		if code, _, errOut := run(in, args...); code != 2 || !strings.Contains(errOut, "Usage:") {
			t.Errorf("%q: exit %d, %s", args, code, errOut)
		}
	}
	if code, _, errOut := run(in, "install", filepath.Join(t.TempDir(), "missing.bundle")); code != 1 || !strings.Contains(errOut, "no such file") {
		t.Errorf("missing bundle: %d %s", code, errOut)
	}
}

// TestUpdateThroughMain checks the wiring: this test binary is linked without
// trusted keys.
func TestUpdateThroughMain(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"update"}, "test", strings.NewReader(""), &stdout, &stderr); code != 2 {
		t.Errorf("update without a subcommand: exit %d", code)
	}
	stderr.Reset()
	code := Main(context.Background(), []string{"update", "install", "x.bundle"}, "test", strings.NewReader(""), &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "this build trusts no update key") {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}
