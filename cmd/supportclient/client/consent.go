package client

import (
	"context"
	"fmt"

	"github.com/switchboardhq/switchboard/appliance/wire"
	"github.com/switchboardhq/switchboard/cmd/supportclient/prompt"
)

// maxShownName bounds a technician's name in questions.
const maxShownName = 64

// prompts asks the queued questions one at a time.
func (s *session) prompts() {
	for {
		select {
		case job := <-s.jobs:
			job()
		case <-s.ctx.Done():
			return
		}
	}
}

// ask queues a question for the person; answer runs in the loop with the
// result (false on timeout, error or a full queue).
func (s *session) ask(question string, answer func(bool) error) {
	job := func() {
		ctx, cancel := context.WithTimeout(s.ctx, s.cfg.ConsentTimeout)
		ok, err := s.cfg.Prompter.Confirm(ctx, question)
		cancel()
		if err != nil {
			s.log.Info("no consent", "err", err)
		}
		s.post(func() error { return answer(ok && err == nil) })
	}
	select {
	case s.jobs <- job:
	default:
		s.log.Warn("too many questions waiting; refused one")
		if err := answer(false); err != nil {
			s.log.Warn("answer", "err", err)
		}
	}
}

func (s *session) reply(granted bool, what string) error {
	return s.send(wire.ConsentReply{Granted: granted, What: what})
}

func (s *session) consent(m wire.ConsentAsk) error {
	if name := prompt.Clean(m.Technician, maxShownName); name != "" {
		s.technician = name
	}
	tech := s.tech()
	switch m.What {
	case "view":
		switch {
		case s.cfg.Screen == nil:
			fmt.Fprintf(s.out, "%s asked to see your screen, but screen sharing is not supported here.\n", tech)
			return s.reply(false, m.What)
		case s.view == granted:
			return s.reply(true, m.What)
		case s.view == asking:
			return nil // the answer to the question on screen goes to everyone
		}
		s.view = asking
		s.ask(fmt.Sprintf("Technician %s wants to see your screen. Allow?", tech), func(ok bool) error {
			if !ok {
				s.view = notAsked
				fmt.Fprintf(s.out, "You did not allow %s to see your screen.\n", tech)
				return s.reply(false, m.What)
			}
			s.view = granted
			if err := s.reply(true, m.What); err != nil {
				return err
			}
			fmt.Fprintf(s.out, "%s is viewing your screen.\n", tech)
			fmt.Fprintln(s.out, "Press Ctrl-C or close this window to stop at any time.")
			s.startCapture()
			s.notify(tech)
			return nil
		})
	case "control":
		switch {
		case s.cfg.Input == nil:
			fmt.Fprintf(s.out, "%s asked to use your mouse and keyboard, but that is not supported here.\n", tech)
			return s.reply(false, m.What)
		case s.control == granted:
			return s.reply(true, m.What)
		case s.control == asking:
			return nil
		}
		s.control = asking
		s.ask(fmt.Sprintf("Technician %s wants to use your mouse and keyboard. Allow?", tech), func(ok bool) error {
			if !ok {
				s.control = notAsked
				fmt.Fprintf(s.out, "You did not allow %s to use your mouse and keyboard.\n", tech)
				return s.reply(false, m.What)
			}
			s.control = granted
			fmt.Fprintf(s.out, "%s can now use your mouse and keyboard.\n", tech)
			return s.reply(true, m.What)
		})
	case "files":
		// Not a question of its own: every file offered is asked about.
		return s.reply(true, m.What)
	case "pick-file":
		s.pickFile(tech)
	}
	return nil
}

// notify shows the "stop sharing" notice where the prompter has one;
// closing it stops the session.
func (s *session) notify(tech string) {
	n, ok := s.cfg.Prompter.(prompt.Notifier)
	if !ok {
		return
	}
	s.wg.Go(func() {
		text := fmt.Sprintf("Technician %s is viewing your screen.\n\nClick Stop sharing to end the session.", tech)
		if err := n.Sharing(s.ctx, text); err != nil && s.ctx.Err() == nil {
			s.log.Warn("sharing notice", "err", err)
			return // the notice failed: Ctrl-C still stops
		}
		s.post(func() error { return errStopped })
	})
}
