package win32

// The environment TestWine (wine_test.go, on Linux) sets for
// TestWineInside (inside_windows_test.go, under Wine), and the window
// titles both look for. Paths are Windows paths.
const (
	envInside    = "SWITCHBOARD_WINE_INSIDE"     // "1": run TestWineInside
	envTargetLog = "SWITCHBOARD_WINE_TARGET_LOG" // the log of tools/wintarget
	envSync      = "SWITCHBOARD_WINE_SYNC"       // where the inside says what it shows
	envClipboard = "SWITCHBOARD_WINE_CLIPBOARD"  // what wintarget put on the clipboard
	envShots     = "SWITCHBOARD_WINE_SHOTS"      // optional: a directory for PNGs of the dialogs
	envPick      = "SWITCHBOARD_WINE_PICK"       // the file the Linux side picks in the Open dialog

	targetTitle = "Switchboard test target"
	promptTitle = "Switchboard consent test"
	pickTitle   = "Switchboard pick test"
)
