package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Bounds of the Wine helpers. A fresh prefix takes the longest.
const (
	winebootTimeout = 4 * time.Minute
	buildTimeout    = 3 * time.Minute
	xdotoolTimeout  = 20 * time.Second
)

// shimSource is a bcryptprimitives.dll for Wine 8, which lacks it: the Go
// runtime (1.24 and later) loads it from the system directory at start for
// ProcessPrng. It fills the buffer from RtlGenRandom, in pieces that fit
// its ULONG length. Test scaffolding only: Windows has the real one.
const shimSource = `#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE out, SIZE_T n)
{
	while (n > 0) {
		ULONG part = n > 0x10000000 ? 0x10000000 : (ULONG)n;
		if (!RtlGenRandom(out, part))
			return FALSE;
		out += part;
		n -= part;
	}
	return TRUE;
}
`

const shimDef = "LIBRARY bcryptprimitives\nEXPORTS\n\tProcessPrng\n"

// Wine is a fresh Wine prefix (Debian's wine, 64-bit) on an X display,
// ready to run windows/amd64 Go programs.
type Wine struct {
	Wine, Server string
	Prefix       string
	Env          []string // the environment of every Wine command
}

// NewWine requires wine, wineserver and the MinGW compiler, boots a prefix
// in a temporary directory showing its windows on display, and installs
// the bcryptprimitives.dll shim (built here from source) in its system32.
// The test's cleanup ends every process of the prefix.
func NewWine(t testing.TB, display string) *Wine {
	t.Helper()
	w := &Wine{Wine: RequireCommand(t, "wine"), Server: RequireCommand(t, "wineserver")}
	gcc := RequireCommand(t, "x86_64-w64-mingw32-gcc")
	dir := t.TempDir()
	w.Prefix = filepath.Join(dir, "prefix")
	// Wine links the prefix's Documents, Downloads and Desktop to the
	// home folder: a home of its own keeps what a test saves there out of
	// the real one.
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	w.Env = append(os.Environ(),
		"HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"WINEPREFIX="+w.Prefix,
		"WINEDEBUG=-all",
		"WINEARCH=win64",
		"WINEDLLOVERRIDES=mscoree,mshtml=;winemenubuilder.exe=d", // no Mono, Gecko or menu entries
		"DISPLAY="+display,
		"LC_ALL=C.UTF-8",
	)
	t.Cleanup(func() {
		kill := exec.Command(w.Server, "-k")
		kill.Env = w.Env
		kill.Run()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		wait := exec.CommandContext(ctx, w.Server, "-w")
		wait.Env = w.Env
		wait.Run()
	})
	booted := make(chan error, 1)
	go func() { booted <- w.boot() }()
	shim := filepath.Join(dir, "bcryptprimitives.dll")
	shimErr := buildShim(gcc, dir, shim)
	if err := <-booted; err != nil {
		t.Fatal(err)
	}
	if shimErr != nil {
		t.Fatal(shimErr)
	}
	// Go loads bcryptprimitives.dll from the system directory only
	// (LOAD_LIBRARY_SEARCH_SYSTEM32): beside the .exe it is not found.
	dll, err := os.ReadFile(shim)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.Prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll"), dll, 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

// boot creates the prefix and waits until its programs have finished.
func (w *Wine) boot() error {
	ctx, cancel := context.WithTimeout(context.Background(), winebootTimeout)
	defer cancel()
	for _, argv := range [][]string{{w.Wine, "wineboot", "-i"}, {w.Server, "-w"}} {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = w.Env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out)
		}
	}
	return nil
}

// Command is exe (a Unix path) run with args under Wine.
func (w *Wine) Command(ctx context.Context, exe string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, w.Wine, append([]string{exe}, args...)...)
	cmd.Env = w.Env
	return cmd
}

func buildShim(gcc, dir, dll string) error {
	src, def := filepath.Join(dir, "bcp.c"), filepath.Join(dir, "bcp.def")
	if err := os.WriteFile(src, []byte(shimSource), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(def, []byte(shimDef), 0o644); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, gcc, "-shared", "-O2", "-o", dll, src, def, "-ladvapi32").CombinedOutput(); err != nil {
		return fmt.Errorf("build the bcryptprimitives.dll shim: %v\n%s", err, out)
	}
	return nil
}

// GoWindows runs the go command (in dir, "" for the working directory)
// for windows/amd64, as the appliance cross-compiles the support app.
func GoWindows(dir string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// WinPath is a Unix path as Wine's Z: drive shows it.
func WinPath(p string) string {
	return "Z:" + strings.ReplaceAll(p, "/", `\`)
}

// Xdo runs xdotool on an X display, as the person at the keyboard.
type Xdo struct {
	t    testing.TB
	path string
	env  []string
}

// NewXdo requires xdotool; env holds the DISPLAY.
func NewXdo(t testing.TB, env []string) *Xdo {
	t.Helper()
	return &Xdo{t: t, path: RequireCommand(t, "xdotool"), env: env}
}

// Run runs xdotool with args; a failure fails the test.
func (x *Xdo) Run(args ...string) string {
	x.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), xdotoolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, x.path, args...)
	cmd.Env = x.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		x.t.Errorf("xdotool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// All returns the ids of the windows X shows named title, now.
func (x *Xdo) All(title string) []string {
	cmd := exec.Command(x.path, "search", "--onlyvisible", "--name", "^"+regexp.QuoteMeta(title)+"$")
	cmd.Env = x.env
	out, _ := cmd.Output()
	return strings.Fields(string(out))
}

// Find waits until X shows a window named title, bigger than minSide
// pixels on each side and not one of except, and returns its id ("" and a
// test error if none came within the bound).
func (x *Xdo) Find(title string, minSide int, except ...string) string {
	x.t.Helper()
	deadline := time.Now().Add(xdotoolTimeout)
	for {
		cmd := exec.Command(x.path, "search", "--onlyvisible", "--name", "^"+regexp.QuoteMeta(title)+"$")
		cmd.Env = x.env
		out, _ := cmd.Output()
		for _, id := range strings.Fields(string(bytes.TrimSpace(out))) {
			if slices.Contains(except, id) {
				continue
			}
			if minSide <= 0 {
				return id
			}
			geo := exec.Command(x.path, "getwindowgeometry", "--shell", id)
			geo.Env = x.env
			g, err := geo.Output()
			var w, h int
			for _, kv := range strings.Fields(string(g)) {
				fmt.Sscanf(kv, "WIDTH=%d", &w)
				fmt.Sscanf(kv, "HEIGHT=%d", &h)
			}
			if err == nil && w > minSide && h > minSide {
				return id
			}
		}
		if time.Now().After(deadline) {
			x.t.Errorf("xdotool found no window named %q within %v", title, xdotoolTimeout)
			return ""
		}
		time.Sleep(50 * time.Millisecond) // polling the X server for a window: no event to wait on
	}
}
