//go:build !windows

// Command wintarget is a small Win32 program for the support client's
// end-to-end tests under Wine (cmd/supportclient/win32): a window of known
// colours that logs the input and clipboard changes it receives.
//
// Usage:
//
//	wintarget -log FILE [-set-clipboard TEXT]
//
// It opens a top-level window titled "Switchboard test target" at (0,0)
// with a 400×300 client area, its left half RGB(200,30,40) and its right
// half RGB(20,110,220), brings it to the foreground and appends one line
// per event to FILE, each written at once:
//
//	clipboard-set        -set-clipboard put TEXT on the clipboard
//	ready                the window is shown
//	click X Y            WM_LBUTTONDOWN at client coordinates X, Y
//	key VK               WM_KEYDOWN of virtual key VK (decimal)
//	char U+XXXX          WM_CHAR of the UTF-16 unit XXXX (hex)
//	wheel D, hwheel D    WM_MOUSEWHEEL, WM_MOUSEHWHEEL with delta D (120 a notch)
//	clipboard TEXT       WM_CLIPBOARDUPDATE, with the new CF_UNICODETEXT
//
// On other systems it is an empty command.
package main

func main() {}
