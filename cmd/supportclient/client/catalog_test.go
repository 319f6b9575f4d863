package client

import (
	"testing"

	"github.com/switchboardhq/switchboard/appliance/i18n/i18ntest"
)

// TestCatalogHoldsAppTexts fails when a line the support app shows the
// customer is not in the catalog.
func TestCatalogHoldsAppTexts(t *testing.T) {
	keys := i18ntest.GoKeys(t, "*.go")
	keys = append(keys, i18ntest.GoKeys(t, "../prompt/*.go")...)
	keys = append(keys, "%s remote support", "Switchboard remote support", "yes", "[y/N]",
		// What openDisplay says; the app shows it after "Note:".
		NoCaptureNote, "screen sharing is not supported in a Wayland session (log in with an X11 session to share the screen)",
		"screen sharing needs a graphical X11 session")
	i18ntest.CheckInCatalog(t, keys)
}
