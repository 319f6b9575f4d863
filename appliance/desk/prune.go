package desk

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Retention of the records that only open a session.
const (
	// KeepUsedKeys is how long a used or expired session key is kept.
	KeepUsedKeys = 24 * time.Hour
	// KeepEndedAccess is how long the support link and customer token of an
	// ended session keep saying "this session has ended".
	KeepEndedAccess = 7 * 24 * time.Hour
	// KeepUnansweredChat is how long the chat of a session that ended
	// without anyone accepting it is kept (the customer wrote to nobody).
	KeepUnansweredChat = 24 * time.Hour
	// KeepUnanswered is how long such a session stays in the history.
	KeepUnanswered = 30 * 24 * time.Hour
	// KeepFailedSignIns is how long the audit log lists failed sign-ins;
	// every other entry stays.
	KeepFailedSignIns = 90 * 24 * time.Hour
)

// Prune deletes session keys that were used or expired more than a day
// ago, the support links and customer tokens of sessions that ended more
// than a week ago, expired remote-control tokens, and sessions nobody ever
// accepted: their chat a day after they ended, the session itself after 30
// days. Other sessions stay, for history. It returns how many records it
// deleted.
func (s *Service) Prune(ctx context.Context) (int, error) {
	now := s.now().UTC()
	n := 0
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		ended := func(id uint64) bool {
			var ss Session
			if get(tx, bSessionsData, id, &ss) != nil {
				return true // its session is gone
			}
			return !ss.Open() && !ss.EndedAt.IsZero() && now.Sub(ss.EndedAt) > KeepEndedAccess
		}
		var dead [][2][]byte
		root(tx, bKeys).ForEach(func(k, v []byte) error {
			var r keyRecord
			if json.Unmarshal(v, &r) != nil || now.Sub(r.Expires) > KeepUsedKeys || r.Used && now.Sub(r.UsedAt) > KeepUsedKeys {
				dead = append(dead, [2][]byte{bKeys, k})
			}
			return nil
		})
		root(tx, bLinks).ForEach(func(k, v []byte) error {
			var l linkRecord
			if json.Unmarshal(v, &l) != nil || ended(l.Session) {
				dead = append(dead, [2][]byte{bLinks, k})
			}
			return nil
		})
		root(tx, bCustomerToken).ForEach(func(k, v []byte) error {
			if len(v) != 8 || ended(beUint(v)) {
				dead = append(dead, [2][]byte{bCustomerToken, k})
			}
			return nil
		})
		dead = append(dead, pruneRemote(tx, now)...)
		dead = append(dead, pruneIOS(tx, now)...)
		gone, err := pruneUnanswered(tx, now)
		if err != nil {
			return err
		}
		n += gone
		if gone, err = pruneFailedSignIns(tx, now); err != nil {
			return err
		}
		n += gone
		if gone, err = pruneAnnouncements(tx, now); err != nil {
			return err
		}
		n += gone
		for _, d := range dead {
			if err := root(tx, d[0]).Delete(d[1]); err != nil {
				return err
			}
		}
		n += len(dead)
		return nil
	})
	return n, err
}

// pruneUnanswered ages out the sessions that ended without anyone accepting
// them (abandoned or expired in a queue): the chat after
// KeepUnansweredChat, giving its unread count back to the box, and the
// session after KeepUnanswered. It returns how many it deleted of either.
func pruneUnanswered(tx *bolt.Tx, now time.Time) (int, error) {
	var chats, sessions []uint64
	err := root(tx, bSessionsData).ForEach(func(k, v []byte) error {
		var ss Session
		// Accepted once (then perhaps transferred back to a queue) is
		// history, whoever owns it now.
		if json.Unmarshal(v, &ss) != nil || ss.Open() || ss.Owner != 0 || !ss.AcceptedAt.IsZero() || ss.EndedAt.IsZero() {
			return nil
		}
		age := now.Sub(ss.EndedAt)
		if age > KeepUnanswered {
			sessions = append(sessions, ss.ID)
		}
		if age > KeepUnansweredChat && (ss.UnreadChat > 0 || root(tx, bChat).Bucket(idKey(ss.ID)) != nil) {
			chats = append(chats, ss.ID)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, id := range chats {
		var ss Session
		if err := get(tx, bSessionsData, id, &ss); err != nil {
			return 0, err
		}
		if err := readChat(tx, &ss); err != nil {
			return 0, err
		}
		ss.ChatBytes = 0
		if err := put(tx, bSessionsData, id, ss); err != nil {
			return 0, err
		}
		if err := root(tx, bChat).DeleteBucket(idKey(id)); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
			return 0, err
		}
	}
	for _, id := range sessions {
		if err := root(tx, bSessionsData).Delete(idKey(id)); err != nil {
			return 0, err
		}
	}
	return len(chats) + len(sessions), nil
}

// pruneFailedSignIns deletes the audit log's failed sign-ins older than
// KeepFailedSignIns, so a long spray cannot grow the log without end. The
// log is in time order: it stops at the first entry young enough.
func pruneFailedSignIns(tx *bolt.Tx, now time.Time) (int, error) {
	var dead [][]byte
	c := root(tx, bAudit).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var e Entry
		if json.Unmarshal(v, &e) != nil {
			continue
		}
		if now.Sub(e.At) <= KeepFailedSignIns {
			break
		}
		if e.Kind == KindAccount && e.Action == "sign-in-failed" {
			dead = append(dead, append([]byte(nil), k...))
		}
	}
	for _, k := range dead {
		if err := root(tx, bAudit).Delete(k); err != nil {
			return 0, err
		}
	}
	return len(dead), nil
}
