package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// rounds is how many measured rounds each target gets. Rounds alternate
// between the two targets in the order A B B A A B B A, so that both see the
// same machine conditions and a steady drift weighs on both alike.
const rounds = 4

// endpoint is one URL under load.
type endpoint struct {
	name string
	url  string
}

// stats are the latencies of one target's measured requests.
type stats struct {
	lat     []time.Duration
	elapsed time.Duration // wall time of the rounds, summed
}

func (s *stats) reqPerSec() float64 { return float64(len(s.lat)) / s.elapsed.Seconds() }

// percentile returns the nearest-rank p-th latency (0 < p ≤ 1).
func (s *stats) percentile(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	slices.Sort(s.lat)
	i := int(p*float64(len(s.lat))+0.999999) - 1
	return s.lat[max(0, min(i, len(s.lat)-1))]
}

// loader sends GETs to a daemon on loopback from c keep-alive HTTP/1.1
// connections.
type loader struct {
	client *http.Client
	c      int
}

// newLoader refuses any base that is not on the loopback interface, so the
// tool cannot load anyone else's server.
func newLoader(base string, c int) (*loader, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("base %q: %w", base, err)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("base %q: not a loopback address", base)
	}
	protos := new(http.Protocols)
	protos.SetHTTP1(true)
	tr := &http.Transport{
		// The dev certificate is self-signed.
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true},
		Protocols:           protos,
		MaxConnsPerHost:     c,
		MaxIdleConnsPerHost: c,
		DisableCompression:  true,
	}
	return &loader{c: c, client: &http.Client{
		Transport:     tr,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

func (l *loader) close() { l.client.CloseIdleConnections() }

// get fetches u and returns its body; anything but 200 is an error.
func (l *loader) get(ctx context.Context, u string, body io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return err
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// Read to the end so the connection goes back to the pool.
	if _, err := io.Copy(body, resp.Body); err != nil {
		return fmt.Errorf("GET %s: body: %w", req.URL.Path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %s", req.URL.Path, resp.Status)
	}
	return nil
}

// compare warms up both endpoints, then measures n requests on each in
// alternating rounds.
func (l *loader) compare(ctx context.Context, a, b endpoint, n int) (sa, sb stats, err error) {
	warm := min(n, max(2*l.c, n/10))
	for _, e := range []endpoint{a, b} {
		if _, err := l.round(ctx, e, warm); err != nil {
			return sa, sb, fmt.Errorf("warm-up %s: %w", e.name, err)
		}
	}
	sa.lat = make([]time.Duration, 0, n)
	sb.lat = make([]time.Duration, 0, n)
	for r := range rounds {
		count := n/rounds + btoi(r < n%rounds)
		order := []*stats{&sa, &sb}
		eps := []endpoint{a, b}
		if r%2 == 1 {
			order[0], order[1] = order[1], order[0]
			eps[0], eps[1] = eps[1], eps[0]
		}
		for i, e := range eps {
			start := time.Now()
			lat, err := l.round(ctx, e, count)
			if err != nil {
				return sa, sb, fmt.Errorf("%s round %d: %w", e.name, r+1, err)
			}
			order[i].elapsed += time.Since(start)
			order[i].lat = append(order[i].lat, lat...)
		}
	}
	return sa, sb, nil
}

// round sends count GETs to e from l.c workers and returns each latency.
// The first error stops the round.
func (l *loader) round(ctx context.Context, e endpoint, count int) ([]time.Duration, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	lat := make([]time.Duration, count)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(l.c, count) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= count || ctx.Err() != nil {
					return
				}
				start := time.Now()
				if err := l.get(ctx, e.url, io.Discard); err != nil {
					cancel(err)
					return
				}
				lat[i] = time.Since(start)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	return lat, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
