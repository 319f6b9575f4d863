package console

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// trailLine is one line of a session's event trail, in words.
type trailLine struct {
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

// trail says what happened to ss, oldest first.
func (d *directory) trail(ss desk.Session) []trailLine {
	out := make([]trailLine, 0, len(ss.Trail)+1)
	for _, te := range ss.Trail {
		out = append(out, trailLine{At: te.At, Text: d.trailText(te)})
	}
	if ss.TrailSkipped > 0 {
		out = append(out, trailLine{Text: fmt.Sprintf("%d more viewer and clipboard events were counted but not listed", ss.TrailSkipped)})
	}
	return out
}

// techOr names the technician of te by its private name, or as recorded.
func (d *directory) techOr(te desk.TrailEntry) string {
	if te.ActorID != 0 {
		if n := d.techName(te.ActorID); n != "" {
			return n
		}
	}
	if te.Actor != "" {
		return te.Actor
	}
	return "A technician"
}

func (d *directory) trailText(te desk.TrailEntry) string {
	actor := te.Actor
	if actor == "" {
		actor = "someone"
	}
	switch te.Event {
	case "created":
		if te.Actor != "" {
			return te.Actor + " created a support link"
		}
		return "The customer asked for help (" + methodLabel(desk.Method(te.Note)) + ")"
	case "verified":
		return "The customer was verified by the portal login: " + te.Note
	case "ready":
		return "The customer is there"
	case "agreed":
		return "The customer accepted the agreement"
	case "accepted":
		return actor + " accepted the session"
	case "claimed":
		return actor + " claimed the classic SOS code"
	case "transferred":
		head, note, _ := strings.Cut(te.Note, ": ")
		var kind string
		var id uint64
		to := head
		if _, err := fmt.Sscanf(head, "to %s %d", &kind, &id); err == nil {
			to = d.queueName(desk.Queue{Kind: kind, ID: id}, 0)
			if kind == desk.QueueTechnician {
				to = d.techName(id)
			}
		}
		s := actor + " transferred the session to " + to
		if note = strings.TrimSpace(note); note != "" {
			s += ": " + note
		}
		return s
	case "invited":
		var id uint64
		if _, err := fmt.Sscanf(te.Note, "technician %d", &id); err == nil {
			return actor + " invited " + d.techName(id)
		}
		return actor + " invited a colleague"
	case "left":
		return actor + " left the session"
	case "closed":
		if te.Actor == "customer" {
			return "The customer left; the session ended"
		}
		return actor + " closed the session"
	case "expired":
		return "The session expired: nobody accepted it in time"
	case "app-connected":
		return "The customer's support app connected (" + te.Note + ")"
	case "app-disconnected":
		return "The customer's support app disconnected: " + te.Note
	case "consent-granted", "consent-denied":
		verb := map[string]string{"view": "see the screen", "control": "use the mouse and keyboard", "pick-file": "send a file"}[te.Note]
		if verb == "" {
			verb = te.Note
		}
		who := "the technician"
		if te.ForID != 0 {
			who = d.techName(te.ForID)
		}
		if te.Event == "consent-granted" {
			return "The customer allowed " + who + " to " + verb
		}
		return "The customer declined to let " + who + " " + verb
	case "control-handed":
		switch {
		case te.ForID == 0:
			return d.techOr(te) + " made the screen view only: nobody controls"
		case te.ForID == te.ActorID:
			return d.techOr(te) + " took control"
		}
		return d.techOr(te) + " handed control to " + d.techName(te.ForID)
	case "viewer-joined":
		return d.techOr(te) + " started watching the screen page"
	case "viewer-left":
		return d.techOr(te) + " stopped watching the screen page"
	case "file":
		if te.File == nil {
			break
		}
		f := te.File
		if f.ToCustomer {
			return fmt.Sprintf("%s sent the customer the file %s (%s, SHA-256 %s)", d.techOr(te), f.Name, web.Bytes(f.Size), f.SHA256)
		}
		return fmt.Sprintf("The customer sent the file %s (%s, SHA-256 %s)", f.Name, web.Bytes(f.Size), f.SHA256)
	case "clipboard":
		n, _ := strconv.ParseUint(te.Note, 10, 64)
		if te.ActorID != 0 {
			return fmt.Sprintf("%s put %s of text on the customer's clipboard", d.techOr(te), web.Bytes(n))
		}
		return fmt.Sprintf("The customer's clipboard (%s of text) went to the technicians", web.Bytes(n))
	}
	s := te.Event
	if te.Actor != "" {
		s += " by " + te.Actor
	}
	if te.Note != "" {
		s += ": " + te.Note
	}
	return s
}
