package x11

import (
	"fmt"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/shm"
	"github.com/jezek/xgb/xproto"
	"golang.org/x/sys/unix"
)

// shmSegment is a System V shared memory segment attached both here and in
// the X server.
type shmSegment struct {
	seg  shm.Seg
	data []byte
}

func newShmSegment(conn *xgb.Conn, size int) (*shmSegment, error) {
	if err := shm.Init(conn); err != nil {
		return nil, fmt.Errorf("no MIT-SHM: %w", err)
	}
	id, err := unix.SysvShmGet(unix.IPC_PRIVATE, size, unix.IPC_CREAT|0o600)
	if err != nil {
		return nil, fmt.Errorf("shmget: %w", err)
	}
	// Removed now, the segment lives until the last detach, so it cannot
	// leak if this process dies.
	defer unix.SysvShmCtl(id, unix.IPC_RMID, nil)
	data, err := unix.SysvShmAttach(id, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("shmat: %w", err)
	}
	seg, err := shm.NewSegId(conn)
	if err == nil {
		err = shm.AttachChecked(conn, seg, uint32(id), false).Check()
	}
	if err != nil {
		unix.SysvShmDetach(data)
		return nil, fmt.Errorf("the X server cannot attach shared memory: %w", err)
	}
	return &shmSegment{seg: seg, data: data}, nil
}

func (s *shmSegment) getImage(conn *xgb.Conn, root xproto.Window, w, h int) error {
	_, err := shm.GetImage(conn, xproto.Drawable(root), 0, 0, uint16(w), uint16(h), ^uint32(0), xproto.ImageFormatZPixmap, s.seg, 0).Reply()
	return err
}

func (s *shmSegment) close(conn *xgb.Conn) {
	shm.Detach(conn, s.seg)
	unix.SysvShmDetach(s.data)
}
