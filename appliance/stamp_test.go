package appliance

import (
	"net/url"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/appliance/wire/stamp"
)

// TestWithPage: the stamped address carries the page's language and the
// site's name, cut to what the stamp holds.
func TestWithPage(t *testing.T) {
	base := strings.Repeat("h", 253) + ":8443#sha256=" + strings.Repeat("ab", 32)
	got := withPage(base, "fr", "Assistance Émile")
	q, err := url.ParseQuery(got[strings.Index(got, "#")+1:])
	if err != nil || q.Get("lang") != "fr" || q.Get("site") != "Assistance Émile" {
		t.Fatalf("withPage = %q (%v)", got, err)
	}
	long := withPage(base, "de", strings.Repeat("ü", 200))
	if len(long) > stamp.MaxAddr || !strings.Contains(long, "&site=%C3%BC") {
		t.Fatalf("a long name: %d bytes: %q", len(long), long)
	}
	if _, err := stamp.Trailer("token", long); err != nil {
		t.Fatalf("the stamp refuses it: %v", err)
	}
}
