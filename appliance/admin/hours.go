package admin

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/switchboardhq/switchboard/appliance/desk"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// The opening hours part of the site form: a time zone, one line of
// ranges per weekday ("09:00-12:00, 13:00-17:30"), holidays one date a
// line, exceptional openings "2026-12-24 09:00-12:00" a line, and the
// closed message.

var dayFields = []string{"hours_sunday", "hours_monday", "hours_tuesday", "hours_wednesday", "hours_thursday", "hours_friday", "hours_saturday"}
var dayNames = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

func spansText(spans []desk.Span) string {
	var parts []string
	for _, s := range spans {
		parts = append(parts, s.From+"-"+s.To)
	}
	return strings.Join(parts, ", ")
}

// parseSpans reads "09:00-12:00, 13:00-17:30" (empty: closed all day). A
// part it cannot read comes back as a span the desk refuses too, so
// nothing is saved.
func parseSpans(text string) ([]desk.Span, bool) {
	var out []desk.Span
	for _, part := range strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ';' }) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		from, to, ok := strings.Cut(part, "-")
		if !ok {
			return []desk.Span{{From: part}}, false
		}
		out = append(out, desk.Span{From: strings.TrimSpace(from), To: strings.TrimSpace(to)})
	}
	return out, true
}

func hoursForm(v url.Values, h *desk.Hours) {
	if h == nil {
		return
	}
	v.Set("time_zone", h.TimeZone)
	for i, f := range dayFields {
		v.Set(f, spansText(h.Weekly[i]))
	}
	v.Set("holidays", strings.Join(h.Holidays, "\n"))
	var sp []string
	for _, sd := range h.Special {
		sp = append(sp, sd.Date+" "+spansText(sd.Spans))
	}
	v.Set("special", strings.Join(sp, "\n"))
	v.Set("closed", h.Closed)
}

// readHours reads the form's hours; nil when no time zone is given (always
// open). Lines it cannot read go to fe.
func readHours(form url.Values, fe web.FieldErrors) *desk.Hours {
	zone := strings.TrimSpace(first(form, "time_zone"))
	if zone == "" {
		return nil
	}
	h := &desk.Hours{TimeZone: zone, Closed: first(form, "closed")}
	for i, f := range dayFields {
		spans, ok := parseSpans(first(form, f))
		if !ok {
			fe.Add(f, "Write the ranges as 09:00-12:00, 13:00-17:30.")
		}
		h.Weekly[i] = spans
	}
	for _, line := range strings.Split(first(form, "holidays"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			h.Holidays = append(h.Holidays, line)
		}
	}
	for n, line := range strings.Split(first(form, "special"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		date, rest, _ := strings.Cut(line, " ")
		spans, ok := parseSpans(rest)
		if !ok {
			fe.Add("special", fmt.Sprintf("Line %d: write 2026-12-24 09:00-12:00.", n+1))
		}
		h.Special = append(h.Special, desk.SpecialDay{Date: date, Spans: spans})
	}
	return h
}

func hoursSection(v web.View) section {
	fields := []field{
		textField(v, "time_zone", "Time zone", 64, "An IANA name such as Europe/Paris or America/New_York. Leave empty for a site that is always open."),
	}
	for i, f := range dayFields {
		fields = append(fields, textField(v, f, dayNames[i], 200, ""))
	}
	fields = append(fields,
		textareaField(v, "holidays", "Holidays", 4000, 3, "Closed all day: one date a line, such as 2026-12-25."),
		textareaField(v, "special", "Exceptional openings", 4000, 3, "A date and its ranges, one a line, such as 2026-12-24 09:00-12:00 (instead of the weekday's hours)."),
		textareaField(v, "closed", "Closed message", desk.MaxClosedText, 3, "Shown while the site is closed, with when it opens again."),
	)
	return section{ID: "hours", Title: "Opening hours", Hint: "Each weekday's ranges, such as 09:00-12:00, 13:00-17:30; empty means closed all day. Outside them only the session key is offered, and the closed message shows. Times follow the time zone, summer time included.", Fields: fields}
}
