package portal

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkHome serves the public home page in process, for profiling
// (make bench compares it with nginx over TLS).
func BenchmarkHome(b *testing.B) {
	f := newFixture(&testing.T{})
	h := f.srv.Config.Handler
	req := httptest.NewRequest("GET", "https://support.example/", nil)
	req.Header.Set("Accept-Language", "en-US,en;q=0.9")
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}
