package client

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/appliance/wire"
	"github.com/switchboardhq/switchboard/appliance/wire/tile"
)

// startCapture starts streaming the screen, once; only after "view" was
// granted.
func (s *session) startCapture() {
	if s.stopCapture != nil || !s.anyone(viewState) {
		return
	}
	ctx, cancel := context.WithCancel(s.ctx)
	s.stopCapture = cancel
	s.wg.Go(func() {
		if err := s.capture(ctx); err != nil && ctx.Err() == nil {
			s.post(func() error { return fmt.Errorf("screen capture: %w", err) })
		}
	})
}

// capture sends the tiles that changed, then FrameEnd, at most once per
// frame interval and only when something changed (or a full frame was
// asked for).
func (s *session) capture(ctx context.Context) error {
	var (
		tiler *tile.Tiler
		seq   uint64
	)
	tick := time.NewTicker(s.cfg.FrameInterval)
	defer tick.Stop()
	emit := func(x, y, w, h int, enc uint8, data []byte) error {
		return s.send(wire.Tile{X: uint16(x), Y: uint16(y), W: uint16(w), H: uint16(h), Encoding: enc, Data: data})
	}
	for {
		full := s.full.Swap(false)
		rgb, w, h, err := s.cfg.Screen.Capture()
		if err != nil {
			return err
		}
		if tw, th := sizeOf(tiler); tw != w || th != h {
			if tiler != nil { // the screen changed size: tell the viewers
				info := s.cfg.Info
				info.Screens = []wire.Screen{{Width: w, Height: h}}
				if err := s.send(info); err != nil {
					return err
				}
			}
			tiler = tile.NewTiler(w, h)
		}
		n, err := tiler.Changed(rgb, full, func(c wire.Copy) error { return s.send(c) }, emit)
		if err != nil {
			return err
		}
		if n > 0 {
			seq++
			if err := s.send(wire.FrameEnd{Seq: seq}); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func sizeOf(t *tile.Tiler) (w, h int) {
	if t == nil {
		return 0, 0
	}
	return t.Size()
}
