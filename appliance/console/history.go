package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// historyPage is the data of /console/history.
type historyPage struct {
	Technicians []option
	Channels    []option
	Rows        []historyRow
	// Older pages back, when there are older sessions.
	Older string
}

// historyRow is one finished session in the list.
type historyRow struct {
	ID          uint64
	Ended       time.Time
	Customer    desk.Customer
	Queue       string
	Owner       string
	Method      string
	Status      desk.Status
	StatusLabel string
}

// recordPage is the data of a finished session's page.
type recordPage struct {
	Row           Row
	Ended         time.Time
	Trail         []trailLine
	Messages      []desk.Message
	Collaborators []string
}

func recordPath(id uint64) string { return "/console/history/" + strconv.FormatUint(id, 10) }

// dateLayout is how history dates are typed (an <input type="date">).
const dateLayout = "2006-01-02"

// historyFilter reads the search form.
func historyFilter(vals url.Values, fe web.FieldErrors) desk.HistoryFilter {
	f := desk.HistoryFilter{Customer: strings.TrimSpace(vals.Get("customer"))}
	if !utf8.ValidString(f.Customer) || len(f.Customer) > 200 {
		fe.Add("customer", "Type at most 200 characters of a name or company.")
		f.Customer = ""
	}
	f.Technician, _ = strconv.ParseUint(vals.Get("technician"), 10, 64)
	f.Channel, _ = strconv.ParseUint(vals.Get("channel"), 10, 64)
	f.Before, _ = strconv.ParseUint(vals.Get("before"), 10, 64)
	date := func(field string) time.Time {
		s := strings.TrimSpace(vals.Get(field))
		if s == "" {
			return time.Time{}
		}
		t, err := time.ParseInLocation(dateLayout, s, time.Local)
		if err != nil {
			fe.Add(field, "Use a date like 2026-11-21.")
		}
		return t
	}
	f.From = date("from")
	if to := date("to"); !to.IsZero() {
		f.To = to.AddDate(0, 0, 1) // the whole last day
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		fe.Add("to", "The end date is before the start date.")
	}
	return f
}

func (c *Console) serveHistory(w http.ResponseWriter, r *http.Request, q *req) error {
	ctx := r.Context()
	v := c.view(r, q, "History")
	v.Form = r.URL.Query()
	f := historyFilter(v.Form, v.Errors)
	dir, err := c.directory(ctx)
	if err != nil {
		return err
	}
	a := q.Actor
	hp := historyPage{}
	hp.Technicians = append(hp.Technicians, option{"", "Any technician", v.Form.Get("technician") == ""})
	for _, t := range dir.techs {
		val := strconv.FormatUint(t.UserID, 10)
		hp.Technicians = append(hp.Technicians, option{val, t.PrivateName, v.Form.Get("technician") == val})
	}
	hp.Channels = append(hp.Channels, option{"", "Any queue", v.Form.Get("channel") == ""})
	for _, ch := range dir.channels {
		if slices.Contains(a.Serves, ch.ID) || desk.Can(a, desk.ActSupervise, desk.Scope{Channel: ch.ID}) {
			val := strconv.FormatUint(ch.ID, 10)
			hp.Channels = append(hp.Channels, option{val, ch.Name, v.Form.Get("channel") == val})
		}
	}
	status := http.StatusOK
	if v.Errors.Any() {
		status = http.StatusBadRequest
	} else {
		sessions, next, err := c.desk.History(ctx, a, f)
		if err != nil {
			return err
		}
		for _, ss := range sessions {
			row := historyRow{ID: ss.ID, Ended: ss.EndedAt, Customer: ss.Customer, Queue: dir.queueName(ss.Queue, a.UserID),
				Method: methodLabel(ss.Method), Status: ss.Status, StatusLabel: ss.Label()}
			if ss.Owner != 0 {
				row.Owner = dir.techName(ss.Owner)
			}
			hp.Rows = append(hp.Rows, row)
		}
		if next != 0 {
			older := url.Values{}
			for k, vs := range v.Form {
				older[k] = vs
			}
			older.Set("before", strconv.FormatUint(next, 10))
			hp.Older = "/console/history?" + older.Encode()
		}
	}
	v.Data = hp
	return c.render(w, r, status, "console-history.html", v)
}

func (c *Console) serveRecord(w http.ResponseWriter, r *http.Request, q *req) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	ss, msgs, err := c.desk.Record(ctx, q.Actor, id)
	if errors.Is(err, desk.ErrState) {
		return web.Redirect(w, r, sessionPath(id))
	}
	if err != nil {
		return err
	}
	dir, err := c.directory(ctx)
	if err != nil {
		return err
	}
	rp := recordPage{Row: dir.row(q.Actor, ss), Ended: ss.EndedAt, Trail: dir.trail(ss), Messages: msgs}
	for _, u := range ss.Collaborators {
		rp.Collaborators = append(rp.Collaborators, dir.techName(u))
	}
	v := c.view(r, q, "Session with "+customerName(ss.Customer))
	v.Data = rp
	return c.render(w, r, http.StatusOK, "console-record.html", v)
}
