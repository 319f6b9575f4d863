// Package qemu boots a Switchboard disk image in QEMU for tests: UEFI
// (OVMF) with a per-machine copy of the firmware variables, the disk as
// virtio, the serial console captured and searchable for markers, and QMP
// for a clean ACPI power-off.
//
// The guest's network is QEMU's user-mode stack with the guest's TCP and UDP
// 443 forwarded to one port on 127.0.0.1. QEMU's restrict=on option would
// cut the guest off from everything else, but it also drops every UDP packet
// the guest sends, forwarded ports included, which rules out HTTP/3.
// Instead QEMU runs in a network namespace of its own that has nothing but a
// loopback interface: the guest can reach nothing beyond the forwarded
// ports, and tests reach those through Machine.DialContext and
// Machine.ListenUDP, which open their sockets inside that namespace. This
// needs root.
//
// KVM on the project's machines is a nested PVM that cannot run OVMF guests,
// so machines run under TCG unless SWITCHBOARD_QEMU_ACCEL says otherwise
// (for example "kvm" on a machine where it works).
package qemu

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/tools/testenv"
)

// Firmware files of Debian's ovmf package.
const (
	OVMFCode = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	OVMFVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
)

// BootBudget is how long a boot may take under TCG before a test gives up.
const BootBudget = 180 * time.Second

// AccelEnv names the environment variable that overrides the accelerator
// (default "tcg,thread=multi").
const AccelEnv = "SWITCHBOARD_QEMU_ACCEL"

// GuestPort is the port on the namespace's 127.0.0.1 that leads to the
// guest's TCP and UDP 443.
const GuestPort = 10443

// The second network card's network, the static address a test gives the
// guest there, and the port of the namespace's 127.0.0.1 that leads to
// that address's TCP 443.
const (
	SecondNet       = "10.0.3.0/24"
	SecondGuestAddr = "10.0.3.50"
	SecondGuestPort = 10444
)

// Require skips or fails t (see testenv.Require) unless it runs as root and
// QEMU, OVMF, unshare and ip are installed.
func Require(t testing.TB) {
	t.Helper()
	testenv.RequireRoot(t)
	testenv.RequireCommand(t, "qemu-system-x86_64")
	testenv.RequireCommand(t, "unshare")
	testenv.RequireCommand(t, "ip")
	_, err := os.Stat(OVMFCode)
	testenv.Require(t, "ovmf", err == nil, fmt.Sprintf("%v; install the ovmf package (see `make deps`)", err))
}

// Machine is one virtual machine: a disk and its firmware variables, which
// survive power cycles, and the QEMU process of the current boot.
type Machine struct {
	t    testing.TB
	dir  string
	Disk string
	// Snapshot discards the guest's disk writes at power-off.
	Snapshot bool
	// ExtraDisks are raw files attached read-only as further virtio disks,
	// in order after Disk; in the guest each is
	// /dev/disk/by-id/virtio-extraN (N from 0).
	ExtraDisks []string
	// SecondNIC adds a second network card on its own user-mode network
	// (SecondNet, with DHCP), whose SecondGuestAddr:443 the test reaches at
	// Addr2 once the guest has that address.
	SecondNIC bool

	cmd     *exec.Cmd
	stdin   io.WriteCloser
	runs    int
	netns   *os.File
	qmpConn net.Conn
	qmpR    *bufio.Reader
	done    chan error
	console *Console
	qmp     string
	started time.Time
}

// New makes a machine that boots disk (a raw image the machine may write;
// the caller passes a copy). It is killed, if still running, when the test
// ends.
func New(t testing.TB, disk string) *Machine {
	t.Helper()
	Require(t)
	dir := t.TempDir()
	vars := filepath.Join(dir, "OVMF_VARS.fd")
	b, err := os.ReadFile(OVMFVars)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vars, b, 0o644); err != nil {
		t.Fatal(err)
	}
	m := &Machine{t: t, dir: dir, Disk: disk}
	t.Cleanup(m.Kill)
	return m
}

// CopyDisk copies the image src to a sparse file in dir, grown to size bytes
// when size is larger, and returns its path: the disk of a machine that must
// In makes the machine report failures to t, a subtest, until the
// returned function gives them back to the test that made it: a subtest
// must not fail its parent (t.FailNow there ends the wrong goroutine).
func (m *Machine) In(t testing.TB) (restore func()) {
	parent := m.t
	m.t = t
	return func() { m.t = parent }
}

// not change src.
func CopyDisk(t testing.TB, src, dir string, size int64) string {
	t.Helper()
	dst := filepath.Join(dir, "disk.img")
	cmd := exec.Command("cp", "--sparse=always", "--", src, dst)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v\n%s", src, err, out)
	}
	if size > 0 {
		st, err := os.Stat(dst)
		if err != nil {
			t.Fatal(err)
		}
		if size > st.Size() {
			if err := os.Truncate(dst, size); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dst
}

// Args are QEMU's arguments for the next boot.
func (m *Machine) Args() []string {
	accel := os.Getenv(AccelEnv)
	if accel == "" {
		accel = "tcg,thread=multi"
	}
	drive := "file=" + m.Disk + ",format=raw,if=virtio,cache=unsafe"
	if m.Snapshot {
		drive += ",snapshot=on"
	}
	fwd := fmt.Sprintf("hostfwd=tcp:127.0.0.1:%d-:443,hostfwd=udp:127.0.0.1:%d-:443", GuestPort, GuestPort)
	args := []string{
		"-machine", "q35", "-accel", accel, "-cpu", "max", "-smp", "2", "-m", "2048",
		"-nodefaults", "-display", "none", "-vga", "std",
		"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + OVMFCode,
		"-drive", "if=pflash,format=raw,unit=1,file=" + filepath.Join(m.dir, "OVMF_VARS.fd"),
		"-drive", drive,
		"-device", "virtio-rng-pci",
	}
	for i, d := range m.ExtraDisks {
		args = append(args,
			"-drive", fmt.Sprintf("file=%s,format=raw,if=none,id=extra%d,readonly=on", d, i),
			"-device", fmt.Sprintf("virtio-blk-pci,drive=extra%d,serial=extra%d", i, i))
	}
	args = append(args,
		// Not restrict=on (see the package doc): the network namespace
		// isolates the guest.
		"-nic", "user,model=virtio-net-pci,"+fwd,
	)
	if m.SecondNIC {
		args = append(args, "-nic", fmt.Sprintf("user,model=virtio-net-pci,net=%s,hostfwd=tcp:127.0.0.1:%d-%s:443", SecondNet, SecondGuestPort, SecondGuestAddr))
	}
	return append(args,
		"-serial", "stdio",
		// QEMU connects to the test's QMP socket.
		"-chardev", "socket,id=qmp,path="+m.qmp,
		"-mon", "chardev=qmp,mode=control",
	)
}

// Boot starts QEMU. The serial console of this boot is m.Console().
func (m *Machine) Boot() {
	t := m.t
	t.Helper()
	if m.cmd != nil {
		t.Fatal("qemu: Boot while the machine runs")
	}
	m.qmp = filepath.Join(m.dir, "qmp.sock")
	os.Remove(m.qmp)
	ln, err := net.Listen("unix", m.qmp)
	if err != nil {
		t.Fatal(err)
	}
	m.console = newConsole()
	// A new network namespace with only loopback, up; unshare and sh exec
	// QEMU, so the process is QEMU's.
	argv := append([]string{"--net", "--", "sh", "-c", `ip link set lo up && exec "$0" "$@"`, "qemu-system-x86_64"}, m.Args()...)
	cmd := exec.Command("unshare", argv...)
	cmd.Stdout = m.console
	cmd.Stderr = m.console
	// The serial console's input (see Type).
	stdin, err := cmd.StdinPipe()
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		ln.Close()
		t.Fatalf("qemu: %v", err)
	}
	m.stdin = stdin
	m.started = time.Now()
	m.cmd = cmd
	m.done = make(chan error, 1)
	go func() {
		err := cmd.Wait()
		m.console.close()
		m.done <- err
	}()
	// QEMU connects to the QMP socket once it runs, in its namespace with
	// loopback up.
	if err := m.acceptQMP(ln); err != nil {
		m.Kill()
		t.Fatalf("qemu: %v\n%s", err, m.console.String())
	}
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid)
	if ns, err := os.Readlink(path); err != nil || ns == self {
		m.Kill()
		t.Fatalf("qemu is not in a network namespace of its own (%s: %q, %v)", path, ns, err)
	}
	if m.netns, err = os.Open(path); err != nil {
		m.Kill()
		t.Fatal(err)
	}
}

// acceptQMP waits for QEMU to connect to the QMP socket and negotiates
// capabilities.
func (m *Machine) acceptQMP(ln net.Listener) error {
	defer ln.Close()
	type accepted struct {
		c   net.Conn
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		c, err := ln.Accept()
		ch <- accepted{c, err}
	}()
	select {
	case a := <-ch:
		if a.err != nil {
			return a.err
		}
		m.qmpConn, m.qmpR = a.c, bufio.NewReader(a.c)
	case err := <-m.done:
		m.done <- err
		return fmt.Errorf("qemu exited at start: %v", err)
	case <-time.After(60 * time.Second):
		return fmt.Errorf("qemu did not connect to QMP within 60s")
	}
	m.qmpConn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := m.qmpR.ReadBytes('\n'); err != nil { // greeting
		return fmt.Errorf("qmp greeting: %w", err)
	}
	return m.QMP("qmp_capabilities")
}

// inNamespace runs f on an OS thread that has entered the machine's network
// namespace. The thread never returns to the pool: it ends with f.
func (m *Machine) inNamespace(f func() error) error {
	if m.netns == nil {
		return fmt.Errorf("qemu: the machine is not running")
	}
	fd := m.netns.Fd()
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread left the process's namespace.
		if err := setns(fd, syscall.CLONE_NEWNET); err != nil {
			ch <- fmt.Errorf("setns: %w", err)
			return
		}
		ch <- f()
	}()
	return <-ch
}

// Addr is the address, in the machine's namespace, of the guest's port 443.
func (m *Machine) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(GuestPort)) }

// Addr2 is where SecondGuestAddr:443 answers, through DialContext.
func (m *Machine) Addr2() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(SecondGuestPort)) }

// DialContext opens a connection in the machine's network namespace (for
// http.Transport.DialContext); address must be an IP address and port.
func (m *Machine) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var c net.Conn
	err := m.inNamespace(func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, address)
		return err
	})
	return c, err
}

// ListenUDP opens a UDP socket on 127.0.0.1 in the machine's network
// namespace (for a QUIC client).
func (m *Machine) ListenUDP() (*net.UDPConn, error) {
	var c *net.UDPConn
	err := m.inNamespace(func() (err error) {
		c, err = net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		return err
	})
	return c, err
}

// Type sends text to the serial console, as typed on its keyboard.
func (m *Machine) Type(text string) {
	m.t.Helper()
	if m.stdin == nil {
		m.t.Fatal("qemu: Type while the machine is not running")
	}
	if _, err := io.WriteString(m.stdin, text); err != nil {
		m.t.Fatalf("qemu: typing on the serial console: %v", err)
	}
}

// Mark is the console's current length: WaitSince(re, Mark(), ...) looks
// only at what the console prints from now on, as after a reboot of the
// guest (QEMU keeps running, and the console keeps every boot's output).
func (m *Machine) Mark() int { return m.console.Len() }

// WaitSince waits up to budget until re matches the console output after
// mark, and returns the submatches. It fails the test when QEMU exits first
// or the budget runs out.
func (m *Machine) WaitSince(re *regexp.Regexp, mark int, budget time.Duration) []string {
	m.t.Helper()
	match, err := m.console.WaitForFrom(re, mark, time.Now().Add(budget))
	if err != nil {
		m.t.Fatalf("qemu: waiting for %q: %v\nserial console (last 6 KiB):\n%s", re, err, m.console.Tail(6<<10))
	}
	return match
}

// Login waits up to budget for a shell prompt on the serial console after
// mark, pressing Enter every few seconds. Only a TEST image (the image
// package's Profile.TestConsole) logs root in on the serial console; a real
// box has no shell.
func (m *Machine) Login(mark int, budget time.Duration) {
	m.t.Helper()
	prompt := regexp.MustCompile(`root@[\w-]+:[^\n]*# `)
	deadline := time.Now().Add(budget)
	for {
		from := m.Mark()
		m.Type("\r")
		if from < mark {
			from = mark
		}
		wait := time.Now().Add(5 * time.Second)
		if wait.After(deadline) {
			wait = deadline
		}
		if _, err := m.console.WaitForFrom(prompt, from, wait); err == nil {
			break
		} else if err == io.ErrUnexpectedEOF || !time.Now().Before(deadline) {
			m.t.Fatalf("qemu: no root shell on the serial console within %v (a TEST console image?): %v\n%s", budget, err, m.console.Tail(6<<10))
		}
	}
	// Keep kernel messages off the console; commands' output stays readable.
	m.Run("dmesg -n 1", 30*time.Second)
}

// Run types a shell command on the serial console of a logged-in TEST image
// (see Login) and waits up to budget for it to finish. It returns what the
// command printed (with carriage returns removed; console messages of the
// system may be mixed in) and its exit status.
func (m *Machine) Run(command string, budget time.Duration) (string, int) {
	m.t.Helper()
	m.runs++
	// The markers printed differ from the typed line (quotes), so the
	// terminal's echo of the command never matches.
	n := strconv.Itoa(m.runs)
	begin, end := "@@"+n+"b", "@@"+n+"e"
	re := regexp.MustCompile(`(?s)` + begin + `\r?\n(.*?)` + end + `(\d+)\r?\n`)
	mark := m.Mark()
	m.Type(fmt.Sprintf("echo @@%q\"b\"; %s; echo @@%q\"e\"$?\r", n, command, n))
	match := m.WaitSince(re, mark, budget)
	code, _ := strconv.Atoi(match[2])
	return strings.ReplaceAll(match[1], "\r", ""), code
}

// Started is when the current boot's QEMU process started.
func (m *Machine) Started() time.Time { return m.started }

// Console is the serial console of the current (or last) boot.
func (m *Machine) Console() *Console { return m.console }

// WaitFor waits until re matches the serial console of this boot and
// returns the submatches; it fails the test when QEMU exits first or the
// boot budget runs out.
func (m *Machine) WaitFor(re *regexp.Regexp) []string {
	m.t.Helper()
	deadline := m.started.Add(BootBudget)
	match, err := m.console.WaitFor(re, deadline)
	if err != nil {
		m.t.Fatalf("qemu: waiting for %q: %v\nserial console (last 6 KiB):\n%s", re, err, m.console.Tail(6<<10))
	}
	return match
}

// PowerOff presses the power button (ACPI, through QMP), waits for the
// guest to shut down and QEMU to exit, and leaves the machine ready to Boot
// again with the same disk and firmware variables.
func (m *Machine) PowerOff() {
	m.t.Helper()
	if m.cmd == nil {
		return
	}
	if err := m.QMP("system_powerdown"); err != nil {
		m.t.Fatalf("qemu: system_powerdown: %v", err)
	}
	select {
	case err := <-m.done:
		m.cmd = nil
		m.closeNamespace()
		if err != nil {
			m.t.Fatalf("qemu exited with %v after power-off\n%s", err, m.console.Tail(4<<10))
		}
	case <-time.After(BootBudget):
		m.Kill()
		m.t.Fatalf("qemu: the guest did not power off within %v\n%s", BootBudget, m.console.Tail(6<<10))
	}
}

// Kill stops QEMU at once (the test's clean-up calls it).
func (m *Machine) Kill() {
	if m.cmd == nil {
		return
	}
	m.cmd.Process.Kill()
	<-m.done
	m.cmd = nil
	m.closeNamespace()
}

func (m *Machine) closeNamespace() {
	if m.stdin != nil {
		m.stdin.Close()
		m.stdin = nil
	}
	if m.netns != nil {
		m.netns.Close()
		m.netns = nil
	}
	if m.qmpConn != nil {
		m.qmpConn.Close()
		m.qmpConn = nil
	}
}

// QMP runs one QMP command without arguments on the running machine and
// waits for its answer.
func (m *Machine) QMP(command string) error {
	if m.qmpConn == nil {
		return fmt.Errorf("qmp %s: the machine is not running", command)
	}
	m.qmpConn.SetDeadline(time.Now().Add(30 * time.Second))
	b, _ := json.Marshal(map[string]string{"execute": command})
	if _, err := m.qmpConn.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("qmp %s: %w", command, err)
	}
	for {
		line, err := m.qmpR.ReadBytes('\n')
		if err != nil {
			return fmt.Errorf("qmp %s: %w", command, err)
		}
		var resp struct {
			Return json.RawMessage `json:"return"`
			Error  *struct {
				Desc string `json:"desc"`
			} `json:"error"`
		}
		if err := json.Unmarshal(line, &resp); err != nil {
			return fmt.Errorf("qmp %s: %v: %s", command, err, line)
		}
		if resp.Error != nil {
			return fmt.Errorf("qmp %s: %s", command, resp.Error.Desc)
		}
		if resp.Return != nil {
			return nil
		}
		// An event: read on.
	}
}

// Console collects a machine's serial output and lets tests wait for text.
type Console struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
	closed  bool
}

func newConsole() *Console { return &Console{changed: make(chan struct{})} }

// Write appends serial output.
func (c *Console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.b.Write(p)
	close(c.changed)
	c.changed = make(chan struct{})
	return len(p), nil
}

func (c *Console) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	close(c.changed)
	c.changed = make(chan struct{})
}

// String is everything the console printed so far.
func (c *Console) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String()
}

// Len is how many bytes the console printed so far.
func (c *Console) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.Len()
}

// Tail is the last n bytes of the console.
func (c *Console) Tail(n int) string {
	s := c.String()
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}

// WaitFor waits until re matches the console, the machine stops, or the
// deadline passes.
func (c *Console) WaitFor(re *regexp.Regexp, deadline time.Time) ([]string, error) {
	return c.WaitForFrom(re, 0, deadline)
}

// WaitForFrom is WaitFor on the console's output from byte offset from on.
func (c *Console) WaitForFrom(re *regexp.Regexp, from int, deadline time.Time) ([]string, error) {
	start := time.Now()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		c.mu.Lock()
		out := c.b.Bytes()
		if from > len(out) {
			from = len(out)
		}
		m := re.FindStringSubmatch(string(out[from:]))
		ch, closed := c.changed, c.closed
		c.mu.Unlock()
		if m != nil {
			return m, nil
		}
		if closed {
			return nil, io.ErrUnexpectedEOF
		}
		select {
		case <-ch:
		case <-timer.C:
			return nil, fmt.Errorf("not seen within %v", deadline.Sub(start).Round(time.Second))
		}
	}
}

// Seconds formats a duration for measurements in test logs.
func Seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s" }
