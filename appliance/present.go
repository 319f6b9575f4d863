package appliance

// Presentations: the desk keeps them (who presents, the keys as keyed
// hashes); the WebRTC gateway's room "present-<id>" carries the screen.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"

	"github.com/switchboardhq/switchboard/appliance/console"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/portal"
	"github.com/switchboardhq/switchboard/appliance/rtc"
)

func (rm *remote) Present(ctx context.Context, a desk.Actor) (console.Presentation, error) {
	if rm.rtc == nil {
		return console.Presentation{}, errRTCOff
	}
	p, key, link, ended, err := rm.desk.StartPresentation(ctx, a)
	if err != nil {
		return console.Presentation{}, err
	}
	for _, id := range ended {
		rm.rtc.CloseRoom(presentRoom(id))
	}
	return console.Presentation{ID: strconv.FormatUint(p.ID, 10), Key: key[:3] + " " + key[3:6] + " " + key[6:], Link: rm.base + "/p/" + link}, nil
}

func presentRoom(id uint64) string { return "present-" + strconv.FormatUint(id, 10) }

// presentation is the running presentation id of a.
func (rm *remote) presentation(ctx context.Context, a desk.Actor, id string) (desk.Presentation, error) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return desk.Presentation{}, console.ErrPresentationEnded
	}
	p, err := rm.desk.PresentationOf(ctx, a, n)
	if errors.Is(err, desk.ErrNoPresentation) {
		return p, console.ErrPresentationEnded
	}
	return p, err
}

func (rm *remote) PublishPresentation(ctx context.Context, id string, a desk.Actor, offer string) (string, error) {
	p, err := rm.presentation(ctx, a, id)
	if err != nil {
		return "", err
	}
	ans, err := rm.rtc.Publish(ctx, presentRoom(p.ID), fmt.Sprintf("tech-%d", a.UserID), offer)
	if err != nil {
		return "", err
	}
	if _, err := rm.presentation(ctx, a, id); err != nil {
		// Stopped while answering: nobody else would close the room.
		rm.rtc.CloseRoom(presentRoom(p.ID))
		return "", err
	}
	return ans, nil
}

func (rm *remote) StopPresentation(ctx context.Context, id string, a desk.Actor) error {
	p, err := rm.presentation(ctx, a, id)
	if err != nil {
		return err
	}
	if err := rm.desk.EndPresentation(ctx, a, p.ID); err != nil {
		return console.ErrPresentationEnded
	}
	rm.rtc.CloseRoom(presentRoom(p.ID))
	return nil
}

func (rm *remote) JoinPresentation(ctx context.Context, key, offer string) (string, error) {
	if rm.rtc == nil {
		return "", portal.ErrNotPresenting
	}
	p, err := rm.desk.PresentationFor(ctx, key)
	if errors.Is(err, desk.ErrNoPresentation) {
		return "", portal.ErrNotPresenting
	} else if err != nil {
		return "", err
	}
	ans, err := rm.rtc.Subscribe(ctx, presentRoom(p.ID), "attendee-"+rand.Text(), offer)
	if errors.Is(err, rtc.ErrNotLive) {
		return "", portal.ErrNotStarted
	}
	return ans, err
}
