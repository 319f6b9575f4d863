package appliance

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/appliance/menu"
	"golang.org/x/term"
)

// consoleMain runs `applianced console`: the console menu on this
// terminal, talking to the running daemon over its control socket.
func consoleMain(ctx context.Context, stateDir string, dev bool, version string, stdin io.Reader, stdout io.Writer) int {
	ctl := unixControl{path: filepath.Join(stateDir, controlName)}
	var power menu.Power = systemPower{}
	if dev {
		power = devPower{stdout}
	}
	mn := menu.New(stdin, stdout, ctl, power, version)
	// On the box's terminal a password is read without echo.
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		mn.Secret = func() (string, error) {
			b, err := term.ReadPassword(int(f.Fd()))
			return string(b), err
		}
	}
	if err := mn.Run(ctx); err != nil {
		fmt.Fprintln(stdout, "applianced console:", err)
		return 1
	}
	return 0
}

// unixControl sends one command per connection to the control socket.
type unixControl struct{ path string }

func (u unixControl) Do(ctx context.Context, cmd string) (string, error) {
	var d net.Dialer
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := d.DialContext(ctx, "unix", u.path)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if strings.ContainsAny(cmd, "\r\n") {
		return "", errors.New("a command is one line")
	}
	if _, err := io.WriteString(conn, cmd+"\n"); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(io.LimitReader(conn, 4<<20)).ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	line = strings.TrimRight(line, "\n")
	switch {
	case strings.HasPrefix(line, "OK "):
		return line[3:], nil
	case line == "OK":
		return "", nil
	case strings.HasPrefix(line, "ERR "):
		return "", errors.New(line[4:])
	}
	return "", fmt.Errorf("unexpected answer %q", line)
}

// systemPower asks systemd to reboot or power off (the menu runs as root
// on the box). The commands are fixed: nothing typed reaches them.
type systemPower struct{}

func (systemPower) Reboot() error   { return exec.Command("systemctl", "reboot").Run() }
func (systemPower) PowerOff() error { return exec.Command("systemctl", "poweroff").Run() }

// devPower leaves the development machine running.
type devPower struct{ out io.Writer }

func (p devPower) Reboot() error {
	fmt.Fprintln(p.out, "(development mode: this machine is not rebooted; restart applianced instead)")
	return nil
}

func (p devPower) PowerOff() error {
	fmt.Fprintln(p.out, "(development mode: this machine is not powered off)")
	return nil
}
