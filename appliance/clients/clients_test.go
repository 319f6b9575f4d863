package clients

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func builds(t *testing.T, cfg Config) (*Builds, []byte) { return buildsOf(t, cfg, 1) }

// buildsOf makes a directory with a linux-amd64 build of mb megabytes.
func buildsOf(t *testing.T, cfg Config, mb int) (*Builds, []byte) {
	t.Helper()
	cfg.Dir = t.TempDir()
	body := bytes.Repeat([]byte("build of the support app "), 40_000*mb)
	if err := os.WriteFile(filepath.Join(cfg.Dir, File("linux-amd64")), body, 0o644); err != nil {
		t.Fatal(err)
	}
	return New(cfg), body
}

func stampOf(s string, called *int) func() ([]byte, error) {
	return func() ([]byte, error) { *called++; return []byte(s), nil }
}

// TestDownloadIsTheBuildAndItsStamp: what a customer gets is the build
// with the stamp after it, under the platform's name.
func TestDownloadIsTheBuildAndItsStamp(t *testing.T) {
	b, body := builds(t, Config{})
	if got := b.Available(); len(got) != 1 || got[0].ID != "linux-amd64" {
		t.Fatalf("available %v", got)
	}
	var n int
	d, err := b.Open(1, "linux-amd64", stampOf("STAMP", &n))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{h: http.Header{}}
	if err := d.Serve(rec); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(rec.body.Bytes(), append(body, "STAMP"...)) || d.Size != int64(len(body)+5) {
		t.Fatalf("served %d bytes, size %d", rec.body.Len(), d.Size)
	}
	if rec.h.Get("Content-Disposition") != `attachment; filename="switchboard-support-linux-amd64"` {
		t.Fatalf("headers %v", rec.h)
	}
	if b.Active() != 0 {
		t.Fatalf("%d downloads still active", b.Active())
	}
}

// TestDownloadBounds: a session and the box each have a bound; a refused
// download spends no stamp (no token); unknown platforms and missing
// builds are refused the same way.
func TestDownloadBounds(t *testing.T) {
	b, _ := builds(t, Config{MaxActive: 3, MaxPerSession: 2})
	var n int
	var open []*Download
	for _, s := range []uint64{1, 1, 2} {
		d, err := b.Open(s, "linux-amd64", stampOf("x", &n))
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, d)
	}
	if _, err := b.Open(3, "linux-amd64", stampOf("x", &n)); !errors.Is(err, ErrBusy) {
		t.Fatalf("over the box's bound: %v", err)
	}
	open[2].Close()
	open[2].Close() // twice is fine
	if _, err := b.Open(1, "linux-amd64", stampOf("x", &n)); !errors.Is(err, ErrSessionBusy) {
		t.Fatalf("over the session's bound: %v", err)
	}
	if _, err := b.Open(4, "plan9-mips", stampOf("x", &n)); !errors.Is(err, ErrUnknownPlatform) {
		t.Fatalf("unknown platform: %v", err)
	}
	if _, err := b.Open(4, "windows-amd64", stampOf("x", &n)); !errors.Is(err, ErrMissing) {
		t.Fatalf("missing build: %v", err)
	}
	if n != 3 {
		t.Fatalf("stamp made %d times, want 3 (refusals spend none)", n)
	}
	open[0].Close()
	open[1].Close()
	if b.Active() != 0 {
		t.Fatalf("%d active after closing all", b.Active())
	}
}

// TestStalledDownloadIsCut: a customer whose connection stops reading is
// cut once a piece cannot be written within ChunkTimeout, and its slot
// comes back.
func TestStalledDownloadIsCut(t *testing.T) {
	// Larger than what the kernel's socket buffers can hold on loopback.
	b, _ := buildsOf(t, Config{ChunkTimeout: 200 * time.Millisecond}, 64)
	served := make(chan error, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n int
		d, err := b.Open(1, "linux-amd64", stampOf("x", &n))
		if err == nil {
			err = d.Serve(w)
		}
		served <- err
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	// A client that sends a request and never reads the answer, with the
	// smallest receive buffer the kernel allows.
	conn, err := net.DialTCP("tcp", nil, ln.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadBuffer(4096)
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: box\r\n\r\n")
	select {
	case err := <-served:
		if err == nil {
			t.Fatal("a download nobody read finished")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the stalled download was never cut")
	}
	if b.Active() != 0 {
		t.Fatalf("%d active after the cut", b.Active())
	}
}

type recorder struct {
	h    http.Header
	body bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *recorder) WriteHeader(int)             {}
