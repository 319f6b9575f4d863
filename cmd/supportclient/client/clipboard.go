package client

import (
	"fmt"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// The customer's clipboard goes to the technician who controls: each time
// the customer copies text while a technician has their consent to use the
// mouse and keyboard, that text is sent (and the customer told). What was
// on the clipboard before control began stays on the computer, and so does
// whatever is copied while nobody controls.

// watchClipboard starts following the clipboard, once, if the platform
// can.
func (s *session) watchClipboard() {
	if s.watching || s.cfg.WatchClipboard == nil || s.cfg.ReadClipboard == nil {
		return
	}
	s.watching = true
	s.wg.Go(func() {
		err := s.cfg.WatchClipboard(s.ctx, func() { s.post(s.clipboardChanged) })
		if err != nil && s.ctx.Err() == nil {
			s.log.Warn("clipboard", "err", err)
		}
	})
}

// clipboardChanged sends what the customer copied to the controller, on
// the loop.
func (s *session) clipboardChanged() error {
	if !s.controlling() {
		return nil
	}
	text, err := s.cfg.ReadClipboard()
	if err != nil {
		s.log.Warn("clipboard", "err", err)
		return nil
	}
	if text == "" || text == s.fromTech {
		return nil // nothing, or what the technician just put there
	}
	if len(text) > wire.MaxClipboard {
		s.say("You copied more text than can be sent to the technician (at most %d KiB).", wire.MaxClipboard>>10)
		return nil
	}
	if err := s.send(wire.Clipboard{Text: text}); err != nil {
		return fmt.Errorf("clipboard: %w", err)
	}
	s.say("The text you copied was sent to %s.", s.viewers[s.controller].name)
	return nil
}
