package client

import (
	"context"
	"fmt"
	"strings"

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
		s.post(func() error {
			s.prompting--
			return answer(ok && err == nil)
		})
	}
	select {
	case s.jobs <- job:
		s.prompting++
		if s.cfg.Input != nil {
			s.cfg.Input.ReleaseAll() // nothing held down while the customer answers
		}
	default:
		s.log.Warn("too many questions waiting; refused one")
		if err := answer(false); err != nil {
			s.log.Warn("answer", "err", err)
		}
	}
}

// viewerConsent is what the customer said about one technician: each is
// asked about by name, in their own right.
type viewerConsent struct {
	name          string
	view, control consentState
}

// maxViewers bounds the technicians a session keeps answers about.
const maxViewers = 64

// viewer returns what the customer said about technician id, remembering
// name when one comes with the question.
func (s *session) viewer(id uint64, name string) *viewerConsent {
	vc := s.viewers[id]
	if vc == nil {
		if len(s.viewers) >= maxViewers {
			return &viewerConsent{name: "A technician"} // answered, never kept
		}
		vc = &viewerConsent{}
		s.viewers[id] = vc
	}
	if name = prompt.Clean(name, maxShownName); name != "" {
		vc.name = name
		s.technician = name
	}
	if vc.name == "" {
		vc.name = "A technician"
	}
	return vc
}

// anyone reports whether the customer allowed what to some technician.
func (s *session) anyone(what func(*viewerConsent) consentState) bool {
	for _, vc := range s.viewers {
		if what(vc) == granted {
			return true
		}
	}
	return false
}

func viewState(vc *viewerConsent) consentState    { return vc.view }
func controlState(vc *viewerConsent) consentState { return vc.control }

// controlling reports whether the technician in control may use the mouse
// and keyboard: the relay checks it too, this is the customer's own guard.
func (s *session) controlling() bool {
	vc := s.viewers[s.controller]
	return s.controller != 0 && vc != nil && vc.control == granted
}

func (s *session) reply(granted bool, what string, viewer uint64) error {
	return s.send(wire.ConsentReply{Granted: granted, What: what, Viewer: viewer})
}

func (s *session) consent(m wire.ConsentAsk) error {
	vc := s.viewer(m.Viewer, m.Technician)
	tech := vc.name
	switch m.What {
	case "view":
		switch {
		case s.cfg.Screen == nil:
			s.say("%s asked to see your screen, but screen sharing is not supported here.", tech)
			return s.reply(false, m.What, m.Viewer)
		case vc.view == granted:
			return s.reply(true, m.What, m.Viewer)
		case vc.view == asking:
			return nil // the question is on screen
		}
		vc.view = asking
		s.ask(s.t("Technician %s wants to see your screen. Allow?", tech), func(ok bool) error {
			if !ok {
				vc.view = notAsked
				s.say("You did not allow %s to see your screen.", tech)
				return s.reply(false, m.What, m.Viewer)
			}
			vc.view = granted
			if err := s.reply(true, m.What, m.Viewer); err != nil {
				return err
			}
			s.say("%s is viewing your screen.", tech)
			s.say("Press Ctrl-C or close this window to stop at any time.")
			if s.stopCapture == nil {
				s.startCapture()
				s.notify(s.t("Technician %s is viewing your screen.", tech))
			}
			s.showPresence()
			return nil
		})
	case "control":
		switch {
		case s.cfg.Input == nil:
			s.say("%s asked to use your mouse and keyboard, but that is not supported here.", tech)
			return s.reply(false, m.What, m.Viewer)
		case vc.control == granted:
			return s.reply(true, m.What, m.Viewer)
		case vc.control == asking:
			return nil
		}
		vc.control = asking
		s.ask(s.t("Technician %s wants to use your mouse and keyboard. Allow?", tech), func(ok bool) error {
			if !ok {
				vc.control = notAsked
				s.say("You did not allow %s to use your mouse and keyboard.", tech)
				return s.reply(false, m.What, m.Viewer)
			}
			vc.control = granted
			s.watchClipboard()
			s.say("%s can now use your mouse and keyboard.", tech)
			s.showPresence()
			return s.reply(true, m.What, m.Viewer)
		})
	case "files":
		// Not a question of its own: every file offered is asked about.
		return s.reply(true, m.What, m.Viewer)
	case "pick-file":
		s.pickFile(tech, m.Viewer)
	}
	return nil
}

// presence takes in who is in the session and tells the person when who
// watches or who controls changed.
func (s *session) presence(p wire.Presence) {
	s.present, s.controller = p.Viewers, p.Controller
	for _, v := range p.Viewers {
		s.viewer(v.ID, v.Name)
	}
	s.showPresence()
}

// showPresence prints who watches the screen and who controls, when that
// changed since it last did.
func (s *session) showPresence() {
	var watching []string
	for _, v := range s.present {
		if vc := s.viewers[v.ID]; vc != nil && vc.view == granted {
			watching = append(watching, vc.name)
		}
	}
	line := s.t("Nobody is watching your screen now.")
	if len(watching) > 0 {
		line = s.t("Watching your screen now: %s.", strings.Join(watching, ", "))
		if s.controlling() {
			line += " " + s.t("%s can use your mouse and keyboard.", s.viewers[s.controller].name)
		}
	}
	if line == s.shown || (s.shown == "" && len(watching) == 0) {
		return
	}
	s.shown = line
	fmt.Fprintln(s.out, line)
	if s.noticeCancel != nil {
		s.notify(line) // the notice on the desktop says it too
	}
}

// notify shows the "stop sharing" notice where the prompter has one, with
// text, replacing the one shown; closing it stops the session.
func (s *session) notify(text string) {
	n, ok := s.cfg.Prompter.(prompt.Notifier)
	if !ok {
		return
	}
	if s.noticeCancel != nil {
		s.noticeCancel() // replaced, not closed by the person
	}
	ctx, cancel := context.WithCancel(s.ctx)
	s.noticeCancel = cancel
	s.wg.Go(func() {
		err := n.Sharing(ctx, text+"\n\n"+s.t("Click Stop sharing to end the session."))
		if ctx.Err() != nil {
			return // replaced by a newer notice, or the session ended
		}
		if err != nil {
			s.log.Warn("sharing notice", "err", err)
			return // the notice failed: Ctrl-C still stops
		}
		s.post(func() error { return errStopped })
	})
}
