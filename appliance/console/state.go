package console

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// State is the technician's whole live view: its queues and every open
// session in them or that it works on. /console/state and the "state"
// event of /console/events carry it; console.js renders it.
type State struct {
	Now      time.Time   `json:"now"`
	Me       Me          `json:"me"`
	Queues   []QueueInfo `json:"queues"`
	Sessions []Row       `json:"sessions"`
}

// Me is the technician the state is for.
type Me struct {
	ID           uint64 `json:"id"`
	Name         string `json:"name"`
	Availability string `json:"availability"`
	// Profile tells whether an administrator gave the user a technician
	// profile (availability, being listed, transfers need one).
	Profile bool `json:"profile"`
}

// QueueInfo is one queue the technician watches, with its counts.
type QueueInfo struct {
	Key  string `json:"key"`
	Kind string `json:"kind"`
	ID   uint64 `json:"id"`
	Name string `json:"name"`
	// Waiting counts ready customers; Total every open session.
	Waiting int `json:"waiting"`
	Total   int `json:"total"`
	// Rows are the queue's sessions, for the page without JavaScript.
	Rows []Row `json:"-"`
}

// Row is one open session as the queue lists show it.
type Row struct {
	ID          uint64        `json:"id"`
	Status      desk.Status   `json:"status"`
	StatusLabel string        `json:"status_label"`
	Method      string        `json:"method"`
	QueueKey    string        `json:"queue_key"`
	QueueName   string        `json:"queue_name"`
	Owner       uint64        `json:"owner,omitempty"`
	OwnerName   string        `json:"owner_name,omitempty"`
	Mine        bool          `json:"mine"`
	Customer    desk.Customer `json:"customer"`
	Created     time.Time     `json:"created"`
	// Since is when the session entered its current status: the age the
	// lists show ticks from it.
	Since     time.Time `json:"since"`
	CanAccept bool      `json:"can_accept"`
	// Agreeing is set while the customer has not accepted the site's
	// agreement: Accept waits for it.
	Agreeing bool `json:"awaiting_agreement,omitempty"`
	// Age is Since for people, on the page without JavaScript.
	Age string `json:"-"`
}

func queueKey(q desk.Queue) string { return fmt.Sprintf("%s-%d", q.Kind, q.ID) }

// methodLabels name the start methods for people.
var methodLabels = map[desk.Method]string{
	desk.MethodTechList: "Technician list",
	desk.MethodKey:      "Session key",
	desk.MethodSurvey:   "Issue survey",
	desk.MethodSOS:      "SOS Call",
	desk.MethodLink:     "Support link",
	desk.MethodCode:     "Classic SOS code",
}

func methodLabel(m desk.Method) string {
	if l, ok := methodLabels[m]; ok {
		return l
	}
	return string(m)
}

// directory names technicians and channels.
type directory struct {
	techs    []desk.Technician
	channels []desk.Channel
	tech     map[uint64]desk.Technician
	channel  map[uint64]desk.Channel
}

func (c *Console) directory(ctx context.Context) (*directory, error) {
	techs, err := c.desk.Technicians(ctx)
	if err != nil {
		return nil, err
	}
	chans, err := c.desk.AllChannels(ctx)
	if err != nil {
		return nil, err
	}
	d := &directory{techs: techs, channels: chans, tech: map[uint64]desk.Technician{}, channel: map[uint64]desk.Channel{}}
	for _, t := range techs {
		d.tech[t.UserID] = t
	}
	for _, ch := range chans {
		d.channel[ch.ID] = ch
	}
	return d, nil
}

// techName is the name colleagues know technician id by.
func (d *directory) techName(id uint64) string {
	if t, ok := d.tech[id]; ok {
		return t.PrivateName
	}
	return fmt.Sprintf("Technician #%d", id)
}

func (d *directory) channelName(id uint64) string {
	if ch, ok := d.channel[id]; ok {
		return ch.Name
	}
	return fmt.Sprintf("Channel #%d", id)
}

// queueName names queue q for technician me.
func (d *directory) queueName(q desk.Queue, me uint64) string {
	switch {
	case q.Kind == desk.QueueChannel:
		return d.channelName(q.ID)
	case q.ID == me:
		return "My queue"
	case q.ID == 0:
		return "Unclaimed SOS codes"
	}
	return "Queue of " + d.techName(q.ID)
}

// since is when ss entered its current status.
func since(ss desk.Session) time.Time {
	switch ss.Status {
	case desk.Active:
		return ss.AcceptedAt
	case desk.Waiting:
		return ss.Created
	case desk.Closed, desk.Expired:
		return ss.EndedAt
	}
	for i := len(ss.Trail) - 1; i >= 0; i-- {
		switch ss.Trail[i].Event {
		case "ready", "transferred", "claimed":
			return ss.Trail[i].At
		}
	}
	return ss.ReadyAt
}

// row is ss as a technician's lists show it.
func (d *directory) row(a desk.Actor, ss desk.Session) Row {
	r := Row{
		ID: ss.ID, Status: ss.Status, StatusLabel: ss.Label(), Method: methodLabel(ss.Method),
		QueueKey: queueKey(ss.Queue), QueueName: d.queueName(ss.Queue, a.UserID),
		Owner: ss.Owner, Mine: ss.Owner == a.UserID || slices.Contains(ss.Collaborators, a.UserID),
		Customer: ss.Customer, Created: ss.Created, Since: since(ss),
		CanAccept: ss.Status == desk.Ready && mayAccept(a, ss) && !ss.UnclaimedCode(),
		Agreeing:  ss.Status == desk.Ready && ss.AwaitingAgreement(),
	}
	if ss.Owner != 0 {
		r.OwnerName = d.techName(ss.Owner)
	}
	return r
}

// concerns reports whether ss belongs in a's live view: in its personal
// queue, a channel it serves or supervises, or a session it works on.
func concerns(a desk.Actor, ss desk.Session) bool {
	switch {
	case ss.Owner == a.UserID, slices.Contains(ss.Collaborators, a.UserID):
		return true
	case ss.Queue.Kind == desk.QueueTechnician:
		return ss.Queue.ID == a.UserID
	case ss.Queue.Kind == desk.QueueChannel:
		return slices.Contains(a.Serves, ss.Queue.ID) || desk.Can(a, desk.ActSupervise, desk.Scope{Channel: ss.Queue.ID})
	}
	return false
}

// state builds the live view of technician a.
func (c *Console) state(ctx context.Context, a desk.Actor) (State, *directory, error) {
	st := State{Now: c.now().UTC(), Me: Me{ID: a.UserID, Name: a.Name}, Queues: []QueueInfo{}, Sessions: []Row{}}
	d, err := c.directory(ctx)
	if err != nil {
		return st, nil, err
	}
	if t, ok := d.tech[a.UserID]; ok {
		st.Me.Availability, st.Me.Profile = t.Availability, true
	}
	queues, err := c.desk.Queues(ctx, a)
	if err != nil {
		return st, nil, err
	}
	working, err := c.desk.Working(ctx, a)
	if err != nil {
		return st, nil, err
	}
	seen := map[uint64]bool{}
	for _, qv := range queues {
		qi := QueueInfo{Key: queueKey(qv.Queue), Kind: qv.Queue.Kind, ID: qv.Queue.ID, Name: d.queueName(qv.Queue, a.UserID)}
		for _, ss := range qv.Sessions {
			r := d.row(a, ss)
			qi.Rows = append(qi.Rows, r)
			qi.Total++
			if ss.Status == desk.Ready {
				qi.Waiting++
			}
			if !seen[ss.ID] {
				seen[ss.ID] = true
				st.Sessions = append(st.Sessions, r)
			}
		}
		sortRows(qi.Rows)
		st.Queues = append(st.Queues, qi)
	}
	for _, ss := range working {
		if !seen[ss.ID] {
			seen[ss.ID] = true
			st.Sessions = append(st.Sessions, d.row(a, ss))
		}
	}
	sortRows(st.Sessions)
	return st, d, nil
}

// sortRows puts the longest waiting first.
func sortRows(rows []Row) {
	slices.SortStableFunc(rows, func(x, y Row) int {
		if c := x.Since.Compare(y.Since); c != 0 {
			return c
		}
		return cmp.Compare(x.ID, y.ID)
	})
}

// Working returns the rows of st the technician owns or collaborates on.
func (st State) Working() []Row {
	var out []Row
	for _, r := range st.Sessions {
		if r.Mine {
			out = append(out, r)
		}
	}
	return out
}

func (c *Console) serveState(w http.ResponseWriter, r *http.Request, q *req) error {
	st, _, err := c.state(r.Context(), q.Actor)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, st)
}
