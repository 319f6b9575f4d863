package desk

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboardhq/switchboard/appliance/bus"
	sbtext "github.com/switchboardhq/switchboard/appliance/text"
)

// MaxChat bounds one chat message.
const MaxChat = 2000

// Message is one chat line of a session.
type Message struct {
	Seq    uint64    `json:"seq"`
	At     time.Time `json:"at"`
	From   string    `json:"from"` // "customer" or "technician"
	Author string    `json:"author"`
	UserID uint64    `json:"user_id,omitempty"`
	Text   string    `json:"text"`
}

// checkChat returns text as it is kept: trimmed, without bidirectional
// controls (which could make a line read as something else), or why not.
func checkChat(text string) (string, error) {
	text = strings.TrimSpace(sbtext.StripBidiControls(text))
	switch {
	case text == "":
		return "", &FieldError{"text", "Type a message first."}
	case !utf8.ValidString(text):
		return "", &FieldError{"text", "The message is not plain text."}
	case utf8.RuneCountInString(text) > MaxChat:
		return "", &FieldError{"text", "Keep messages under 2000 characters; send long text in parts."}
	}
	return text, nil
}

// Say adds technician a's message to session id (owner or collaborator).
func (s *Service) Say(ctx context.Context, a Actor, id uint64, text string) (Message, error) {
	return s.post(ctx, id, Message{From: "technician", Author: a.Public(), UserID: a.UserID, Text: text}, func(ss Session) error {
		if ss.Owner != a.UserID && !slices.Contains(ss.Collaborators, a.UserID) {
			return ErrForbidden
		}
		return nil
	})
}

// CustomerSays adds the customer's message to its session.
func (s *Service) CustomerSays(ctx context.Context, ss Session, text string) (Message, error) {
	return s.post(ctx, ss.ID, Message{From: "customer", Author: ss.Customer.Name, Text: text}, nil)
}

// post stores m in session id after check (if any) passes on the session as
// it is in the same transaction, so a session that closed or changed hands
// meanwhile takes no message.
func (s *Service) post(ctx context.Context, id uint64, m Message, check func(Session) error) (Message, error) {
	var err error
	if m.Text, err = checkChat(m.Text); err != nil {
		return m, err
	}
	m.At = s.now().UTC()
	var ss Session
	err = s.db.Update(ctx, func(tx *bolt.Tx) error {
		if err := get(tx, bSessionsData, id, &ss); err != nil {
			return err
		}
		if check != nil {
			if err := check(ss); err != nil {
				return err
			}
		}
		if !ss.Open() {
			return ErrState
		}
		b, err := root(tx, bChat).CreateBucketIfNotExists(idKey(ss.ID))
		if err != nil {
			return err
		}
		if m.Seq, err = b.NextSequence(); err != nil {
			return err
		}
		v, _ := json.Marshal(m)
		return b.Put(idKey(m.Seq), v)
	})
	if err != nil {
		return m, err
	}
	s.publish(bus.ChatMessage, ss, m)
	return m, nil
}

// Typing tells the other side someone is typing (not stored).
func (s *Service) Typing(ss Session, from string) {
	s.publish(bus.ChatTyping, ss, map[string]string{"from": from})
}

// Messages returns the chat of session id after seq.
func (s *Service) Messages(ctx context.Context, id, after uint64) ([]Message, error) {
	var out []Message
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		b := root(tx, bChat).Bucket(idKey(id))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Seek(idKey(after + 1)); k != nil; k, v = c.Next() {
			var m Message
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}
