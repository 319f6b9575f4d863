package console

import (
	"fmt"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/appliance/desk"
)

// trailLine is one line of a session's event trail, in words.
type trailLine struct {
	At   time.Time `json:"at"`
	Text string    `json:"text"`
}

// trail says what happened to ss, oldest first.
func (d *directory) trail(ss desk.Session) []trailLine {
	out := make([]trailLine, 0, len(ss.Trail))
	for _, te := range ss.Trail {
		out = append(out, trailLine{At: te.At, Text: d.trailText(te)})
	}
	return out
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
		verb := map[string]string{"view": "viewing the screen", "control": "control of the screen", "pick-file": "sending a file"}[te.Note]
		if verb == "" {
			verb = te.Note
		}
		if te.Event == "consent-granted" {
			return "The customer allowed " + verb
		}
		return "The customer declined " + verb
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
