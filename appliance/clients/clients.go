// Package clients hands out the support app builds: it knows the platforms,
// finds the builds in a directory, and streams one to a customer with the
// session's stamp (wire/stamp) appended, so no build is ever copied into
// memory per request. Downloads are bounded per session and box-wide, and
// a customer's connection that stops reading is cut after a deadline, so
// stalled downloads cannot pile up.
package clients

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Platform is one support app build.
type Platform struct {
	ID    string // "linux-amd64"
	Label string // "Linux (64-bit PC)"
	// Shares says whether the app can share the screen there (Linux with
	// X11, Windows); elsewhere it gives chat and files only.
	Shares bool
}

// Platforms are the builds there can be, in the order pages list them.
var Platforms = []Platform{
	{ID: "linux-amd64", Label: "Linux (64-bit PC)", Shares: true},
	{ID: "linux-arm64", Label: "Linux (ARM 64-bit)", Shares: true},
	{ID: "windows-amd64", Label: "Windows (64-bit)", Shares: true},
	{ID: "darwin-arm64", Label: "macOS (Apple silicon)"},
}

// File is the name of platform's build in the directory.
func File(platform string) string {
	name := "supportclient-" + platform
	if platform == "windows-amd64" {
		name += ".exe"
	}
	return name
}

// Errors of Open. Front ends explain them to the customer.
var (
	ErrUnknownPlatform = errors.New("clients: no such platform")
	ErrMissing         = errors.New("clients: the build is missing on this appliance")
	// ErrBusy: the box serves as many downloads as it allows at once.
	ErrBusy = errors.New("clients: too many downloads at once")
	// ErrSessionBusy: this session already downloads as many as it may.
	ErrSessionBusy = errors.New("clients: this session is already downloading")
)

// Config bounds the downloads. Zero fields take the defaults.
type Config struct {
	Dir string // directory of the builds
	// MaxActive bounds the downloads served at once on the box (default
	// 64); MaxPerSession those of one support session (default 2).
	MaxActive     int
	MaxPerSession int
	// ChunkTimeout bounds the write of each 64 KiB piece (default 30 s: a
	// customer that reads less than about 2 KiB/s is cut); MaxDuration a
	// whole download (default 15 minutes).
	ChunkTimeout time.Duration
	MaxDuration  time.Duration
}

// MaxBuild bounds a build's size.
const MaxBuild = 128 << 20

// chunk is what one write sends.
const chunk = 64 << 10

// Builds serves the builds of one directory.
type Builds struct {
	cfg Config

	mu         sync.Mutex
	active     int
	perSession map[uint64]int
}

// New returns the builds of cfg.Dir. It reads nothing yet.
func New(cfg Config) *Builds {
	if cfg.MaxActive <= 0 {
		cfg.MaxActive = 64
	}
	if cfg.MaxPerSession <= 0 {
		cfg.MaxPerSession = 2
	}
	if cfg.ChunkTimeout <= 0 {
		cfg.ChunkTimeout = 30 * time.Second
	}
	if cfg.MaxDuration <= 0 {
		cfg.MaxDuration = 15 * time.Minute
	}
	return &Builds{cfg: cfg, perSession: map[uint64]int{}}
}

// Available lists the platforms whose build is in the directory.
func (b *Builds) Available() []Platform {
	var out []Platform
	for _, p := range Platforms {
		if fi, err := os.Stat(filepath.Join(b.cfg.Dir, File(p.ID))); err == nil && fi.Mode().IsRegular() {
			out = append(out, p)
		}
	}
	return out
}

// Active is the number of downloads being served.
func (b *Builds) Active() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.active
}

// Download is one reserved download: an open build and its stamp. Serve it
// or Close it.
type Download struct {
	Name string // the file name to save it under
	Size int64  // build and stamp

	b       *Builds
	session uint64
	f       *os.File
	size    int64 // the build's
	stamp   []byte
	once    sync.Once
}

// Open reserves a download of platform for session: it takes a slot (box
// and session), opens the build and only then calls stamp for the trailer,
// so a refused download spends no token.
func (b *Builds) Open(session uint64, platform string, stamp func() ([]byte, error)) (*Download, error) {
	if !slices.ContainsFunc(Platforms, func(p Platform) bool { return p.ID == platform }) {
		return nil, ErrUnknownPlatform
	}
	if err := b.acquire(session); err != nil {
		return nil, err
	}
	d := &Download{b: b, session: session, Name: "switchboard-support-" + File(platform)[len("supportclient-"):]}
	f, err := os.Open(filepath.Join(b.cfg.Dir, File(platform)))
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("%w: %v", ErrMissing, err)
	}
	d.f = f
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > MaxBuild {
		d.Close()
		return nil, fmt.Errorf("%w: %s is not a regular file under %d bytes", ErrMissing, File(platform), MaxBuild)
	}
	d.size = fi.Size()
	if d.stamp, err = stamp(); err != nil {
		d.Close()
		return nil, err
	}
	d.Size = d.size + int64(len(d.stamp))
	return d, nil
}

func (b *Builds) acquire(session uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.active >= b.cfg.MaxActive:
		return ErrBusy
	case b.perSession[session] >= b.cfg.MaxPerSession:
		return ErrSessionBusy
	}
	b.active++
	b.perSession[session]++
	return nil
}

func (b *Builds) release(session uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.active--
	if b.perSession[session]--; b.perSession[session] <= 0 {
		delete(b.perSession, session)
	}
}

// Close gives the slot back and closes the build. It is safe to call twice.
func (d *Download) Close() error {
	d.once.Do(func() {
		if d.f != nil {
			d.f.Close()
		}
		d.b.release(d.session)
	})
	return nil
}

// Serve writes the download as an attachment, piece by piece, each piece
// within ChunkTimeout and the whole within MaxDuration, then closes d.
func (d *Download) Serve(w http.ResponseWriter) error {
	defer d.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="`+d.Name+`"`)
	h.Set("Content-Length", strconv.FormatInt(d.Size, 10))
	h.Set("Cache-Control", "no-store")
	rc := http.NewResponseController(w)
	end := time.Now().Add(d.b.cfg.MaxDuration)
	buf := make([]byte, chunk)
	r := io.MultiReader(io.NewSectionReader(d.f, 0, d.size), bytes.NewReader(d.stamp))
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			// A transport without deadlines (HTTP/3) is bounded by its own
			// flow control and idle timeout instead.
			rc.SetWriteDeadline(earlier(time.Now().Add(d.b.cfg.ChunkTimeout), end))
			if _, err := w.Write(buf[:n]); err != nil {
				return fmt.Errorf("download %s: %w", d.Name, err)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			rc.SetWriteDeadline(time.Time{})
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("download %s: %w", d.Name, rerr)
		}
	}
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
