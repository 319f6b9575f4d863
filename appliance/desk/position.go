package desk

import (
	"context"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DefaultWait is the wait estimate per customer ahead when the queue has
// no history yet.
const DefaultWait = 3 * time.Minute

// Position returns where ready session id stands in its queue (1 is next)
// and an estimate of the wait, from how long the last sessions of the same
// queue waited before a technician accepted them.
func (s *Service) Position(ctx context.Context, id uint64) (int, time.Duration, error) {
	var (
		pos  int
		wait time.Duration
	)
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		var ss Session
		if err := get(tx, bSessionsData, id, &ss); err != nil {
			return err
		}
		if ss.Status != Ready {
			return nil
		}
		parent := root(tx, bChannelSessions)
		if ss.Queue.Kind == QueueTechnician {
			parent = root(tx, bTechSessions)
		}
		idx := parent.Bucket(idKey(ss.Queue.ID))
		if idx == nil {
			return nil
		}
		var ahead []time.Time
		err := idx.ForEach(func(k, _ []byte) error {
			var o Session
			if err := get(tx, bSessionsData, beUint(k), &o); err != nil {
				return err
			}
			if o.Status == Ready && (o.ReadyAt.Before(ss.ReadyAt) || o.ReadyAt.Equal(ss.ReadyAt) && o.ID < ss.ID) {
				ahead = append(ahead, o.ReadyAt)
			}
			return nil
		})
		if err != nil {
			return err
		}
		pos = len(ahead) + 1
		wait = time.Duration(pos) * s.typicalWait(tx, ss.Queue)
		return nil
	})
	return pos, wait, err
}

// typicalWait is the median wait of the last 20 sessions of q that were
// accepted, scanning the newest sessions first.
func (s *Service) typicalWait(tx *bolt.Tx, q Queue) time.Duration {
	var waits []time.Duration
	c := root(tx, bSessionsData).Cursor()
	scanned := 0
	for k, v := c.Last(); k != nil && len(waits) < 20 && scanned < 2000; k, v = c.Prev() {
		scanned++
		var o Session
		if decode(v, &o) != nil || o.Queue != q || o.AcceptedAt.IsZero() || o.ReadyAt.IsZero() {
			continue
		}
		waits = append(waits, o.AcceptedAt.Sub(o.ReadyAt))
	}
	if len(waits) == 0 {
		return DefaultWait
	}
	sort.Slice(waits, func(i, j int) bool { return waits[i] < waits[j] })
	if m := waits[len(waits)/2]; m > time.Minute {
		return m
	}
	return time.Minute
}
