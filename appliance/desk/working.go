package desk

import (
	"cmp"
	"context"
	"slices"

	bolt "go.etcd.io/bbolt"
)

// Working returns the open sessions a owns or collaborates on, wherever
// they are queued (a collaboration usually sits in another technician's
// queue), oldest first. It reads the queue indexes, which list open
// sessions only.
func (s *Service) Working(ctx context.Context, a Actor) ([]Session, error) {
	var out []Session
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		for _, parent := range [][]byte{bTechSessions, bChannelSessions} {
			err := root(tx, parent).ForEachBucket(func(q []byte) error {
				return root(tx, parent).Bucket(q).ForEach(func(k, _ []byte) error {
					var ss Session
					if err := get(tx, bSessionsData, beUint(k), &ss); err != nil {
						return err
					}
					if ss.Open() && (ss.Owner == a.UserID || slices.Contains(ss.Collaborators, a.UserID)) {
						out = append(out, ss)
					}
					return nil
				})
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	slices.SortFunc(out, func(x, y Session) int { return cmp.Compare(x.ID, y.ID) })
	return out, err
}
