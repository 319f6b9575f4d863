package desk

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/appliance/text"
)

// Hours are a public site's opening hours (the seed's schedules): weekly
// ranges in the site's IANA time zone, holidays when it is closed all day
// and exceptional days with their own ranges. Outside them every start
// method but the session key is off, and Closed is shown. A site without
// Hours is always open.
type Hours struct {
	// TimeZone is an IANA name such as "Europe/Paris".
	TimeZone string `json:"time_zone"`
	// Weekly holds the ranges of each weekday, Sunday first.
	Weekly [7][]Span `json:"weekly"`
	// Holidays are dates (YYYY-MM-DD) closed all day.
	Holidays []string `json:"holidays,omitempty"`
	// Special are dates with their own ranges instead of the weekday's.
	Special []SpecialDay `json:"special,omitempty"`
	// Closed is the message shown while closed.
	Closed string `json:"closed,omitempty"`
}

// Span is an opening range within a day, "HH:MM" to "HH:MM" (To may be
// "24:00").
type Span struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// SpecialDay is an exceptional opening on Date.
type SpecialDay struct {
	Date  string `json:"date"`
	Spans []Span `json:"spans"`
}

// Bounds of opening hours.
const (
	maxSpansPerDay = 6
	maxHoursDates  = 200
	MaxClosedText  = 1000
)

func minutes(hhmm string) (int, bool) {
	var h, m int
	if len(hhmm) != 5 || hhmm[2] != ':' {
		return 0, false
	}
	if _, err := fmt.Sscanf(hhmm, "%02d:%02d", &h, &m); err != nil || h < 0 || h > 24 || m < 0 || m > 59 || (h == 24 && m != 0) {
		return 0, false
	}
	return h*60 + m, true
}

// checkSpans validates one day's ranges: well-formed, not inverted, not
// overlapping.
func checkSpans(spans []Span) error {
	if len(spans) > maxSpansPerDay {
		return fmt.Errorf("use at most %d ranges a day", maxSpansPerDay)
	}
	type iv struct{ a, b int }
	var ivs []iv
	for _, s := range spans {
		a, ok1 := minutes(s.From)
		b, ok2 := minutes(s.To)
		switch {
		case !ok1 || !ok2:
			return fmt.Errorf("write each range as 09:00-17:30 (24-hour clock)")
		case b <= a:
			return fmt.Errorf("the range %s-%s ends before it starts", s.From, s.To)
		}
		ivs = append(ivs, iv{a, b})
	}
	slices.SortFunc(ivs, func(x, y iv) int { return x.a - y.a })
	for i := 1; i < len(ivs); i++ {
		if ivs[i].a < ivs[i-1].b {
			return fmt.Errorf("two ranges overlap")
		}
	}
	return nil
}

func checkDate(d string) bool {
	_, err := time.Parse(time.DateOnly, d)
	return err == nil
}

// zones caches the time zones sites use: loading one parses its tzdata,
// and the public pages ask on every request.
var zones sync.Map // name → *time.Location

// loadZone is time.LoadLocation, cached.
func loadZone(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err == nil {
		zones.Store(name, loc)
	}
	return loc, err
}

// Location is the site's time zone (UTC if it cannot be loaded, which
// SaveSite refuses).
func (h *Hours) Location() *time.Location {
	if loc, err := loadZone(h.TimeZone); err == nil {
		return loc
	}
	return time.UTC
}

// Check validates h; the error names what is wrong in words.
func (h *Hours) check() (*time.Location, *FieldError) {
	loc, err := loadZone(h.TimeZone)
	if h.TimeZone == "" || err != nil || h.TimeZone == "Local" {
		return nil, &FieldError{"time_zone", fmt.Sprintf("%q is not a time zone; use an IANA name such as Europe/Paris.", text.ClipRunes(h.TimeZone, 60))}
	}
	days := []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}
	for i, spans := range h.Weekly {
		if err := checkSpans(spans); err != nil {
			return nil, &FieldError{"hours_" + days[i], upperFirst(err.Error()) + "."}
		}
	}
	if len(h.Holidays)+len(h.Special) > maxHoursDates {
		return nil, &FieldError{"holidays", fmt.Sprintf("Give at most %d dates.", maxHoursDates)}
	}
	for _, d := range h.Holidays {
		if !checkDate(d) {
			return nil, &FieldError{"holidays", fmt.Sprintf("%q is not a date; write 2026-12-25.", text.ClipRunes(d, 40))}
		}
	}
	for _, sd := range h.Special {
		if !checkDate(sd.Date) {
			return nil, &FieldError{"special", fmt.Sprintf("%q is not a date; write 2026-12-24 09:00-12:00.", text.ClipRunes(sd.Date, 40))}
		}
		if err := checkSpans(sd.Spans); err != nil {
			return nil, &FieldError{"special", sd.Date + ": " + err.Error() + "."}
		}
	}
	h.Closed = strings.TrimSpace(h.Closed)
	if utf8.RuneCountInString(h.Closed) > MaxClosedText || text.HasBidiControl(h.Closed) {
		return nil, &FieldError{"closed", fmt.Sprintf("Keep the closed message under %d characters, without direction controls.", MaxClosedText)}
	}
	return loc, nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// spansOn returns the ranges of the local date of day.
func (h *Hours) spansOn(day time.Time) []Span {
	date := day.Format(time.DateOnly)
	if slices.Contains(h.Holidays, date) {
		return nil
	}
	for _, sd := range h.Special {
		if sd.Date == date {
			return sd.Spans
		}
	}
	return h.Weekly[day.Weekday()]
}

// at is the instant of hh:mm on the local date of day (Go moves a time
// that a DST change skips forward, as clocks do).
func at(day time.Time, hhmm string, loc *time.Location) time.Time {
	m, _ := minutes(hhmm)
	y, mo, d := day.Date()
	return time.Date(y, mo, d, 0, m, 0, 0, loc)
}

// State says whether the site is open at t and when that next changes
// (zero when it never does within a year).
func (h *Hours) State(t time.Time) (open bool, next time.Time) {
	loc, err := loadZone(h.TimeZone)
	if err != nil {
		return true, time.Time{}
	}
	lt := t.In(loc)
	// Today's and the following days' ranges as instants, in order.
	type iv struct{ a, b time.Time }
	var ivs []iv
	y, mo, d := lt.Date()
	for i := -1; i < 400 && len(ivs) < 64; i++ {
		day := time.Date(y, mo, d+i, 12, 0, 0, 0, loc)
		for _, s := range h.spansOn(day) {
			a, b := at(day, s.From, loc), at(day, s.To, loc)
			if b.After(t) {
				ivs = append(ivs, iv{a, b})
			}
		}
		if i > 8 && len(ivs) > 0 {
			break
		}
	}
	slices.SortFunc(ivs, func(x, y iv) int { return x.a.Compare(y.a) })
	// Adjacent ranges (23:00-24:00 then 00:00-01:00) join.
	var merged []iv
	for _, v := range ivs {
		if n := len(merged); n > 0 && !v.a.After(merged[n-1].b) {
			if v.b.After(merged[n-1].b) {
				merged[n-1].b = v.b
			}
			continue
		}
		merged = append(merged, v)
	}
	for _, v := range merged {
		if !t.Before(v.a) && t.Before(v.b) {
			return true, v.b
		}
		if v.a.After(t) {
			return false, v.a
		}
	}
	return false, time.Time{}
}

// OpenAt reports whether site is open at t: always without hours.
func (st Site) OpenAt(t time.Time) (bool, time.Time) {
	if st.Hours == nil {
		return true, time.Time{}
	}
	return st.Hours.State(t)
}
