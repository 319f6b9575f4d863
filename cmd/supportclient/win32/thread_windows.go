//go:build windows

package win32

import (
	"errors"
	"runtime"
	"sync"
	"unsafe"
)

// Private messages of the package's windows.
const (
	wmRun    = wmApp + 1 // windowThread: run the queued functions
	wmStop   = wmApp + 2 // windowThread: destroy the window and end
	wmCancel = wmApp + 3 // dialog: its context ended
)

var errThreadStopped = errors.New("win32: window thread stopped")

// A windowThread is an OS thread, locked to its goroutine, that owns a
// hidden message-only window and runs functions for others on it. Win32
// ties windows and the open clipboard to the thread that made them.
type windowThread struct {
	hwnd uintptr
	done chan struct{}

	mu     sync.Mutex
	queue  []func()
	closed bool
}

// startWindowThread starts the thread and waits until its window exists.
func startWindowThread() (*windowThread, error) {
	t := &windowThread{done: make(chan struct{})}
	ready := make(chan error, 1)
	go t.loop(ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	return t, nil
}

func (t *windowThread) loop(ready chan<- error) {
	// The thread is never unlocked: it ends with the goroutine, and its
	// windows with it.
	runtime.LockOSThread()
	defer close(t.done)
	makeQueue()
	static := utf16z("STATIC")
	hwnd, _, err := procCreateWindowExW.Call(0, uintptr(unsafe.Pointer(&static[0])), 0, 0,
		0, 0, 0, 0, hwndMessage, 0, 0, 0)
	if hwnd == 0 {
		ready <- win32Error("CreateWindowExW (message-only window)", err)
		return
	}
	t.hwnd = hwnd
	ready <- nil
	pump(func(m *msg) bool {
		if m.hwnd != hwnd {
			return false
		}
		switch m.message {
		case wmRun:
			t.run()
			return true
		case wmStop:
			t.run()
			procDestroyWindow.Call(hwnd)
			procPostQuitMessage.Call(0)
			return true
		}
		return false
	})
}

// run runs the queued functions.
func (t *windowThread) run() {
	t.mu.Lock()
	q := t.queue
	t.queue = nil
	t.mu.Unlock()
	for _, f := range q {
		f()
	}
}

// do runs f on the thread and returns when it has run.
func (t *windowThread) do(f func()) error {
	ran := make(chan struct{})
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return errThreadStopped
	}
	t.queue = append(t.queue, func() { f(); close(ran) })
	t.mu.Unlock()
	if err := postMessage(t.hwnd, wmRun, 0, 0); err != nil {
		return err
	}
	select {
	case <-ran:
		return nil
	case <-t.done:
		// The thread may have run f on its way out.
		select {
		case <-ran:
			return nil
		default:
			return errThreadStopped
		}
	}
}

// stop ends the thread after the functions already queued and waits for
// it. It is safe to call twice.
func (t *windowThread) stop() {
	t.mu.Lock()
	closed := t.closed
	t.closed = true
	t.mu.Unlock()
	if !closed {
		postMessage(t.hwnd, wmStop, 0, 0)
	}
	<-t.done
}
