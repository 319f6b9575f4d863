package menu

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/appliance/netcfg"
)

// fakeControl answers like the daemon's control socket and records the
// commands.
type fakeControl struct{ cmds []string }

func (f *fakeControl) Do(_ context.Context, cmd string) (string, error) {
	f.cmds = append(f.cmds, cmd)
	name, arg, _ := strings.Cut(cmd, " ")
	switch name {
	case "net-status":
		b, _ := json.Marshal(Status{State: netcfg.State{Links: []netcfg.Link{{Name: "eth0", Kind: netcfg.KindEther, Up: true, Carrier: true}}}, Port: "443"})
		return string(b), nil
	case "box-users":
		return `[{"username":"root","name":"Root"}]`, nil
	case "box-password":
		var req PasswordRequest
		json.Unmarshal([]byte(arg), &req)
		if len(req.Password) < 12 {
			return "", errors.New("a password has at least 12 characters")
		}
		return "{}", nil
	}
	return "{}", nil
}

type fakePower struct{ reboots, offs int }

func (p *fakePower) Reboot() error   { p.reboots++; return nil }
func (p *fakePower) PowerOff() error { p.offs++; return nil }

func run(t *testing.T, input string) (string, *fakeControl, *fakePower) {
	t.Helper()
	var out strings.Builder
	ctl, power := &fakeControl{}, &fakePower{}
	if err := New(strings.NewReader(input), &out, ctl, power, "test").Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return out.String(), ctl, power
}

func TestMenu(t *testing.T) {
	// A line longer than maxLine is refused, not cut; control characters
	// are dropped; the wrong word changes nothing.
	long := strings.Repeat("x", maxLine+10)
	out, ctl, power := run(t, strings.Join([]string{
		long,
		"3\x07", "root", long, // a control character is dropped; an over-long password is refused
		"3", "root", "short", "short", // the daemon's own rule
		"5", "Reboot", // not the exact word
		"6", "power off",
	}, "\n")+"\n")
	for _, want := range []string{
		"That is not on the menu.",
		"Nothing was changed: that line is longer than 512 characters, so it was not used.",
		"Refused: a password has at least 12 characters",
		"Nothing was done.",
		"eth0       up       no address",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the menu did not say %q:\n%s", want, out)
		}
	}
	if power.reboots != 0 || power.offs != 1 {
		t.Errorf("reboots %d, power-offs %d; want 0 and 1", power.reboots, power.offs)
	}
	for _, c := range ctl.cmds {
		if strings.Contains(c, long) {
			t.Errorf("an over-long line reached the daemon: %.40s…", c)
		}
	}
}
