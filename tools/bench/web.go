package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/switchboardhq/switchboard/tools/daemon"
)

// stylesheetRe finds the hashed stylesheet URL in a page of the daemon.
var stylesheetRe = regexp.MustCompile(`<link rel="stylesheet" href="([^"]+)">`)

// runWeb compares the sign-in page, which runs a template and sets a CSRF
// cookie, with the embedded stylesheet served by the same daemon. The
// clients keep no cookies, so every sign-in request is a first visit.
func runWeb(ctx context.Context, cfg config) (Result, error) {
	d := startDaemon(cfg, daemon.Options{})
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	defer d.Stop()
	l, err := newLoader(d.Base, cfg.c)
	if err != nil {
		return Result{}, err
	}
	defer l.close()

	login := endpoint{name: "sign-in page", url: d.Base + "/login"}
	var page strings.Builder
	if err := l.get(ctx, login.url, &page); err != nil {
		return Result{}, err
	}
	m := stylesheetRe.FindStringSubmatch(page.String())
	if m == nil || !strings.HasPrefix(m[1], "/assets/") || !strings.HasSuffix(m[1], ".css") {
		return Result{}, fmt.Errorf("GET /login: no <link rel=\"stylesheet\" href=\"/assets/….css\">")
	}
	static := endpoint{name: "static css", url: d.Base + m[1]}

	cfg.tb.Logf("web: %d requests each to %s and %s, %d clients", cfg.n, m[1], "/login", cfg.c)
	ss, sl, err := l.compare(ctx, static, login, cfg.n)
	if err != nil {
		return Result{}, err
	}
	ts, tl := newTarget(static.name, ss), newTarget(login.name, sl)
	return Result{
		Targets: []Target{ts, tl},
		Ratios:  []Ratio{ratio("sign-in / static", tl, ts)},
	}, nil
}
