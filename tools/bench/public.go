package main

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/tools/daemon"
)

// nginxPath is Debian's nginx (`make bench` installs nginx-light).
const nginxPath = "/usr/sbin/nginx"

// runPublic serves the real public home page from the daemon and, in the
// same run, the same bytes from Debian's nginx with the same kind of
// certificate (ECDSA P-256, self-signed) over TLS 1.3, both under the
// same load, and prints the daemon's ratio. Nothing is asserted; the goal
// (issue 12) is at least 0.4× nginx's requests per second.
func runPublic(ctx context.Context, cfg config) (Result, error) {
	if _, err := os.Stat(nginxPath); err != nil {
		return Result{}, fmt.Errorf("%s is missing: install nginx-light (make bench does)", nginxPath)
	}
	d := startDaemon(cfg, daemon.Options{})
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	defer d.Stop()
	admin, err := benchAdmin(d)
	if err != nil {
		return Result{}, err
	}
	// A site as a help desk would have it: technician list, session key
	// and survey.
	if resp, body := admin.Post("/login/sites", map[string]string{"name": "Help", "hostnames": "help.example", "tech_list": "1",
		"session_key": "1", "survey": "1", "survey_mode": "issue", "ask_name": "1", "ask_description": "1"}); resp.StatusCode != 303 {
		return Result{}, fmt.Errorf("create the site: %d %s", resp.StatusCode, body)
	}
	l, err := newLoader(d.Base, cfg.c)
	if err != nil {
		return Result{}, err
	}
	defer l.close()
	home := endpoint{name: "public home page", url: d.Base + "/"}
	var page strings.Builder
	if err := l.get(ctx, home.url, &page); err != nil {
		return Result{}, err
	}
	ngx, stop, err := startNginx(ctx, []byte(page.String()))
	if err != nil {
		return Result{}, err
	}
	defer stop()
	static := endpoint{name: "nginx, same bytes", url: ngx + "/"}
	cfg.tb.Logf("public: %d requests each to the home page (%d bytes) and nginx, %d clients", cfg.n, page.Len(), cfg.c)
	sn, sh, err := l.compare(ctx, static, home, cfg.n)
	if err != nil {
		return Result{}, err
	}
	tn, th := newTarget(static.name, sn), newTarget(home.name, sh)
	return Result{
		Targets: []Target{tn, th},
		Ratios:  []Ratio{ratio("home page / nginx", th, tn)},
		Notes:   []string{"goal: throughput ≥ 0.4× nginx, p99 ≤ 2× nginx"},
	}, nil
}

// startNginx serves body at / over TLS 1.3 on a free loopback port from a
// configuration written to a temporary prefix; it returns the base URL
// and a function that stops it.
func startNginx(ctx context.Context, body []byte) (string, func(), error) {
	dir, err := os.MkdirTemp("", "bench-nginx-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	// nginx's workers drop root: they must be able to read the page.
	if err := os.Chmod(dir, 0o755); err != nil {
		cleanup()
		return "", nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.html"), body, 0o644); err != nil {
		cleanup()
		return "", nil, err
	}
	if err := writeCert(dir); err != nil {
		cleanup()
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cleanup()
		return "", nil, err
	}
	addr := ln.Addr().String()
	ln.Close() // nginx binds it itself; a race with another process is possible but harmless here
	conf := fmt.Sprintf(`worker_processes auto;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %[1]s/tmp; proxy_temp_path %[1]s/tmp; fastcgi_temp_path %[1]s/tmp; uwsgi_temp_path %[1]s/tmp; scgi_temp_path %[1]s/tmp;
  keepalive_requests 100000;
  server {
    listen %[2]s ssl;
    ssl_certificate %[1]s/cert.pem;
    ssl_certificate_key %[1]s/key.pem;
    ssl_protocols TLSv1.3;
    root %[1]s;
    index index.html;
    default_type "text/html; charset=utf-8";
  }
}
`, dir, addr)
	os.MkdirAll(filepath.Join(dir, "tmp"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		cleanup()
		return "", nil, err
	}
	cmd := exec.CommandContext(ctx, nginxPath, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-g", "daemon off;")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		cleanup()
		return "", nil, err
	}
	stop := func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		cleanup()
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
		}
	}()
	// nginx says nothing when it is ready: wait until the port answers.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			return "", nil, errors.New("nginx did not listen within 10 s: " + string(log))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return (&url.URL{Scheme: "https", Host: addr}).String(), stop, nil
}

// writeCert writes a self-signed ECDSA P-256 certificate, the kind the
// daemon makes for itself.
func writeCert(dir string) error {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600)
}
