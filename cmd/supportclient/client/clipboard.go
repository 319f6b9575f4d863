package client

import (
	"fmt"
	"strings"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// The customer's clipboard goes to the technician who controls: each time
// the customer copies text while a technician has their consent to use the
// mouse and keyboard, that text is sent (and the customer told). What was
// on the clipboard before control began stays on the computer, and so does
// whatever is copied while nobody controls.

// watchClipboard starts following the clipboard, once, if the platform
// can. What it holds now is the baseline: it is never sent.
func (s *session) watchClipboard() {
	if s.watching || s.cfg.WatchClipboard == nil || s.cfg.ReadClipboard == nil {
		return
	}
	s.watching = true
	s.wg.Go(func() {
		base := s.readClipboard()
		s.post(func() error { s.clipSeen = base; return nil })
		err := s.cfg.WatchClipboard(s.ctx, func() {
			// Read here, off the loop: a slow clipboard owner must not
			// hold up the session.
			text := s.readClipboard()
			s.post(func() error { return s.clipboardChanged(text) })
		})
		if err != nil && s.ctx.Err() == nil {
			s.log.Warn("clipboard", "err", err)
		}
	})
}

// readClipboard reads the clipboard's text, one byte more than can be
// sent so that too much is told apart; "" when it cannot.
func (s *session) readClipboard() string {
	text, err := s.cfg.ReadClipboard()
	if err != nil {
		s.log.Warn("clipboard", "err", err)
		return ""
	}
	return strings.ReplaceAll(text, "\r\n", "\n")
}

// clipboardChanged sends text, just copied, to the controller, on the
// loop. Text seen before (on the clipboard when control began, copied
// while nobody controlled, or put there by the technician) stays.
func (s *session) clipboardChanged(text string) error {
	seen := text == "" || text == s.clipSeen || text == s.fromTech
	s.clipSeen = text
	if seen || !s.controlling() {
		return nil
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
