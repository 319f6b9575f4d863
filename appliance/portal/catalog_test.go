package portal

import (
	"testing"

	"github.com/switchboardhq/switchboard/appliance/i18n/i18ntest"
	"github.com/switchboardhq/switchboard/appliance/web"
)

// TestCatalogHoldsCustomerTexts fails when a text customers read is not in
// the catalog: every page of the public site, its errors, its scripts'
// strings, and the domain's messages it shows.
func TestCatalogHoldsCustomerTexts(t *testing.T) {
	var keys []string
	keys = append(keys, i18ntest.TemplateKeys(t, "templates/*.html")...)
	keys = append(keys, i18ntest.TemplateKeys(t, "../web/templates/*.html")...)
	keys = append(keys, i18ntest.GoKeys(t, "*.go")...)
	for _, f := range []string{"web.go", "limit.go", "csrf.go", "form.go"} {
		keys = append(keys, i18ntest.GoKeys(t, "../web/"+f)...)
	}
	for _, f := range []string{"start.go", "chat.go"} {
		keys = append(keys, i18ntest.GoKeys(t, "../desk/"+f)...)
	}
	keys = append(keys, web.ScriptKeys()...)
	// Texts that reach the pages through names rather than literals.
	keys = append(keys, defaultClosed,
		"Not opened yet", "Code not entered yet", "In the queue, not agreed yet", "In the queue", "In progress", "Ended", "Expired",
		"Sign in with %s", "Sign in with your organization's account",
		"Please fill this in.", "Please keep this under %d characters.",
		"Remove the invisible characters that change the direction of the text (such as U+202E).",
		"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
		"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
		"%[1]s %[2]d %[3]s, %[4]s",
		"That access key is not valid. Check the 9 digits, or ask your technician for a new key.")
	i18ntest.CheckInCatalog(t, keys)
}
