package prompt

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// errNoInput means the terminal's input ended.
var errNoInput = errors.New("prompt: no more input on the terminal")

// maxLine bounds a line read from the terminal.
const maxLine = 4096

// TerminalPrompter asks on a terminal: questions go to out, answers are
// lines read from in. One goroutine reads in for the prompter's lifetime
// (a read on a terminal cannot be interrupted), and lines typed while no
// question is open are discarded.
type TerminalPrompter struct {
	in    io.Reader
	out   io.Writer
	once  sync.Once
	lines chan string
	mu    sync.Mutex // one question at a time
}

// NewTerminal returns a prompter reading answers from in and writing
// questions to out.
func NewTerminal(in io.Reader, out io.Writer) *TerminalPrompter {
	return &TerminalPrompter{in: in, out: out, lines: make(chan string, 8)}
}

func (p *TerminalPrompter) start() {
	p.once.Do(func() {
		go func() {
			defer close(p.lines)
			sc := bufio.NewScanner(p.in)
			sc.Buffer(make([]byte, 0, 256), maxLine)
			for sc.Scan() {
				select {
				case p.lines <- sc.Text():
				default: // nobody is asking: drop it
				}
			}
		}()
	})
}

// ask writes the question and returns the next line.
func (p *TerminalPrompter) ask(ctx context.Context, question string) (string, error) {
	p.start()
	p.mu.Lock()
	defer p.mu.Unlock()
	for drained := false; !drained; { // answers to earlier questions
		select {
		case _, ok := <-p.lines:
			if !ok {
				return "", errNoInput
			}
		default:
			drained = true
		}
	}
	fmt.Fprint(p.out, question)
	select {
	case line, ok := <-p.lines:
		if !ok {
			fmt.Fprintln(p.out)
			return "", errNoInput
		}
		return strings.TrimSpace(line), nil
	case <-ctx.Done():
		fmt.Fprintln(p.out, "\n(no answer in time)")
		return "", ctx.Err()
	}
}

// Confirm implements Prompter: "y" or "yes" allows (or the word for yes
// in the dialogs' language, or its first letter), anything else denies.
func (p *TerminalPrompter) Confirm(ctx context.Context, question string) (bool, error) {
	line, err := p.ask(ctx, question+" "+tr("[y/N]")+" ")
	if err != nil {
		return false, err
	}
	line = strings.ToLower(line)
	yes := strings.ToLower(tr("yes"))
	switch {
	case line == "y", line == "yes", line == yes:
		return true, nil
	case line != "" && strings.HasPrefix(yes, line) && len([]rune(line)) == 1:
		return true, nil
	}
	return false, nil
}

// PickFile implements Prompter: the person types a path (~ is their home
// directory); an empty line chooses nothing.
func (p *TerminalPrompter) PickFile(ctx context.Context, what string) (string, error) {
	line, err := p.ask(ctx, what+"\n"+tr("Type the path of the file, or press Enter to send nothing:")+" ")
	if err != nil || line == "" {
		return "", err
	}
	if rest, ok := strings.CutPrefix(line, "~"+string(filepath.Separator)); ok {
		if home, err := os.UserHomeDir(); err == nil {
			line = filepath.Join(home, rest)
		}
	}
	return line, nil
}
