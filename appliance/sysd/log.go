package sysd

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
)

// SyslogIdentifier is the SYSLOG_IDENTIFIER of every journal entry the
// daemon writes.
const SyslogIdentifier = "applianced"

// NewLogger returns a logger for the daemon. When stderr is connected to
// the journal and journald is reachable, it writes structured entries to
// journald natively: the level becomes PRIORITY, the message MESSAGE, and
// each attribute an upper-case field ("subsys" becomes SUBSYS, a group "http"
// with key "status" becomes HTTP_STATUS). Otherwise it writes text lines to
// w. A nil level means slog.LevelInfo. Lines below error level that repeat
// one message are limited to 20 a minute (LimitRepeats).
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	if level == nil {
		level = slog.LevelInfo
	}
	if toJournal() {
		return slog.New(LimitRepeats(newJournalHandler(journal.Send, level)))
	}
	return slog.New(LimitRepeats(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})))
}

func toJournal() bool {
	ok, err := journal.StderrIsJournalStream()
	return err == nil && ok && journal.Enabled()
}

// sendFunc has the signature of journal.Send.
type sendFunc func(message string, priority journal.Priority, vars map[string]string) error

// journalHandler is a slog.Handler that writes entries to journald.
type journalHandler struct {
	send   sendFunc
	level  slog.Leveler
	fields []field // from WithAttrs, names final
	groups []string
}

type field struct{ name, value string }

var _ slog.Handler = (*journalHandler)(nil)

func newJournalHandler(send sendFunc, level slog.Leveler) *journalHandler {
	return &journalHandler{send: send, level: level}
}

func (h *journalHandler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level()
}

func (h *journalHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := *h
	h2.fields = slices.Clip(h.fields)
	for _, a := range attrs {
		h2.fields = appendAttr(h2.fields, h.groups, a)
	}
	return &h2
}

func (h *journalHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.groups = append(slices.Clip(h.groups), name)
	return &h2
}

func (h *journalHandler) Handle(_ context.Context, r slog.Record) error {
	fields := slices.Clip(h.fields)
	r.Attrs(func(a slog.Attr) bool {
		fields = appendAttr(fields, h.groups, a)
		return true
	})
	vars := make(map[string]string, len(fields)+4)
	for _, f := range fields {
		vars[f.name] = f.value
	}
	vars["SYSLOG_IDENTIFIER"] = SyslogIdentifier
	if r.PC != 0 {
		fr, _ := runtime.CallersFrames([]uintptr{r.PC}).Next()
		if fr.File != "" {
			vars["CODE_FILE"] = fr.File
			vars["CODE_LINE"] = strconv.Itoa(fr.Line)
		}
		if fr.Function != "" {
			vars["CODE_FUNC"] = fr.Function
		}
	}
	return h.send(r.Message, priority(r.Level), vars)
}

func priority(l slog.Level) journal.Priority {
	switch {
	case l >= slog.LevelError:
		return journal.PriErr
	case l >= slog.LevelWarn:
		return journal.PriWarning
	case l >= slog.LevelInfo:
		return journal.PriInfo
	default:
		return journal.PriDebug
	}
}

// appendAttr flattens a into fields, naming each field after its groups and
// key.
func appendAttr(fields []field, groups []string, a slog.Attr) []field {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return fields
	}
	if a.Value.Kind() == slog.KindGroup {
		attrs := a.Value.Group()
		if a.Key != "" {
			groups = append(slices.Clip(groups), a.Key)
		}
		for _, ga := range attrs {
			fields = appendAttr(fields, groups, ga)
		}
		return fields
	}
	name := fieldName(append(slices.Clip(groups), a.Key))
	if name == "" {
		return fields
	}
	return append(fields, field{name: name, value: formatValue(a.Value)})
}

func formatValue(v slog.Value) string {
	switch v.Kind() {
	case slog.KindTime:
		return v.Time().Format(time.RFC3339Nano)
	default:
		return v.String()
	}
}

// reserved names the fields the handler sets itself; attributes with these
// names are renamed so that they cannot replace or duplicate them.
var reserved = map[string]bool{
	"MESSAGE":           true,
	"PRIORITY":          true,
	"SYSLOG_IDENTIFIER": true,
	"CODE_FILE":         true,
	"CODE_LINE":         true,
	"CODE_FUNC":         true,
}

// maxFieldName is the longest field name journald accepts.
const maxFieldName = 64

// fieldName joins path with underscores into a valid journal field name:
// upper-case letters, digits and underscores, not starting with an
// underscore or a digit, at most 64 bytes. It returns "" for an empty name.
func fieldName(path []string) string {
	var b strings.Builder
	for i, p := range path {
		if i > 0 {
			b.WriteByte('_')
		}
		for j := 0; j < len(p); j++ {
			switch c := p[j]; {
			case 'a' <= c && c <= 'z':
				b.WriteByte(c - 'a' + 'A')
			case 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
				b.WriteByte(c)
			default:
				b.WriteByte('_')
			}
		}
	}
	name := strings.TrimLeft(b.String(), "_")
	switch {
	case name == "":
		return ""
	case name[0] >= '0' && name[0] <= '9', reserved[name]:
		name = "ATTR_" + name
	}
	if len(name) > maxFieldName {
		name = name[:maxFieldName]
	}
	return name
}
