package prompt

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Alice", "Alice"},
		{"Bob\x1b[31m red", "Bob[31m red"},
		{"two\nlines\ttab", "two lines tab"},
		{"invoice\u202Efdp.exe", "invoicefdp.exe"},
		{"zero\u200bwidth", "zerowidth"},
		{strings.Repeat("x", 100), strings.Repeat("x", 40) + "…"},
		{"bad \xff utf8", "bad \uFFFD utf8"},
	}
	for _, tt := range tests {
		if got := Clean(tt.in, 40); got != tt.want {
			t.Errorf("Clean(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// answer runs f against a terminal prompter whose input is a pipe, types
// line once the question is on the output, and returns f's result and
// the output.
func answer[T any](t *testing.T, line string, f func(p *TerminalPrompter) (T, error)) (T, string) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	p := NewTerminal(inR, outW)
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f(p)
		outW.Close()
		done <- result{v, err}
	}()
	// Wait for the question before typing, as a person would.
	buf := make([]byte, 4096)
	n, err := outR.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if line != "" {
		io.WriteString(inW, line)
	}
	rest, _ := io.ReadAll(outR)
	inW.Close()
	r := <-done
	if r.err != nil && r.err != context.DeadlineExceeded {
		t.Fatalf("prompt: %v", r.err)
	}
	return r.v, string(buf[:n]) + string(rest)
}

func TestTerminalConfirm(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{{"y\n", true}, {"YES\n", true}, {"n\n", false}, {"\n", false}, {"yes please\n", false}}
	for _, tt := range tests {
		got, out := answer(t, tt.line, func(p *TerminalPrompter) (bool, error) {
			return p.Confirm(context.Background(), "Alice wants to see your screen. Allow?")
		})
		if got != tt.want {
			t.Errorf("answer %q: %v, want %v", tt.line, got, tt.want)
		}
		if !strings.Contains(out, "Alice wants to see your screen. Allow? [y/N]") {
			t.Errorf("question not shown: %q", out)
		}
	}
}

func TestTerminalTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	got, out := answer(t, "", func(p *TerminalPrompter) (bool, error) { return p.Confirm(ctx, "Allow?") })
	if got {
		t.Error("no answer counted as yes")
	}
	if !strings.Contains(out, "no answer in time") {
		t.Errorf("output %q", out)
	}
}

func TestTerminalPickFile(t *testing.T) {
	got, _ := answer(t, "/tmp/report.pdf\n", func(p *TerminalPrompter) (string, error) {
		return p.PickFile(context.Background(), "Alice asks for a file.")
	})
	if got != "/tmp/report.pdf" {
		t.Errorf("PickFile = %q", got)
	}
	got, _ = answer(t, "\n", func(p *TerminalPrompter) (string, error) {
		return p.PickFile(context.Background(), "Alice asks for a file.")
	})
	if got != "" {
		t.Errorf("PickFile with no answer = %q", got)
	}
}

// fakeDialog writes a script that records its arguments, one per line, and
// exits with code.
func fakeDialog(t *testing.T, code int, stdout string) (path, argsFile string) {
	t.Helper()
	dir := t.TempDir()
	argsFile = filepath.Join(dir, "args")
	path = filepath.Join(dir, "dialog")
	script := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > " + argsFile + "\nprintf '%s' '" + stdout + "'\nexit " + string(rune('0'+code)) + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, argsFile
}

func TestDialogArguments(t *testing.T) {
	question := "Technician <b>Eve</b> & co wants to see your screen. Allow?"
	for _, tt := range []struct {
		name string
		p    func(path string) Prompter
		want string // the argument that carries the question
	}{
		{"zenity", func(p string) Prompter { return &ZenityPrompter{Path: p} }, "--text=Technician &lt;b&gt;Eve&lt;/b&gt; &amp; co wants to see your screen. Allow?"},
		{"kdialog", func(p string) Prompter { return &KDialogPrompter{Path: p} }, "Technician ‹b›Eve‹/b› & co wants to see your screen. Allow?"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for code, want := range map[int]bool{0: true, 1: false} {
				path, argsFile := fakeDialog(t, code, "")
				got, err := tt.p(path).Confirm(context.Background(), question)
				if err != nil || got != want {
					t.Errorf("exit %d: Confirm = %v, %v; want %v", code, got, err, want)
				}
				args, _ := os.ReadFile(argsFile)
				if !strings.Contains(string(args), "\n"+tt.want+"\n") {
					t.Errorf("arguments do not carry the escaped question as one argument:\n%s", args)
				}
			}
			path, _ := fakeDialog(t, 0, "/home/c/report.pdf\n")
			if got, err := tt.p(path).PickFile(context.Background(), "Pick"); err != nil || got != "/home/c/report.pdf" {
				t.Errorf("PickFile = %q, %v", got, err)
			}
			path, _ = fakeDialog(t, 1, "")
			if got, err := tt.p(path).PickFile(context.Background(), "Pick"); err != nil || got != "" {
				t.Errorf("cancelled PickFile = %q, %v", got, err)
			}
		})
	}
}
