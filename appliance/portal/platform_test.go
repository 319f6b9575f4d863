package portal

import (
	"net/http/httptest"
	"testing"

	"github.com/switchboardhq/switchboard/appliance/clients"
)

// TestPlatformFor: the browser's system comes first, and is offered as the
// one to download only where the app shares the screen (not on a Mac yet).
func TestPlatformFor(t *testing.T) {
	for _, c := range []struct {
		ua, first string
		offered   bool
	}{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0", "windows-amd64", true},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Safari/605.1.15", "darwin-arm64", false},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "linux-amd64", true},
		{"Mozilla/5.0 (X11; Linux aarch64) Chrome/131.0", "linux-arm64", true},
	} {
		r := httptest.NewRequest("GET", "/session", nil)
		r.Header.Set("User-Agent", c.ua)
		ps, offered := platformFor(r, clients.Platforms)
		if len(ps) != len(clients.Platforms) || ps[0].ID != c.first || offered != c.offered {
			t.Errorf("%s: first %s, offered %v; want %s, %v", c.ua, ps[0].ID, offered, c.first, c.offered)
		}
	}
}
