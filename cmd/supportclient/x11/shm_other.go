//go:build !linux

package x11

import (
	"errors"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
)

// shmSegment is not used outside Linux.
type shmSegment struct{ data []byte }

func newShmSegment(conn *xgb.Conn, size int) (*shmSegment, error) {
	return nil, errors.New("shared memory is used on Linux only")
}

func (s *shmSegment) getImage(conn *xgb.Conn, root xproto.Window, w, h int) error {
	return errors.New("no shared memory")
}

func (s *shmSegment) close(conn *xgb.Conn) {}
