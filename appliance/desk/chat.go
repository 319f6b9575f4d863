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

// Bounds on stored chat, so chat cannot fill the disk. Text a customer
// writes before anyone accepted their session is unread: it is bounded per
// session and box-wide (the budget is a counter kept in the same
// transactions as the messages), and the transcript of a session nobody
// ever accepted is deleted a day after it ended (see Prune). Every
// transcript is bounded too.
const (
	MaxUnreadChat    = 32 << 10 // customer text per session before acceptance
	MaxUnreadChatBox = 64 << 20 // the same, over every session of the box
	MaxTranscript    = 1 << 20  // a session's whole chat
)

// Refusals of chat bounds; FieldErrors on "text", so the page shows them
// next to the message.
var (
	ErrChatUnreadFull = &FieldError{"text", "Your technician will read what you wrote when they take your session; you can write more then."}
	ErrChatBoxFull    = &FieldError{"text", "The support site is very busy and cannot keep more messages right now. Your place in the queue is kept; write again once a technician has taken your session."}
	ErrChatFull       = &FieldError{"text", "This chat has reached its size limit (1 MB). Start a new session to go on."}
)

// keyUnreadChat is the desk meta key of the box-wide unread chat counter.
var keyUnreadChat = []byte("unread-chat")

// addUnread adds n (negative to give back) to the box-wide unread count and
// returns the new value.
func addUnread(tx *bolt.Tx, n int) (int, error) {
	b := root(tx, bMeta)
	cur := 0
	if v := b.Get(keyUnreadChat); len(v) == 8 {
		cur = int(beUint(v))
	}
	cur = max(cur+n, 0)
	return cur, b.Put(keyUnreadChat, idKey(uint64(cur)))
}

// UnreadChat returns the box-wide count of unread customer chat bytes.
func (s *Service) UnreadChat(ctx context.Context) (int, error) {
	var n int
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		if v := root(tx, bMeta).Get(keyUnreadChat); len(v) == 8 {
			n = int(beUint(v))
		}
		return nil
	})
	return n, err
}

// readChat takes ss's unread text out of the box-wide count: someone has
// it in front of them now.
func readChat(tx *bolt.Tx, ss *Session) error {
	if ss.UnreadChat == 0 {
		return nil
	}
	_, err := addUnread(tx, -ss.UnreadChat)
	ss.UnreadChat = 0
	return err
}

// countChat checks and counts m against the chat bounds of ss, in tx;
// boxBound is the box-wide unread bound (MaxUnreadChatBox).
func countChat(tx *bolt.Tx, ss *Session, m Message, boxBound int) error {
	n := len(m.Text)
	if ss.ChatBytes+n > MaxTranscript {
		return ErrChatFull
	}
	if m.From == "customer" && ss.Owner == 0 {
		if ss.UnreadChat+n > MaxUnreadChat {
			return ErrChatUnreadFull
		}
		total, err := addUnread(tx, n)
		if err != nil {
			return err
		}
		if total > boxBound {
			return ErrChatBoxFull // the transaction rolls back the count
		}
		ss.UnreadChat += n
	}
	ss.ChatBytes += n
	return nil
}

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
		if err := countChat(tx, &ss, m, s.unreadBox); err != nil {
			return err
		}
		b, err := root(tx, bChat).CreateBucketIfNotExists(idKey(ss.ID))
		if err != nil {
			return err
		}
		if m.Seq, err = b.NextSequence(); err != nil {
			return err
		}
		v, _ := json.Marshal(m)
		if err := b.Put(idKey(m.Seq), v); err != nil {
			return err
		}
		return put(tx, bSessionsData, ss.ID, ss)
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
