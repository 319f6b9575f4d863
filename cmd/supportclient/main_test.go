package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/switchboardhq/switchboard/appliance/wire"
	"github.com/switchboardhq/switchboard/appliance/wire/stamp"
	"github.com/switchboardhq/switchboard/cmd/supportclient/client"
)

// TestStampedBinary builds the client, stamps it for a QUIC relay on
// loopback with a pinned self-signed certificate, and runs it with no
// arguments: it must find the stamp in its own executable, say hello with
// the token, report that it cannot share the screen (no display), and on
// SIGINT tell the relay that the customer stopped.
func TestStampedBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the client")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "supportclient")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := quic.ListenAddr("127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		NextProtos:   []string{wire.ALPN},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sum := sha256.Sum256(der)

	exe, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String() + "#sha256=" + hex.EncodeToString(sum[:])
	if err := os.WriteFile(bin, stamp.Stamp(exe, "one-time-token", addr), 0o755); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "-prompt", "terminal")
	cmd.Env = append(os.Environ(), "DISPLAY=", "WAYLAND_DISPLAY=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	stdin, _ := cmd.StdinPipe()
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := ln.Accept(ctx)
	if err != nil {
		t.Fatalf("the client did not connect: %v\n%s", err, out.String())
	}
	st, err := conn.AcceptStream(ctx)
	if err != nil {
		t.Fatal(err)
	}
	read := func() wire.Message {
		t.Helper()
		st.SetReadDeadline(time.Now().Add(20 * time.Second))
		f, err := wire.ReadFrame(st, nil)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		m, err := wire.Decode(f)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	send := func(m wire.Message) {
		f, _ := wire.Encode(m)
		if err := wire.WriteFrame(st, f); err != nil {
			t.Fatal(err)
		}
	}
	if h, ok := read().(wire.Hello); !ok || h.Token != "one-time-token" || len(h.DeviceID) != 32 {
		t.Fatalf("hello %+v", h)
	}
	send(wire.Welcome{Session: 1})
	info, ok := read().(wire.DeviceInfo)
	if !ok || info.Capture || info.Note == "" || info.Hostname == "" {
		t.Fatalf("device info %+v", info)
	}
	send(wire.ConsentAsk{Technician: "Alice", What: "view"})
	if r, ok := read().(wire.ConsentReply); !ok || r.Granted {
		t.Fatalf("view without a screen: %+v", r)
	}
	cmd.Process.Signal(syscall.SIGINT)
	if c, ok := read().(wire.Close); !ok || c.Reason != client.StopReason {
		t.Fatalf("after SIGINT: %+v", c)
	}
	conn.CloseWithError(0, "")
	if err := cmd.Wait(); err != nil {
		t.Errorf("exit: %v\n%s", err, out.String())
	}
	for _, want := range []string{"Connected to 127.0.0.1. Waiting for a technician", "Press Ctrl-C", "You stopped the session"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
