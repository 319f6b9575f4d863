package update

import (
	"context"
	"fmt"
	"time"
)

// Status is what the box runs, what it can boot and how recent updates went.
type Status struct {
	// Version and Slot are what runs now; both are empty when unknown, and
	// Problem says why.
	Version string
	Slot    string
	Problem string
	// TrustedKeys are the ids of the keys this build accepts bundles from.
	TrustedKeys []string
	// TestKeyTrusted is true when the build trusts the public test key, so
	// anyone can sign updates for this box.
	TestKeyTrusted bool
	// Entries are the Switchboard boot entries on the ESP.
	Entries []Entry
	// Failures are updates that did not become healthy since the last
	// install, oldest first.
	Failures []Failure
	// History is the end of the update history, oldest first.
	History []Event
}

// A Failure is an update whose new slot never became healthy.
type Failure struct {
	Version string
	Slot    string    // empty when only the failure record is left
	Tries   int       // 0 when unknown
	When    time.Time // of the failure record; zero when there is none
	Text    string    // from the failure record: when, entry, last journal lines
}

// Summary says what happened, in one line.
func (f Failure) Summary() string {
	if f.Tries > 0 {
		return fmt.Sprintf("update to %s failed: it did not become healthy in %d tries", f.Version, f.Tries)
	}
	return fmt.Sprintf("update to %s failed: it did not become healthy", f.Version)
}

// Status reads the running version and slot, the boot entries, the failure
// records and the history. Parts that cannot be read are reported, not fatal,
// except an unreadable ESP.
func (in *Installer) Status(ctx context.Context) (*Status, error) {
	st := &Status{TrustedKeys: KeyIDs(in.trusted)}
	for _, id := range st.TrustedKeys {
		if id == TestKeyID {
			st.TestKeyTrusted = true
		}
	}
	if run, err := in.running(); err != nil {
		st.Problem = err.Error()
	} else {
		st.Version, st.Slot = run.Version, run.Slot
	}
	es, err := in.entries()
	if err != nil {
		return nil, err
	}
	st.Entries = es
	ffs, err := in.failureFiles()
	if err != nil {
		return nil, err
	}
	byVersion := map[string]int{}
	for _, e := range es {
		if e.State != Bad || e.TriesDone == 0 {
			continue // set aside by a forced install, never tried
		}
		byVersion[e.Version] = len(st.Failures)
		st.Failures = append(st.Failures, Failure{Version: e.Version, Slot: e.Slot, Tries: e.TriesDone})
	}
	for _, ff := range ffs {
		if i, ok := byVersion[ff.version]; ok {
			st.Failures[i].When, st.Failures[i].Text = ff.when, ff.text
			continue
		}
		st.Failures = append(st.Failures, Failure{Version: ff.version, When: ff.when, Text: ff.text})
	}
	if st.History, err = in.history(); err != nil {
		return nil, err
	}
	return st, ctx.Err()
}
