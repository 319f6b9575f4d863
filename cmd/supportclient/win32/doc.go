// Package win32 is the Windows platform layer of the support client: it
// captures the interactive desktop, injects the technician's mouse and
// keyboard input, reads and sets the clipboard, and asks the person at the
// keyboard with native dialogs.
//
// The parts, one file each:
//
//	desktop_windows.go    Open, Close, the virtual screen and its monitors
//	user32_windows.go     the Win32 functions called, and small helpers
//	thread_windows.go     an OS thread that owns a hidden window and runs work on it
//	capture_windows.go    Capture: DXGI first, GDI (BitBlt) otherwise, the cursor drawn in
//	dxgi_windows.go       DXGI Desktop Duplication over COM vtables
//	input_windows.go      Apply and ReleaseAll through SendInput
//	clipboard_windows.go  CF_UNICODETEXT on a thread that owns a message-only window
//	dialog_windows.go     small dialogs built from an in-memory template
//	prompt_windows.go     Prompter (Confirm, PickFile, Sharing) and Downloads
//	keys.go, convert.go   pure helpers (keysym table, coordinates, pixels, text)
//
// The package is pure Go (golang.org/x/sys/windows and syscall.SyscallN,
// no cgo). On other systems it builds as stubs whose functions return
// ErrNotWindows, so that the module builds and vets everywhere.
//
// Every window the package shows runs on an OS thread of its own, locked
// for the window's lifetime; nothing here needs the caller's thread.
package win32
