package testenv

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ProxyInto serves an HTTP CONNECT proxy on the host's loopback whose
// connections leave from inside ns, so a browser on the host reaches the
// addresses of a test's namespaces. It returns the proxy's address and
// stops when the test ends.
func ProxyInto(t testing.TB, ns *Netns) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		up, err := ns.Dial(ctx, "tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		down, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		mu.Lock()
		conns = append(conns, up, down)
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer up.Close()
			defer down.Close()
			done := make(chan struct{})
			go func() {
				io.Copy(up, buf)
				up.(*net.TCPConn).CloseWrite()
				close(done)
			}()
			io.Copy(down, up)
			down.(*net.TCPConn).CloseWrite()
			<-done
		}()
	})}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// BrowserIn is Browser with every connection made from inside ns (through
// ProxyInto).
func BrowserIn(t testing.TB, ns *Netns) context.Context {
	t.Helper()
	return startBrowser(t, chromedp.ProxyServer("http://"+ProxyInto(t, ns)))
}
