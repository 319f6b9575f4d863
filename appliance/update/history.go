package update

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode"
)

// The state directory holds:
//
//	history.jsonl          one JSON Event per line, appended and fsynced
//	failed-<version>.txt   written by the image's switchboard-trial.service
//	                       before it reboots out of a trial that failed:
//	                       when, which entry, the last journal lines
//	install.lock           held while an install runs

const (
	historyFile = "history.jsonl"
	// maxHistoryRead bounds how much of the history Status reads (its end).
	maxHistoryRead = 1 << 20
	// maxFailureText bounds the text kept from one failure record.
	maxFailureText = 16 << 10
	// historyShown is how many events Status returns.
	historyShown = 20
)

// An Event is one line of the update history.
type Event struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"` // "installed" or "failed"
	Version string    `json:"version"`
	Slot    string    `json:"slot,omitempty"`
	From    string    `json:"from,omitempty"`
	Detail  string    `json:"detail,omitempty"`
}

// Describe says what happened, in one line.
func (e Event) Describe() string {
	switch e.Kind {
	case "installed":
		s := "installed " + e.Version + " into slot " + e.Slot
		if e.From != "" {
			s += " (was running " + e.From + ")"
		}
		return s
	case "failed":
		return "update to " + e.Version + " failed"
	}
	return e.Kind + " " + e.Version
}

// record appends e to the history and syncs it.
func (in *Installer) record(e Event) error {
	if e.Time.IsZero() {
		e.Time = in.now().UTC().Truncate(time.Second)
	}
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(in.paths.State, historyFile), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// history returns the last events, oldest first. Lines that do not parse
// (a torn last write) are skipped.
func (in *Installer) history() ([]Event, error) {
	f, err := os.Open(filepath.Join(in.paths.State, historyFile))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > maxHistoryRead {
		f.Seek(st.Size()-maxHistoryRead, io.SeekStart)
	}
	var out []Event
	sc := bufio.NewScanner(io.LimitReader(f, maxHistoryRead))
	sc.Buffer(nil, maxHistoryRead)
	for sc.Scan() {
		var e Event
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Kind != "" {
			out = append(out, e)
		}
	}
	if len(out) > historyShown {
		out = out[len(out)-historyShown:]
	}
	return out, nil
}

// A failureFile is one failed-<version>.txt record.
type failureFile struct {
	version string
	path    string
	when    time.Time
	text    string
}

// failureFiles reads the trial service's failure records, oldest first.
func (in *Installer) failureFiles() ([]failureFile, error) {
	des, err := os.ReadDir(in.paths.State)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []failureFile
	for _, de := range des {
		v, ok := strings.CutPrefix(de.Name(), "failed-")
		if !ok {
			continue
		}
		if v, ok = strings.CutSuffix(v, ".txt"); !ok || v == "" || !de.Type().IsRegular() {
			continue
		}
		p := filepath.Join(in.paths.State, de.Name())
		ff := failureFile{version: v, path: p}
		if info, err := de.Info(); err == nil {
			ff.when = info.ModTime().UTC()
		}
		ff.text = readText(p)
		out = append(out, ff)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].when.Before(out[j].when) })
	return out, nil
}

// readText returns up to maxFailureText bytes of a text file as valid UTF-8
// without control characters other than newline and tab: journal lines may
// carry anything, and this text ends up on a terminal.
func readText(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, maxFailureText))
	s := strings.ToValidUTF8(string(bytes.TrimSpace(b)), "\uFFFD")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			return r
		}
		return '\uFFFD'
	}, s)
}

// archiveFailures moves the failure records into the history once a new
// version is installed, so Status shows only failures since the last install.
func (in *Installer) archiveFailures() error {
	ffs, err := in.failureFiles()
	if err != nil {
		return err
	}
	for _, ff := range ffs {
		if err := in.record(Event{Time: ff.when, Kind: "failed", Version: ff.version, Detail: ff.text}); err != nil {
			return err
		}
		if err := os.Remove(ff.path); err != nil {
			return err
		}
	}
	return nil
}
