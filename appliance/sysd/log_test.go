package sysd

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/journal"
)

type entry struct {
	msg    string
	pri    journal.Priority
	fields map[string]string
}

// recorder stands in for journal.Send.
type recorder struct{ entries []entry }

func (r *recorder) send(msg string, pri journal.Priority, vars map[string]string) error {
	r.entries = append(r.entries, entry{msg, pri, maps.Clone(vars)})
	return nil
}

func TestJournalHandlerFields(t *testing.T) {
	when := time.Date(2025, 3, 1, 12, 0, 0, 5, time.UTC)
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		msg  string
		pri  journal.Priority
		want map[string]string
	}{
		{
			name: "plain",
			log:  func(l *slog.Logger) { l.Info("listening", "addr", ":443", "tls", true) },
			msg:  "listening", pri: journal.PriInfo,
			want: map[string]string{"ADDR": ":443", "TLS": "true"},
		},
		{
			name: "with attrs",
			log:  func(l *slog.Logger) { l.With("subsys", "relay").Warn("slow peer", "n", 3) },
			msg:  "slow peer", pri: journal.PriWarning,
			want: map[string]string{"SUBSYS": "relay", "N": "3"},
		},
		{
			name: "with group",
			log: func(l *slog.Logger) {
				l.With("subsys", "web").WithGroup("http").With("method", "GET").
					WithGroup("resp").Error("handler", "status", 500, slog.Group("", "inline", 1))
			},
			msg: "handler", pri: journal.PriErr,
			want: map[string]string{
				"SUBSYS":           "web",
				"HTTP_METHOD":      "GET",
				"HTTP_RESP_STATUS": "500",
				"HTTP_RESP_INLINE": "1",
			},
		},
		{
			name: "nested group attr",
			log: func(l *slog.Logger) {
				l.Info("m", slog.Group("peer", "addr", "10.0.0.1", slog.Group("tls", "alpn", "h3")), slog.Group("empty"))
			},
			msg: "m", pri: journal.PriInfo,
			want: map[string]string{"PEER_ADDR": "10.0.0.1", "PEER_TLS_ALPN": "h3"},
		},
		{
			name: "debug and key mangling",
			log: func(l *slog.Logger) {
				l.Debug("d", "client-ip", "x", "_trusted", "y", "1st", "z", "message", "spoof",
					"at", when, "err", errors.New("boom"), "", "nokey", slog.Attr{})
			},
			msg: "d", pri: journal.PriDebug,
			want: map[string]string{
				"CLIENT_IP":    "x",
				"TRUSTED":      "y",
				"ATTR_1ST":     "z",
				"ATTR_MESSAGE": "spoof",
				"AT":           "2025-03-01T12:00:00.000000005Z",
				"ERR":          "boom",
			},
		},
		{
			name: "log valuer",
			log:  func(l *slog.Logger) { l.Info("v", "secret", redacted{}) },
			msg:  "v", pri: journal.PriInfo,
			want: map[string]string{"SECRET": "[redacted]"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recorder
			tt.log(slog.New(newJournalHandler(rec.send, slog.LevelDebug)))
			if len(rec.entries) != 1 {
				t.Fatalf("got %d entries, want 1", len(rec.entries))
			}
			e := rec.entries[0]
			if e.msg != tt.msg || e.pri != tt.pri {
				t.Errorf("got message %q priority %d, want %q %d", e.msg, e.pri, tt.msg, tt.pri)
			}
			if e.fields["SYSLOG_IDENTIFIER"] != "applianced" {
				t.Errorf("SYSLOG_IDENTIFIER = %q", e.fields["SYSLOG_IDENTIFIER"])
			}
			if !strings.HasSuffix(e.fields["CODE_FILE"], "log_test.go") || e.fields["CODE_LINE"] == "" {
				t.Errorf("CODE_FILE=%q CODE_LINE=%q, want this test file", e.fields["CODE_FILE"], e.fields["CODE_LINE"])
			}
			got := maps.Clone(e.fields)
			for _, k := range []string{"SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC"} {
				delete(got, k)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("fields\n got %v\nwant %v", got, tt.want)
			}
		})
	}
}

type redacted struct{}

func (redacted) LogValue() slog.Value { return slog.StringValue("[redacted]") }

func TestJournalHandlerSiblingsIndependent(t *testing.T) {
	var rec recorder
	base := slog.New(newJournalHandler(rec.send, slog.LevelInfo)).With("subsys", "desk")
	a := base.With("a", 1)
	b := base.WithGroup("g").With("b", 2)
	base.Info("base")
	a.Info("a")
	b.Info("b", "c", 3)
	want := []map[string]string{
		{"SUBSYS": "desk"},
		{"SUBSYS": "desk", "A": "1"},
		{"SUBSYS": "desk", "G_B": "2", "G_C": "3"},
	}
	if len(rec.entries) != len(want) {
		t.Fatalf("got %d entries, want %d", len(rec.entries), len(want))
	}
	for i, e := range rec.entries {
		for k, v := range want[i] {
			if e.fields[k] != v {
				t.Errorf("entry %q: %s = %q, want %q", e.msg, k, e.fields[k], v)
			}
		}
		for _, k := range []string{"A", "G_B", "G_C"} {
			if _, ok := want[i][k]; !ok && e.fields[k] != "" {
				t.Errorf("entry %q: unexpected %s=%q", e.msg, k, e.fields[k])
			}
		}
	}
}

func TestJournalHandlerLevel(t *testing.T) {
	var rec recorder
	var lv slog.LevelVar
	lv.Set(slog.LevelWarn)
	l := slog.New(newJournalHandler(rec.send, &lv))
	l.Info("dropped")
	l.Warn("kept")
	lv.Set(slog.LevelDebug)
	l.Debug("kept too")
	if len(rec.entries) != 2 || rec.entries[0].msg != "kept" || rec.entries[1].msg != "kept too" {
		t.Fatalf("entries = %+v", rec.entries)
	}
	if !l.Handler().Enabled(context.Background(), slog.LevelDebug) {
		t.Error("Enabled(debug) = false after lowering the level")
	}
}

func TestPriority(t *testing.T) {
	tests := []struct {
		level slog.Level
		want  journal.Priority
	}{
		{slog.LevelDebug - 4, journal.PriDebug},
		{slog.LevelDebug, journal.PriDebug},
		{slog.LevelInfo, journal.PriInfo},
		{slog.LevelInfo + 2, journal.PriInfo},
		{slog.LevelWarn, journal.PriWarning},
		{slog.LevelError, journal.PriErr},
		{slog.LevelError + 4, journal.PriErr},
	}
	for _, tt := range tests {
		if got := priority(tt.level); got != tt.want {
			t.Errorf("priority(%v) = %d, want %d", tt.level, got, tt.want)
		}
	}
}

func TestFieldNameLimits(t *testing.T) {
	long := strings.Repeat("k", 100)
	if got := fieldName([]string{long}); len(got) != maxFieldName {
		t.Errorf("len(fieldName(100 chars)) = %d, want %d", len(got), maxFieldName)
	}
	for _, in := range [][]string{{""}, {"___"}, {"-"}} {
		if got := fieldName(in); got != "" {
			t.Errorf("fieldName(%q) = %q, want empty", in, got)
		}
	}
}

func TestNewLoggerTextOutsideJournal(t *testing.T) {
	t.Setenv("JOURNAL_STREAM", "")
	var buf bytes.Buffer
	l := NewLogger(&buf, slog.LevelInfo)
	l.With("subsys", "store").Info("migrated", "version", 4)
	l.Debug("hidden")
	out := buf.String()
	for _, want := range []string{"level=INFO", "msg=migrated", "subsys=store", "version=4"} {
		if !strings.Contains(out, want) {
			t.Errorf("output %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "hidden") {
		t.Errorf("debug line written at info level: %q", out)
	}
}
