package win32

// Default words of a Prompter whose caller left them empty.
const (
	defaultTitle = "Switchboard remote support"
	defaultAllow = "Allow"
	defaultDeny  = "Deny"
	defaultStop  = "Stop sharing"
)

// A Prompter asks the person at the keyboard with native dialogs: Confirm
// and PickFile (the support client's prompt.Prompter) and Sharing (its
// prompt.Notifier). Title is the window title of every dialog; Allow,
// Deny and Stop label its buttons. The caller translates them.
type Prompter struct{ Title, Allow, Deny, Stop string }

// NewPrompter returns a Prompter with these words; empty ones are given
// English defaults.
func NewPrompter(title, allow, deny, stop string) *Prompter {
	or := func(s, def string) string {
		if s == "" {
			return def
		}
		return s
	}
	return &Prompter{Title: or(title, defaultTitle), Allow: or(allow, defaultAllow), Deny: or(deny, defaultDeny), Stop: or(stop, defaultStop)}
}
