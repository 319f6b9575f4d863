package relay

import "sync/atomic"

// Reasons a frame is dropped, as counted in SessionStats.Drops.
const (
	DropSlowViewer = "slow-viewer" // a screen frame a viewer's full queue could not take
	DropViewOnly   = "view-only"   // input or clipboard from a viewer that is not the controller or may not control
	DropNoFiles    = "no-files"    // a file frame from a viewer without the file-transfer right
	DropNoClient   = "no-client"   // a viewer's frame while no client is connected
	DropFullFrame  = "full-frame"  // a viewer's full-frame request within FullFrameInterval of its last
)

type drop int

const (
	dropSlowViewer drop = iota
	dropViewOnly
	dropNoClient
	dropFullFrame
	dropNoFiles
	numDrops
)

var dropNames = [numDrops]string{DropSlowViewer, DropViewOnly, DropNoClient, DropFullFrame, DropNoFiles}

// SessionStats are the counters of one live session. In counts what the box
// received from the session's client and viewers, Out what it sent them.
type SessionStats struct {
	Session   uint64
	Client    bool // a client is connected
	Viewers   int
	BytesIn   uint64
	BytesOut  uint64
	FramesIn  uint64
	FramesOut uint64
	// Drops counts dropped frames by reason (the Drop… constants); reasons
	// that never happened are absent.
	Drops map[string]uint64
}

// Totals are the counters of every session since New; Sessions, Clients
// and Viewers are the ones live now.
type Totals struct {
	Sessions  int
	Clients   int
	Viewers   int
	BytesIn   uint64
	BytesOut  uint64
	FramesIn  uint64
	FramesOut uint64
	Drops     map[string]uint64
}

// counters are updated without locks on every frame.
type counters struct {
	bytesIn, bytesOut, framesIn, framesOut atomic.Uint64
	drops                                  [numDrops]atomic.Uint64
}

func (c *counters) dropMap() map[string]uint64 {
	m := map[string]uint64{}
	for i := range c.drops {
		if n := c.drops[i].Load(); n > 0 {
			m[dropNames[i]] = n
		}
	}
	return m
}

func (s *session) countIn(n int) {
	s.ctr.bytesIn.Add(uint64(n))
	s.ctr.framesIn.Add(1)
	s.r.total.bytesIn.Add(uint64(n))
	s.r.total.framesIn.Add(1)
}

func (s *session) countOut(frames, n int) {
	s.ctr.bytesOut.Add(uint64(n))
	s.ctr.framesOut.Add(uint64(frames))
	s.r.total.bytesOut.Add(uint64(n))
	s.r.total.framesOut.Add(uint64(frames))
}

func (s *session) countDrop(d drop, n int) {
	s.ctr.drops[d].Add(uint64(n))
	s.r.total.drops[d].Add(uint64(n))
}

// Stats returns the counters of a live session.
func (r *Relay) Stats(session uint64) (SessionStats, bool) {
	r.mu.Lock()
	s := r.sessions[session]
	r.mu.Unlock()
	if s == nil {
		return SessionStats{}, false
	}
	s.mu.Lock()
	st := SessionStats{Session: session, Client: s.client != nil, Viewers: len(s.viewerList())}
	s.mu.Unlock()
	st.BytesIn = s.ctr.bytesIn.Load()
	st.BytesOut = s.ctr.bytesOut.Load()
	st.FramesIn = s.ctr.framesIn.Load()
	st.FramesOut = s.ctr.framesOut.Load()
	st.Drops = s.ctr.dropMap()
	return st, true
}

// Totals returns the counters of the whole relay.
func (r *Relay) Totals() Totals {
	r.mu.Lock()
	t := Totals{Sessions: len(r.sessions)}
	for _, s := range r.sessions {
		s.mu.Lock()
		if s.client != nil {
			t.Clients++
		}
		t.Viewers += len(s.viewerList())
		s.mu.Unlock()
	}
	r.mu.Unlock()
	t.BytesIn = r.total.bytesIn.Load()
	t.BytesOut = r.total.bytesOut.Load()
	t.FramesIn = r.total.framesIn.Load()
	t.FramesOut = r.total.framesOut.Load()
	t.Drops = r.total.dropMap()
	return t
}

// Map is st as counters by name, for pages: viewers, bytes_in, bytes_out,
// frames_in, frames_out and drops_<reason>.
func (st SessionStats) Map() map[string]uint64 {
	m := map[string]uint64{"viewers": uint64(st.Viewers), "bytes_in": st.BytesIn, "bytes_out": st.BytesOut,
		"frames_in": st.FramesIn, "frames_out": st.FramesOut}
	for k, v := range st.Drops {
		m["drops_"+k] = v
	}
	return m
}
