package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/tools/daemon"
)

// Sizes of the desk suite (issue 5): waiting customers and open consoles.
const (
	deskCustomers = 1000
	deskConsoles  = 50
	benchPassword = "bench password 123"
)

// runDesk measures the time from a customer's submit on the public site to
// the event arriving in the technician's console, with deskConsoles
// technicians connected to /console/events and deskCustomers customers
// left waiting, and counts store transactions per transition. The baseline
// is a GET of the stylesheet under the same load.
func runDesk(ctx context.Context, cfg config) (Result, error) {
	d := startDaemon(cfg, daemon.Options{})
	defer d.Stop()
	defer func() {
		if out := d.Output(); strings.Contains(out, "panic") || strings.Contains(out, "fatal") {
			fmt.Println(out[max(0, len(out)-6000):])
		}
	}()
	admin, err := benchAdmin(d)
	if err != nil {
		return Result{}, err
	}
	resp, _, err := admin.TryPost(ctx, "/login/sites", map[string]string{"name": "Bench", "hostnames": "bench.example",
		"tech_list": "on", "session_key": "on", "ask_name": "on", "survey_mode": "issue"}, admin.CSRF())
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		return Result{}, fmt.Errorf("create the public site: %v %v", resp.StatusCode, err)
	}
	cfg.tb.Logf("desk: creating %d technicians", deskConsoles)
	ids, err := benchTechnicians(admin, d)
	if err != nil {
		return Result{}, err
	}
	// Every console streams events; arrivals are keyed by customer name.
	var (
		mu      sync.Mutex
		arrived = map[string]time.Time{}
		want    = make(chan struct{}, deskCustomers)
	)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	for _, user := range ids {
		c := d.NewClient()
		if resp, _, err := c.TryPost(ctx, "/login", map[string]string{"username": user.name, "password": benchPassword}, c.CSRF()); err != nil || resp.StatusCode != http.StatusSeeOther {
			return Result{}, fmt.Errorf("sign in %s: %v", user.name, err)
		}
		ready := make(chan error, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			streamConsole(sctx, c, d.Base, ready, func(name string, at time.Time) {
				mu.Lock()
				if _, seen := arrived[name]; !seen {
					arrived[name] = at
					want <- struct{}{}
				}
				mu.Unlock()
			})
		}()
		if err := <-ready; err != nil {
			return Result{}, err
		}
	}
	before, err := storeCounts(d)
	if err != nil {
		return Result{}, err
	}
	// Two waves of customers: a few at a time, then cfg.c at a time (on a
	// two-core machine the bench's own clients share the CPU with the box).
	var (
		event []stats
		css   string
	)
	for wave, conc := range []int{4, cfg.c} {
		n := deskCustomers / 2
		cfg.tb.Logf("desk: %d customers start sessions, %d at a time, with %d consoles connected", n, conc, deskConsoles)
		sub, page, err := benchCustomers(ctx, d, ids, wave*n, n, conc)
		if err != nil {
			return Result{}, err
		}
		if page != "" {
			css = page
		}
		for range n {
			select {
			case <-want:
			case <-ctx.Done():
				return Result{}, fmt.Errorf("only %d of %d events reached a console: %w", len(arrived), deskCustomers, ctx.Err())
			}
		}
		var st stats
		mu.Lock()
		for i := range n {
			st.lat = append(st.lat, arrived[fmt.Sprintf("bench-%d", wave*n+i)].Sub(sub[i]))
		}
		mu.Unlock()
		st.elapsed = sub[len(sub)-1].Sub(sub[0])
		event = append(event, st)
	}
	after, err := storeCounts(d)
	if err != nil {
		return Result{}, err
	}
	// Baseline: the stylesheet under the same 50 open streams.
	var static stats
	if css != "" {
		l, err := newLoader(d.Base, cfg.c)
		if err != nil {
			return Result{}, err
		}
		t0 := time.Now()
		lat, err := l.round(ctx, endpoint{name: "static css", url: d.Base + css}, deskCustomers)
		static = stats{lat: lat, elapsed: time.Since(t0)}
		l.close()
		if err != nil {
			return Result{}, err
		}
	}
	stop()
	wg.Wait()
	ts := newTarget("static css", static)
	t4 := newTarget("submit→console, 4 at a time", event[0])
	tc := newTarget(fmt.Sprintf("submit→console, %d at a time", cfg.c), event[1])
	te := t4
	return Result{
		Targets: []Target{ts, t4, tc},
		Ratios:  []Ratio{ratio("submit→console 4 / static", t4, ts), ratio(fmt.Sprintf("submit→console %d / static", cfg.c), tc, ts)},
		Notes: []string{
			fmt.Sprintf("%d waiting customers, %d consoles streaming", deskCustomers, deskConsoles),
			fmt.Sprintf("store per transition (customer submit → ready): %.2f write and %.2f read transactions (reads include the consoles' and pages' own)",
				float64(after[0]-before[0])/deskCustomers, float64(after[1]-before[1])/deskCustomers),
			fmt.Sprintf("goal: p99 submit→console ≤ 50 ms; measured %.1f ms with 4 customers at a time, %.1f ms with %d", te.P99ms, tc.P99ms, cfg.c),
		},
	}, nil
}

type benchUser struct {
	id   uint64
	name string
}

var setupTokenRe = regexp.MustCompile(`/login/setup\?token=(\w+)`)

// benchAdmin creates the first site admin and returns its signed-in client.
func benchAdmin(d *daemon.Daemon) (*daemon.Client, error) {
	m := setupTokenRe.FindStringSubmatch(d.SetupLinks["/login"])
	if m == nil {
		return nil, fmt.Errorf("no setup link printed")
	}
	c := d.NewClient()
	resp, _, err := c.TryPost(context.Background(), "/login/setup", map[string]string{
		"token": m[1], "username": "benchadmin", "password": benchPassword, "confirm": benchPassword}, c.CSRF())
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("setup: %v", err)
	}
	return c, nil
}

var profileRe = regexp.MustCompile(`href="/login/technicians/(\d+)">([^<]+)</a>`)

// benchTechnicians creates deskConsoles technicians through /login/users.
func benchTechnicians(admin *daemon.Client, d *daemon.Daemon) ([]benchUser, error) {
	tok := admin.CSRF()
	for i := range deskConsoles {
		name := fmt.Sprintf("tech%02d", i)
		resp, _, err := admin.TryPost(context.Background(), "/login/users", map[string]string{
			"username": name, "display_name": name, "password": benchPassword, "role": "technician"}, tok)
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			return nil, fmt.Errorf("create %s: %v", name, err)
		}
	}
	_, page := admin.Page("/login/users")
	var out []benchUser
	for _, m := range profileRe.FindAllStringSubmatch(page, -1) {
		if strings.HasPrefix(m[2], "tech") {
			id, _ := strconv.ParseUint(m[1], 10, 64)
			out = append(out, benchUser{id: id, name: m[2]})
		}
	}
	if len(out) != deskConsoles {
		return nil, fmt.Errorf("found %d technicians on /login/users, want %d", len(out), deskConsoles)
	}
	return out, nil
}

// streamConsole reads c's /console/events until ctx ends, reporting the
// customer name of each session.ready event as it arrives.
func streamConsole(ctx context.Context, c *daemon.Client, base string, ready chan<- error, got func(name string, at time.Time)) {
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/console/events", nil)
	hc := *c.Client
	hc.Timeout = 0
	hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	resp, err := hc.Do(req)
	if err != nil || resp.StatusCode != 200 {
		ready <- fmt.Errorf("console events: %v", err)
		return
	}
	defer resp.Body.Close()
	ready <- nil
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	kind := ""
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			kind = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: ") && kind == "session.ready":
			at := time.Now()
			var e struct {
				Row *struct {
					Customer struct{ Name string } `json:"customer"`
				} `json:"row"`
			}
			if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &e) == nil && e.Row != nil {
				got(e.Row.Customer.Name, at)
			}
		}
	}
}

// benchCustomers starts n sessions (customers first..first+n-1), conc at a
// time, and returns when each submit began and the stylesheet URL.
func benchCustomers(ctx context.Context, d *daemon.Daemon, ids []benchUser, first, n, conc int) ([]time.Time, string, error) {
	submitted := make([]time.Time, n)
	work := make(chan int)
	errs := make(chan error, conc)
	var (
		wg  sync.WaitGroup
		css string
	)
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				c := d.NewClient()
				_, page := c.Page("/")
				m := csrfMetaRe.FindStringSubmatch(page)
				if m == nil {
					errs <- fmt.Errorf("customer %d: no CSRF token on the public site", first+i)
					return
				}
				if w == 0 && css == "" {
					if s := stylesheetRe.FindStringSubmatch(page); s != nil {
						css = s[1]
					}
				}
				tech := ids[(first+i)%len(ids)]
				submitted[i] = time.Now()
				resp, body, err := c.TryPost(ctx, "/start/technician/"+strconv.FormatUint(tech.id, 10), map[string]string{"name": fmt.Sprintf("bench-%d", first+i)}, m[1])
				if err == nil && resp.StatusCode != http.StatusSeeOther {
					err = fmt.Errorf("status %d: %.300s", resp.StatusCode, body)
				}
				if err != nil {
					errs <- fmt.Errorf("customer %d: %v", first+i, err)
					return
				}
			}
		}()
	}
	defer wg.Wait()
	for i := range n {
		select {
		case work <- i:
		case err := <-errs:
			close(work)
			return nil, "", err
		}
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, "", err
	default:
	}
	return submitted, css, nil
}

var csrfMetaRe = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// storeCounts returns the daemon's store transaction counts.
func storeCounts(d *daemon.Daemon) ([2]uint64, error) {
	out, err := d.Control("stats")
	if err != nil {
		return [2]uint64{}, err
	}
	var u, v uint64
	if _, err := fmt.Sscanf(out, "OK updates=%d views=%d", &u, &v); err != nil {
		return [2]uint64{}, fmt.Errorf("stats %q: %w", out, err)
	}
	return [2]uint64{u, v}, nil
}
