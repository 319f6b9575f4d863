package desk

import (
	"context"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Retention of the records that only open a session.
const (
	// KeepUsedKeys is how long a used or expired session key is kept.
	KeepUsedKeys = 24 * time.Hour
	// KeepEndedAccess is how long the support link and customer token of an
	// ended session keep saying "this session has ended".
	KeepEndedAccess = 7 * 24 * time.Hour
)

// Prune deletes session keys that were used or expired more than a day
// ago, and the support links and customer tokens of sessions that ended
// more than a week ago, and expired remote-control tokens. Sessions themselves stay, for history. It returns
// how many records it deleted.
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
		for _, d := range dead {
			if err := root(tx, d[0]).Delete(d[1]); err != nil {
				return err
			}
		}
		n = len(dead)
		return nil
	})
	return n, err
}
