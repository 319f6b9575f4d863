package testenv

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A kernel VM runs a package's own tests inside QEMU on Debian's kernel,
// for tests that need kernel parts the machine running them may lack
// (this project's build machines have no 8021q or bonding). The test
// binary itself is the VM's init: RunInVM packs it with the modules into
// an initramfs, and VMInit, called from the package's TestMain when the
// binary finds itself as process 1, mounts what a test needs, loads the
// modules and runs the tests named. `make deps` fetches the kernel
// (tools/sysdeps/kernel.sh) into $SWITCHBOARD_CACHE/kernel.

const vmExitMarker = "SWITCHBOARD-VM-EXIT "

// InVM reports whether this process is a kernel VM's init.
func InVM() bool { return os.Getpid() == 1 }

// cacheDir finds the build cache: $SWITCHBOARD_CACHE, else .cache beside
// the module's go.mod.
func cacheDir() (string, error) {
	if d := os.Getenv("SWITCHBOARD_CACHE"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, ".cache"), nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = up
	}
}

// RunInVM boots this package's tests, built without cgo, as the init of a VM with the named kernel
// modules (and what they depend on) loaded, runs the tests matching
// pattern there, and fails t when they fail. The guest's output is logged.
func RunInVM(t testing.TB, pattern string, modules ...string) {
	t.Helper()
	qemu := RequireCommand(t, "qemu-system-x86_64")
	cache, err := cacheDir()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(cache, "kernel", "root")
	kernels, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	Require(t, "a Debian kernel in "+root, len(kernels) == 1, "run `make deps` (tools/sysdeps/kernel.sh) to fetch it")
	kernel := kernels[0]
	version := strings.TrimPrefix(filepath.Base(kernel), "vmlinuz-")
	mods, err := moduleOrder(filepath.Join(root, "lib", "modules", version), modules)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// The VM has no C library: the package's tests are built again
	// without cgo (go test runs in the package's directory).
	self := filepath.Join(dir, "init.test")
	build := exec.Command(RequireCommand(t, "go"), "test", "-c", "-o", self, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the tests for the VM: %v\n%s", err, out)
	}
	initrd := filepath.Join(dir, "initrd.cpio")
	args := []string{"-test.run=" + pattern, "-test.v", "-test.count=1"}
	env := []string{"SWITCHBOARD_REQUIRE_ALL=" + os.Getenv("SWITCHBOARD_REQUIRE_ALL")}
	if err := writeInitramfs(initrd, self, mods, args, env); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, "-machine", "q35", "-accel", "tcg,thread=multi", "-cpu", "max",
		"-smp", "2", "-m", "1024", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
		"-serial", "stdio", "-monitor", "none", "-net", "none",
		"-kernel", kernel, "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 quiet loglevel=3 rdinit=/init")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	text := strings.ReplaceAll(out.String(), "\r\n", "\n")
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		t.Log("vm: " + line)
	}
	m := regexp.MustCompile(vmExitMarker + `(\d+)`).FindStringSubmatch(text)
	switch {
	case m == nil:
		t.Fatalf("the VM ended without running the tests to the end (qemu: %v)", runErr)
	case m[1] != "0":
		t.Fatalf("the tests in the VM failed (exit %s)", m[1])
	}
}

// moduleOrder resolves modules and what they depend on (the depends=
// field of each module's .modinfo: a kernel package has no modules.dep
// until depmod runs), dependencies first. A name no module file has is
// built into the kernel.
func moduleOrder(modDir string, names []string) ([]string, error) {
	byName := map[string]string{}
	err := filepath.WalkDir(filepath.Join(modDir, "kernel"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".ko") {
			byName[modName(strings.TrimSuffix(d.Name(), ".ko"))] = p
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	var order []string
	seen := map[string]bool{}
	var visit func(name string) error
	visit = func(name string) error {
		p, ok := byName[modName(name)]
		if !ok || seen[p] {
			return nil
		}
		seen[p] = true
		deps, err := moduleDepends(p)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		order = append(order, p)
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return order, nil
}

func modName(s string) string { return strings.ReplaceAll(s, "-", "_") }

// moduleDepends reads the depends= entry of a module's .modinfo section.
func moduleDepends(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("%s has no .modinfo", path)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, err
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			if len(v) == 0 {
				return nil, nil
			}
			return strings.Split(string(v), ","), nil
		}
	}
	return nil, nil
}

// writeInitramfs writes a newc cpio archive: /init (the binary), the
// modules in load order, the arguments and environment for the tests, and
// the device nodes init needs before it mounts devtmpfs.
func writeInitramfs(path, init string, mods, args, env []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := &cpioWriter{w: bufio.NewWriter(f)}
	for _, d := range []string{"dev", "proc", "sys", "tmp", "modules"} {
		w.entry(d, unix.S_IFDIR|0o755, 0, nil)
	}
	w.entry("dev/console", unix.S_IFCHR|0o600, unix.Mkdev(5, 1), nil)
	w.entry("dev/null", unix.S_IFCHR|0o666, unix.Mkdev(1, 3), nil)
	bin, err := os.ReadFile(init)
	if err != nil {
		return err
	}
	w.entry("init", unix.S_IFREG|0o755, 0, bin)
	for i, m := range mods {
		data, err := os.ReadFile(m)
		if err != nil {
			return err
		}
		w.entry(fmt.Sprintf("modules/%02d-%s", i, filepath.Base(m)), unix.S_IFREG|0o644, 0, data)
	}
	w.entry("args", unix.S_IFREG|0o644, 0, []byte(strings.Join(args, "\n")))
	w.entry("env", unix.S_IFREG|0o644, 0, []byte(strings.Join(env, "\n")))
	w.entry("TRAILER!!!", 0, 0, nil)
	if w.err == nil {
		w.err = w.w.Flush()
	}
	if err := f.Close(); w.err == nil {
		w.err = err
	}
	return w.err
}

type cpioWriter struct {
	w   *bufio.Writer
	ino int
	n   int64
	err error
}

func (c *cpioWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	var n int
	n, c.err = c.w.Write(b)
	c.n += int64(n)
}

func (c *cpioWriter) pad() {
	if r := c.n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

func (c *cpioWriter) entry(name string, mode uint32, rdev uint64, data []byte) {
	c.ino++
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, 1, 0, len(data), 0, 0, unix.Major(rdev), unix.Minor(rdev), len(name)+1, 0)
	c.write([]byte(hdr))
	c.write([]byte(name + "\x00"))
	c.pad()
	c.write(data)
	c.pad()
}

// VMInit is the kernel VM's init: it mounts /proc, /sys, /dev and /tmp,
// loads the modules, runs the tests with the arguments RunInVM chose,
// prints the exit code for the host and powers the VM off. It never
// returns.
func VMInit(run func() int) {
	code := 1
	defer func() {
		fmt.Printf("\n%s%d\n", vmExitMarker, code)
		unix.Sync()
		unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
		os.Exit(code)
	}()
	for _, m := range []struct{ src, dst, kind string }{
		{"proc", "/proc", "proc"}, {"sysfs", "/sys", "sysfs"}, {"devtmpfs", "/dev", "devtmpfs"}, {"tmpfs", "/tmp", "tmpfs"},
	} {
		if err := unix.Mount(m.src, m.dst, m.kind, 0, ""); err != nil {
			fmt.Printf("vm init: mounting %s: %v\n", m.dst, err)
			return
		}
	}
	mods, _ := filepath.Glob("/modules/*.ko")
	for _, m := range mods {
		if err := loadModule(m); err != nil {
			fmt.Printf("vm init: loading %s: %v\n", filepath.Base(m), err)
			return
		}
	}
	os.Setenv("TMPDIR", "/tmp")
	os.Setenv("PATH", "/")
	if env, err := os.ReadFile("/env"); err == nil {
		for _, kv := range strings.Split(string(env), "\n") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				os.Setenv(k, v)
			}
		}
	}
	if args, err := os.ReadFile("/args"); err == nil {
		os.Args = append(os.Args[:1], strings.Split(string(args), "\n")...)
	}
	code = run()
}

func loadModule(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	err = unix.FinitModule(int(f.Fd()), "", 0)
	if err == unix.EEXIST {
		return nil
	}
	return err
}
