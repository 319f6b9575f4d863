package appliance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/menu"
	"github.com/switchboardhq/switchboard/appliance/netcfg"
	"github.com/switchboardhq/switchboard/appliance/store"
)

// The control socket's commands for the console menu (`applianced
// console`, root on the box's screen or serial port): the network, and the
// appliance administrators' passwords and two-step verification. Arguments
// and answers are JSON on one line, as package menu writes and reads them.

// maxControlLine bounds one command line.
const maxControlLine = 16 << 10

// serveBox answers a console menu command; ok is false for a command it
// does not know.
func (c *control) serveBox(ctx context.Context, w io.Writer, cmd, arg string) (ok bool) {
	reply := func(v any, err error) {
		if err != nil {
			fmt.Fprintf(w, "ERR %s\n", oneLine(err.Error()))
			return
		}
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "OK %s\n", b)
	}
	switch cmd {
	case "net-status":
		reply(c.netStatus(ctx))
	case "net-try":
		var req menu.TryRequest
		if err := json.Unmarshal([]byte(arg), &req); err != nil {
			reply(nil, fmt.Errorf("bad request: %w", err))
			return true
		}
		reply(c.netTry(ctx, req))
	case "net-keep":
		_, err := c.net.ConfirmAtConsole(ctx, arg)
		reply(struct{}{}, err)
	case "net-undo":
		// Only the menu's own trial: its token.
		_, err := c.net.UndoWithToken(ctx, arg, "the console menu")
		reply(struct{}{}, err)
	case "box-users":
		reply(c.boxUsers(ctx))
	case "box-password":
		var req menu.PasswordRequest
		if err := json.Unmarshal([]byte(arg), &req); err != nil {
			reply(nil, fmt.Errorf("bad request: %w", err))
			return true
		}
		reply(struct{}{}, c.boxPassword(ctx, req))
	case "box-2fa-off":
		reply(struct{}{}, c.box2FAOff(ctx, arg))
	case "factory-reset":
		if arg != factoryResetWord {
			reply(nil, fmt.Errorf("type %s to confirm", factoryResetWord))
			return true
		}
		reply(struct{}{}, markFactoryReset(c.stateDir))
	default:
		return false
	}
	return true
}

var newlines = strings.NewReplacer("\r", " ", "\n", " ")

func oneLine(s string) string { return newlines.Replace(s) }

func (c *control) netStatus(ctx context.Context) (menu.Status, error) {
	if c.net == nil {
		return menu.Status{}, errors.New("no network here")
	}
	st, err := c.net.Observe()
	if err != nil {
		return menu.Status{}, err
	}
	out := menu.Status{State: st, Port: c.httpsPort, ReadOnly: c.net.ReadOnly()}
	t, err := c.net.Trial(ctx)
	if err != nil {
		return out, err
	}
	if t != nil {
		out.Trial = &menu.TrialInfo{By: t.By, Deadline: t.Deadline, Lines: t.After.Lines()}
	}
	return out, nil
}

func (c *control) netTry(ctx context.Context, req menu.TryRequest) (menu.TryReply, error) {
	if c.net == nil {
		return menu.TryReply{}, errors.New("no network here")
	}
	desired, err := c.net.Desired(ctx)
	if err != nil {
		return menu.TryReply{}, err
	}
	// The menu changes one interface: the rest of the confirmed
	// configuration stays as it is.
	var cfg netcfg.Config
	if desired != nil {
		cfg = *desired
	}
	if req.OpenAllow {
		cfg.Allow = netcfg.Allow{}
	}
	if req.Interface.Name != "" {
		cfg = cfg.WithInterface(req.Interface)
	}
	if req.Gateway.IsValid() {
		cfg = cfg.WithDefaultRoute(req.Gateway)
	}
	if len(req.DNS) > 0 {
		cfg.DNS = req.DNS
	}
	length := time.Duration(req.Seconds) * time.Second
	if length == 0 {
		length = netcfg.DefaultTrial
	}
	t, token, err := c.net.Start(ctx, netcfg.Admin{}, "the console menu", cfg, length, false)
	if err != nil {
		return menu.TryReply{}, err
	}
	return menu.TryReply{Token: token, Deadline: t.Deadline, Confirm: t.Confirm}, nil
}

func (c *control) boxUsers(ctx context.Context) ([]menu.User, error) {
	if c.auth == nil {
		return nil, errors.New("no accounts here")
	}
	us, err := c.auth.Users(ctx, auth.Box)
	if err != nil {
		return nil, err
	}
	out := make([]menu.User, 0, len(us))
	for _, u := range us {
		out = append(out, menu.User{Username: u.Username, Name: u.DisplayName, TwoStep: u.HasTOTP(), Disabled: u.Disabled})
	}
	return out, nil
}

func (c *control) boxUser(ctx context.Context, username string) (auth.User, error) {
	if c.auth == nil {
		return auth.User{}, errors.New("no accounts here")
	}
	return c.auth.UserNamed(ctx, auth.Box, username)
}

func (c *control) boxPassword(ctx context.Context, req menu.PasswordRequest) error {
	u, err := c.boxUser(ctx, req.Username)
	if err != nil {
		return err
	}
	if err := c.auth.SetPassword(ctx, auth.Box, u.ID, req.Password); err != nil {
		return err
	}
	// Whoever knew the old password is signed out everywhere.
	_, err = c.auth.EndUserSessions(ctx, auth.Box, u.ID)
	c.log.Info("console menu: appliance administrator's password reset", "user", u.ID)
	return err
}

func (c *control) box2FAOff(ctx context.Context, username string) error {
	u, err := c.boxUser(ctx, username)
	if err != nil {
		return err
	}
	if err := c.auth.DisableTOTP(ctx, auth.Box, u.ID); err != nil {
		return err
	}
	c.log.Info("console menu: appliance administrator's two-step verification turned off", "user", u.ID)
	return nil
}

// factoryResetWord is what the person types to erase the box.
const factoryResetWord = "ERASE"

// factoryResetMark is the file in the state directory that makes the next
// start erase the store: the menu writes it, then reboots.
const factoryResetMark = "factory-reset"

func markFactoryReset(dir string) error {
	path := filepath.Join(dir, factoryResetMark)
	if err := os.WriteFile(path, []byte("requested from the console menu\n"), 0o600); err != nil {
		return err
	}
	return syncDirOf(path)
}

func syncDirOf(path string) error {
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// factoryReset erases the store (accounts, the desk, the network
// configuration, keys and certificates) when the mark is there, before
// anything opens it; the box then starts as on its first boot.
func factoryReset(dir string, log *slog.Logger) error {
	mark := filepath.Join(dir, factoryResetMark)
	if _, err := os.Stat(mark); err != nil {
		return nil
	}
	log.Warn("factory reset: erasing the store")
	if err := os.Remove(filepath.Join(dir, store.FileName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("factory reset: %w", err)
	}
	if err := syncDirOf(mark); err != nil {
		return err
	}
	return os.Remove(mark)
}
