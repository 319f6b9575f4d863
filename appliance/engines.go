package appliance

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/appliance/bus"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/relay"
	"github.com/switchboardhq/switchboard/appliance/rtc"
	"github.com/switchboardhq/switchboard/appliance/wire"
)

// The adapters the engines call: they know nothing of the desk, and these
// turn their callbacks into desk calls.

// authority lets the relay redeem the desk's one-time tokens.
type authority struct{ d *desk.Service }

func (a authority) Redeem(ctx context.Context, token string, role uint8, device string) (relay.Grant, error) {
	g, err := a.d.RedeemRemoteToken(ctx, token, role, device)
	if err != nil {
		return relay.Grant{}, err
	}
	return relay.Grant{Session: g.Session, Viewer: g.Technician, Name: g.Name,
		Rights: relay.Rights{Control: g.Rights.Control, Files: g.Rights.Files}}, nil
}

// observer records what the relay hears about clients on the session.
type observer struct {
	d   *desk.Service
	log *slog.Logger
}

func (o observer) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

func (o observer) ClientUp(session uint64, info wire.DeviceInfo) {
	ctx, cancel := o.ctx()
	defer cancel()
	d := desk.Device{OS: info.OS, Version: info.Version, Hostname: info.Hostname, User: info.User,
		Addresses: info.Addresses, Capture: info.Capture, Note: info.Note, Transport: info.Transport}
	for _, s := range info.Screens {
		d.Screens = append(d.Screens, fmt.Sprintf("%d×%d", s.Width, s.Height))
	}
	if _, err := o.d.DeviceUp(ctx, session, d); err != nil {
		o.log.Warn("recording the support app failed", "session", session, "err", err)
	}
}

func (o observer) ClientDown(session uint64, reason string) {
	ctx, cancel := o.ctx()
	defer cancel()
	if _, err := o.d.DeviceDown(ctx, session, reason); err != nil && !errors.Is(err, desk.ErrState) {
		o.log.Warn("recording the support app's end failed", "session", session, "err", err)
	}
}

func (o observer) Consent(session, viewer uint64, what string, granted bool) {
	ctx, cancel := o.ctx()
	defer cancel()
	if _, err := o.d.Consent(ctx, session, viewer, what, granted); err != nil {
		o.log.Warn("recording consent failed", "session", session, "err", err)
	}
}

func (o observer) Presence(session, viewer uint64, _ string, joined bool) {
	ctx, cancel := o.ctx()
	defer cancel()
	o.warn(session, o.d.Watching(ctx, session, viewer, joined))
}

func (o observer) Transfer(session uint64, t relay.Transfer) {
	ctx, cancel := o.ctx()
	defer cancel()
	o.warn(session, o.d.FileTransferred(ctx, session, t.Viewer, desk.FileRecord{
		ToCustomer: t.ToCustomer, Name: t.Name, Size: t.Size, SHA256: hex.EncodeToString(t.SHA256[:])}))
}

func (o observer) Clipboard(session, viewer uint64, toCustomer bool, size int) {
	ctx, cancel := o.ctx()
	defer cancel()
	o.warn(session, o.d.ClipboardUsed(ctx, session, viewer, toCustomer, size))
}

func (o observer) warn(session uint64, err error) {
	if err != nil && !errors.Is(err, desk.ErrNotFound) {
		o.log.Warn("recording in the trail failed", "session", session, "err", err)
	}
}

// hub seats browser viewers in the relay.
type hub struct{ r *relay.Relay }

func (h hub) Join(seat rtc.Seat) (rtc.Stream, error) {
	v, err := h.r.Join(seat.Session, seat.Viewer, seat.Name, relay.Rights{Control: seat.Control, Files: seat.Files})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// roomChanged tells the consoles of a session that its customer's browser
// share started or ended (they ask Sharing again). It runs in a goroutine
// of the gateway's.
func (rm *remote) roomChanged(room string, live bool) {
	digits, ok := strings.CutPrefix(room, "share-")
	if !ok {
		return // presentations end by StopPresentation, not here
	}
	id, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rm.desk.AnnounceID(ctx, bus.SessionDevice, id); err != nil && !errors.Is(err, desk.ErrNotFound) {
		rm.log.Warn("announcing a browser share failed", "session", id, "err", err)
	}
}
