package desk

import (
	"testing"
	"time"
)

func weekdays(spans ...Span) [7][]Span {
	var w [7][]Span
	for d := time.Monday; d <= time.Friday; d++ {
		w[d] = spans
	}
	return w
}

func TestHoursAcrossDST(t *testing.T) {
	for _, tc := range []struct {
		zone string
		// A Monday after the spring change and one before it.
		before, after string
	}{
		{"Europe/Paris", "2026-03-23", "2026-03-30"},
		{"America/New_York", "2026-03-02", "2026-03-09"},
		{"Europe/Paris", "2026-10-19", "2026-10-26"},
		{"America/New_York", "2026-10-26", "2026-11-02"},
	} {
		h := &Hours{TimeZone: tc.zone, Weekly: weekdays(Span{"09:00", "12:00"}, Span{"13:00", "17:30"})}
		loc, ferr := h.check()
		if ferr != nil {
			t.Fatal(ferr)
		}
		for _, date := range []string{tc.before, tc.after} {
			day, _ := time.ParseInLocation(time.DateOnly, date, loc)
			local := func(hh, mm int) time.Time { return time.Date(day.Year(), day.Month(), day.Day(), hh, mm, 0, 0, loc) }
			for _, c := range []struct {
				at   time.Time
				open bool
				next time.Time
			}{
				{local(8, 59), false, local(9, 0)},
				{local(9, 0), true, local(12, 0)},
				{local(12, 30), false, local(13, 0)},
				{local(17, 29), true, local(17, 30)},
				{local(17, 30), false, local(9, 0).AddDate(0, 0, 1)},
			} {
				open, next := h.State(c.at.UTC())
				if open != c.open || !next.Equal(c.next) {
					t.Errorf("%s %s: open %v next %s, want %v %s", tc.zone, c.at, open, next.In(loc), c.open, c.next)
				}
			}
		}
		// Friday evening opens again on Monday morning.
		fri, _ := time.ParseInLocation(time.DateOnly, tc.before, loc)
		fri = fri.AddDate(0, 0, 4)
		if _, next := h.State(time.Date(fri.Year(), fri.Month(), fri.Day(), 18, 0, 0, 0, loc)); next.In(loc).Weekday() != time.Monday || next.In(loc).Hour() != 9 {
			t.Errorf("%s: after Friday it opens %s", tc.zone, next.In(loc))
		}
	}
}

func TestHoursHolidaysAndSpecialDays(t *testing.T) {
	h := &Hours{TimeZone: "Europe/Paris", Weekly: weekdays(Span{"09:00", "17:00"}), Holidays: []string{"2026-12-25"},
		Special: []SpecialDay{{Date: "2026-12-24", Spans: []Span{{"09:00", "12:00"}}}, {Date: "2026-12-27", Spans: []Span{{"10:00", "11:00"}}}}}
	loc, _ := h.check()
	in := func(s string) time.Time { t, _ := time.ParseInLocation("2006-01-02 15:04", s, loc); return t }
	for _, c := range []struct {
		at   string
		open bool
		next string
	}{
		{"2026-12-24 11:00", true, "2026-12-24 12:00"},
		{"2026-12-24 13:00", false, "2026-12-27 10:00"}, // the 25th is a holiday, the 26th a Saturday
		{"2026-12-27 10:30", true, "2026-12-27 11:00"},  // a Sunday, opened exceptionally
	} {
		open, next := h.State(in(c.at))
		if open != c.open || !next.Equal(in(c.next)) {
			t.Errorf("%s: %v %s, want %v %s", c.at, open, next.In(loc), c.open, c.next)
		}
	}
}

func TestHoursRefused(t *testing.T) {
	for field, h := range map[string]Hours{
		"time_zone":     {TimeZone: "Mars/Olympus"},
		"hours_monday":  {TimeZone: "UTC", Weekly: [7][]Span{1: {{"17:00", "09:00"}}}},
		"hours_tuesday": {TimeZone: "UTC", Weekly: [7][]Span{2: {{"09:00", "12:00"}, {"11:00", "13:00"}}}},
		"holidays":      {TimeZone: "UTC", Holidays: []string{"2026-13-01"}},
		"special":       {TimeZone: "UTC", Special: []SpecialDay{{Date: "2026-12-24", Spans: []Span{{"9", "12"}}}}},
	} {
		if _, err := h.check(); err == nil || err.Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
}
