package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/bus"
	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// Heartbeat is how often an idle event stream gets a comment, which keeps
// proxies from closing it and re-checks the technician's sign-in.
const Heartbeat = 15 * time.Second

// subBuffer is how many events a console may fall behind before it lags
// and gets a fresh state instead.
var subBuffer = 256

// watcher decides which bus events reach one technician's console. It runs
// inside bus.Publish, so it only reads memory.
type watcher struct {
	mu    sync.Mutex
	actor desk.Actor
	// known are the open sessions the console shows: it keeps hearing
	// about them until they leave its view (a transfer away, a collaborator
	// leaving), and hears that once.
	known map[uint64]bool
}

func newWatcher(a desk.Actor) *watcher { return &watcher{actor: a, known: map[uint64]bool{}} }

// reset takes the actor and the sessions of a fresh state.
func (w *watcher) reset(a desk.Actor, st State) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.actor = a
	clear(w.known)
	for _, r := range st.Sessions {
		w.known[r.ID] = true
	}
}

// servesChannel reports whether a watches channel ch's queue.
func servesChannel(a desk.Actor, ch uint64) bool {
	return ch != 0 && (slices.Contains(a.Serves, ch) || desk.Can(a, desk.ActSupervise, desk.Scope{Channel: ch}))
}

// wants is the bus filter: events about the technician's personal queue,
// the channels it serves or supervises, the sessions it owns or
// collaborates on, and sessions it showed until they leave its view.
func (w *watcher) wants(e bus.Event) bool {
	if e.Kind == bus.SessionPosition {
		return false // for the customer's page
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	a := w.actor
	direct := e.Owner == a.UserID || slices.Contains(e.Users, a.UserID) || servesChannel(a, e.Channel)
	if sum, ok := e.Data.(desk.Summary); ok {
		// A session event says where the session is now.
		direct = direct || sum.Queue == (desk.Queue{Kind: desk.QueueTechnician, ID: a.UserID})
		was := w.known[e.Session]
		if direct && sum.Status != desk.Closed && sum.Status != desk.Expired {
			w.known[e.Session] = true
		} else {
			delete(w.known, e.Session)
		}
		return direct || was
	}
	return direct || e.Session != 0 && w.known[e.Session]
}

// outEvent is a bus event as the console receives it. Session events carry
// the session's row as the technician now sees it, or Gone when it left
// the technician's view; chat events carry the message.
type outEvent struct {
	Seq     uint64    `json:"seq"`
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	Session uint64    `json:"session,omitempty"`
	Row     *Row      `json:"row,omitempty"`
	Gone    bool      `json:"gone,omitempty"`
	Data    any       `json:"data,omitempty"`
}

// writeTimeout bounds one event's write: a console that stops reading is
// dropped (its browser reconnects) instead of holding a goroutine.
const writeTimeout = 30 * time.Second

// stream writes server-sent events and flushes each one.
type stream struct {
	w  io.Writer
	rc *http.ResponseController
}

func (s *stream) send(kind string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	// JSON has no raw line breaks, so one data line holds the event.
	return s.write(fmt.Sprintf("event: %s\ndata: %s\n\n", kind, b))
}

func (s *stream) comment(text string) error { return s.write(": " + text + "\n\n") }

func (s *stream) write(chunk string) error {
	s.rc.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := io.WriteString(s.w, chunk); err != nil {
		return err
	}
	return s.rc.Flush()
}

// serveEvents streams the technician's live view: a "state" first (and
// again after a lag or a change of its channels), then every event that
// concerns it, until the request ends. A browser's EventSource reconnects
// by itself and gets a fresh state, so nothing is lost after a drop.
func (c *Console) serveEvents(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	release, err := c.streams.Acquire(q.Actor.UserID)
	switch {
	case errors.Is(err, web.ErrKeyFull):
		return web.Error(http.StatusTooManyRequests, fmt.Sprintf("The console is open in more than %d windows.", maxStreams), "Close the consoles you no longer use, then reload this page.")
	case err != nil:
		return web.Error(http.StatusServiceUnavailable, "The box is serving as many consoles as it can.", "Wait a minute, then reload this page.")
	}
	defer release()
	watch := newWatcher(q.Actor)
	sub := c.bus.Subscribe(watch.wants, subBuffer)
	defer sub.Close()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	out := &stream{w: w, rc: http.NewResponseController(w)}
	// The server's read timeout is for requests, not for this stream: left
	// in place it would end the stream after a minute.
	out.rc.SetReadDeadline(time.Time{})
	w.WriteHeader(http.StatusOK)
	// From here on errors end the stream; the status is already sent.
	if err := out.write("retry: 2000\n\n"); err != nil {
		return nil
	}
	actor := q.Actor
	mark, dir, err := c.sendState(ctx, out, watch, actor)
	if err != nil {
		c.logStreamEnd(ctx, err)
		return nil
	}
	beat := time.NewTicker(c.heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-sub.C:
			if !ok {
				return nil
			}
			if sub.Lagged() {
				mark, dir, err = c.sendState(ctx, out, watch, actor)
			} else if e.Seq > mark {
				err = c.sendEvent(ctx, out, actor, dir, e)
			}
		case <-beat.C:
			who, werr := c.area.Who(r)
			if errors.Is(werr, auth.ErrSessionExpired) {
				// Signed out, timed out or disabled: the browser must not
				// reconnect on its own.
				out.send("signedout", map[string]string{"error": "Your sign-in has ended. Sign in again to keep working."})
				return nil
			}
			if werr != nil {
				c.logStreamEnd(ctx, werr) // the browser reconnects
				return nil
			}
			fresh, aerr := c.actorFor(r, who)
			if aerr == nil && !sameActor(fresh, actor) {
				actor = fresh
				mark, dir, err = c.sendState(ctx, out, watch, actor)
			} else {
				err = out.comment("ping")
			}
		}
		if err != nil {
			c.logStreamEnd(ctx, err)
			return nil
		}
	}
}

func (c *Console) logStreamEnd(ctx context.Context, err error) {
	if ctx.Err() == nil {
		c.log.Debug("event stream ended", "err", err)
	}
}

// sameActor reports whether a and b decide the same events and actions.
func sameActor(a, b desk.Actor) bool {
	if a.UserID != b.UserID || a.Role != b.Role || a.Name != b.Name ||
		!slices.Equal(a.Serves, b.Serves) || !slices.Equal(a.Manages, b.Manages) || len(a.Perms) != len(b.Perms) {
		return false
	}
	for p, v := range a.Perms {
		if b.Perms[p] != v {
			return false
		}
	}
	return true
}

// sendState sends a fresh state and returns the bus sequence it reflects:
// events up to it are in the state already. Events published after the
// mark may be in it too; applying them again is harmless.
func (c *Console) sendState(ctx context.Context, out *stream, watch *watcher, a desk.Actor) (uint64, *directory, error) {
	mark := c.bus.Seq()
	st, dir, err := c.state(ctx, a)
	if err != nil {
		return 0, nil, err
	}
	watch.reset(a, st)
	return mark, dir, out.send("state", st)
}

// sendEvent sends one bus event: session events with the session's row as
// a sees it now, chat events with their message.
func (c *Console) sendEvent(ctx context.Context, out *stream, a desk.Actor, dir *directory, e bus.Event) error {
	oe := outEvent{Seq: e.Seq, At: e.At, Kind: string(e.Kind), Session: e.Session}
	switch {
	case e.Kind.IsSession():
		ss, err := c.desk.Session(ctx, a, e.Session)
		if err != nil || !ss.Open() || !concerns(a, ss) {
			oe.Gone = true
			break
		}
		if ss.Owner != 0 {
			if _, ok := dir.tech[ss.Owner]; !ok {
				if fresh, err := c.directory(ctx); err == nil {
					*dir = *fresh
				}
			}
		}
		row := dir.row(a, ss)
		oe.Row = &row
	case e.Kind == bus.ChatMessage, e.Kind == bus.ChatTyping:
		oe.Data = e.Data
	}
	return out.send(string(e.Kind), oe)
}
