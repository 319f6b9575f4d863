package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"

	"github.com/switchboardhq/switchboard/tools/daemon"
)

// TestStalledDownloadsStayBounded is the attack on the support app
// downloads: 300 downloads that stop reading once the answer starts (small
// receive windows), from 150 customer sessions. Before the fix each one held
// the whole ~7 MB build in memory and the daemon grew to 2.2 GB. Now at most
// 64 stream at once (2 per session), the rest are told to come back, and
// the daemon's resident memory grows by less than 96 MiB.
func TestStalledDownloadsStayBounded(t *testing.T) {
	t.Parallel()
	daemon.SupportClient(t)
	d, ann := annsDesk(t)
	type customer struct {
		c     *daemon.Client
		token string
	}
	var customers []customer
	for i := range 150 {
		c := d.NewClient()
		if resp, body := c.Post("/start/technician/"+ann, map[string]string{"name": fmt.Sprint("Cust ", i)}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("start %d: %d %s", i, resp.StatusCode, body)
		}
		customers = append(customers, customer{c, c.CSRF()})
	}
	before := d.RSS()

	// A dialer whose sockets take almost nothing before the sender blocks.
	dialer := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		return serr
	}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	codes := map[int]int{}
	var held []*http.Response
	for i := range 300 {
		cu := customers[i/2]
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DialContext: dialer.DialContext,
			ReadBufferSize: 4096, DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		hc := &http.Client{Transport: tr, Jar: cu.c.Jar}
		req, _ := http.NewRequestWithContext(ctx, "POST", d.Base+"/session/client/linux-amd64", strings.NewReader("csrf_token="+url.QueryEscape(cu.token)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("download %d: %v", i, err)
		}
		codes[resp.StatusCode]++
		if resp.StatusCode == http.StatusOK {
			held = append(held, resp) // never read: the download stalls
		} else {
			resp.Body.Close()
		}
	}
	after := d.RSS()
	t.Logf("RSS %d MiB before, %d MiB with 300 stalled downloads; answers %v", before>>20, after>>20, codes)
	if codes[http.StatusOK] != 64 || codes[http.StatusServiceUnavailable] != 300-64 {
		t.Fatalf("answers to 300 downloads from 150 sessions: %v, want 64 × 200 and the rest 503", codes)
	}
	if grown := after - before; grown > 96<<20 {
		t.Fatalf("RSS grew by %d MiB with 300 stalled downloads (bound 96 MiB)", grown>>20)
	}
	// The box still answers others at once.
	if code, _ := d.NewClient().Page("/"); code != http.StatusOK {
		t.Fatalf("home page during the stall: %d", code)
	}
	for _, r := range held {
		r.Body.Close()
	}
}
