package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// selfSigned returns a self-signed certificate for 127.0.0.1, like a dev
// box's.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		DNSNames:     []string{"box.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestParseBox(t *testing.T) {
	pin := strings.Repeat("ab", 32)
	b, err := ParseBox("box.example.com:443#sha256=" + pin)
	if err != nil || b.Addr != "box.example.com:443" || b.Host != "box.example.com" || hex.EncodeToString(b.Pin) != pin {
		t.Fatalf("ParseBox = %+v, %v", b, err)
	}
	// The page's language and the site's name ride after the pin; a
	// language the catalog lacks is English, and the name is cleaned.
	b, err = ParseBox("box.example.com:443#sha256=" + pin + "&lang=de&site=Acme+%E2%80%AEHilfe%0A")
	if err != nil || b.Lang != "de" || b.Site != "Acme Hilfe" {
		t.Fatalf("with page: %+v, %v", b, err)
	}
	if b, _ = ParseBox("h:1#sha256=" + pin + "&lang=xx"); b.Lang != "" {
		t.Fatalf("unknown language kept: %q", b.Lang)
	}
	for _, bad := range []string{"", "nohost", ":443", "h:1#sha256=abc", "h:1#md5=" + pin, "h:1#sha256=" + strings.Repeat("zz", 32)} {
		if _, err := ParseBox(bad); err == nil {
			t.Errorf("ParseBox(%q) accepted", bad)
		}
	}
}

// TestDialPinned dials a real QUIC listener on loopback: the right pin
// connects and carries the hello; a wrong pin and an unpinned address
// (system roots) are refused.
func TestDialPinned(t *testing.T) {
	cert := selfSigned(t)
	ln, err := quic.ListenAddr("127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{wire.ALPN}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	hellos := make(chan wire.Hello, 1)
	go func() {
		for {
			conn, err := ln.Accept(context.Background())
			if err != nil {
				return
			}
			go func() {
				st, err := conn.AcceptStream(context.Background())
				if err != nil {
					return
				}
				f, err := wire.ReadFrame(st, nil)
				if err != nil {
					return
				}
				if m, err := wire.Decode(f); err == nil {
					hellos <- m.(wire.Hello)
				}
			}()
		}
	}()
	addr := ln.Addr().String()
	sum := sha256.Sum256(cert.Certificate[0])
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	box, err := ParseBox(addr + "#sha256=" + hex.EncodeToString(sum[:]))
	if err != nil {
		t.Fatal(err)
	}
	conn, st, err := Dial(ctx, box)
	if err != nil {
		t.Fatalf("pinned dial: %v", err)
	}
	f, _ := wire.Encode(wire.Hello{Version: wire.Version, Role: wire.RoleClient, Token: "tok", DeviceID: "dev"})
	if err := wire.WriteFrame(st, f); err != nil {
		t.Fatal(err)
	}
	select {
	case h := <-hellos:
		if h.Token != "tok" {
			t.Errorf("hello %+v", h)
		}
	case <-ctx.Done():
		t.Fatal("the hello did not arrive")
	}
	conn.CloseWithError(0, "")

	wrong := box
	wrong.Pin = make([]byte, 32)
	if _, _, err := Dial(ctx, wrong); !errors.Is(err, ErrWrongCertificate) {
		t.Errorf("wrong pin: %v", err)
	}
	unpinned, _ := ParseBox(addr)
	if _, _, err := Dial(ctx, unpinned); err == nil {
		t.Error("a self-signed certificate was accepted without a pin")
	}
}
