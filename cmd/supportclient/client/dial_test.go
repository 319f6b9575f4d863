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
	"net"
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
	link, err := Dial(ctx, box)
	if err != nil {
		t.Fatalf("pinned dial: %v", err)
	}
	if link.Transport() != "quic" {
		t.Errorf("transport %q with QUIC open", link.Transport())
	}
	f, _ := wire.Encode(wire.Hello{Version: wire.Version, Role: wire.RoleClient, Token: "tok", DeviceID: "dev"})
	if err := wire.WriteFrame(link, f); err != nil {
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
	link.Hangup(0)

	wrong := box
	wrong.Pin = make([]byte, 32)
	if _, err := Dial(ctx, wrong); !errors.Is(err, ErrWrongCertificate) {
		t.Errorf("wrong pin: %v", err)
	}
	unpinned, _ := ParseBox(addr)
	if _, err := Dial(ctx, unpinned); err == nil {
		t.Error("a self-signed certificate was accepted without a pin")
	}
}

// tcpBox listens with TLS on TCP (ALPN switchboard/1) and returns the
// pinned box address, the hellos that arrive, and the TCP address.
func tcpBox(t *testing.T, cert tls.Certificate, udp net.PacketConn) (string, chan wire.Hello) {
	t.Helper()
	addr := "127.0.0.1:0"
	if udp != nil { // the same port as the UDP side
		addr = udp.LocalAddr().String()
	}
	ln, err := tls.Listen("tcp", addr, &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{wire.ALPN}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	hellos := make(chan wire.Hello, 4)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				f, err := wire.ReadFrame(conn, nil)
				if err != nil {
					return
				}
				if m, err := wire.Decode(f); err == nil {
					hellos <- m.(wire.Hello)
				}
			}()
		}
	}()
	sum := sha256.Sum256(cert.Certificate[0])
	return ln.Addr().String() + "#sha256=" + hex.EncodeToString(sum[:]), hellos
}

// TestDialFallsBackToTCP: when nothing answers QUIC (the port refuses UDP,
// or a network drops it silently), the app connects with TLS over TCP to
// the same port and says hello there.
func TestDialFallsBackToTCP(t *testing.T) {
	cert := selfSigned(t)
	blackhole, err := net.ListenPacket("udp", "127.0.0.1:0") // reads and drops: like a firewall's DROP
	if err != nil {
		t.Fatal(err)
	}
	defer blackhole.Close()
	go func() {
		b := make([]byte, 2048)
		for {
			if _, _, err := blackhole.ReadFrom(b); err != nil {
				return
			}
		}
	}()
	refused, _ := tcpBox(t, cert, nil) // nothing listens on its UDP port
	dropped, hellos := tcpBox(t, cert, blackhole)
	for name, addr := range map[string]string{"UDP refused": refused, "UDP dropped": dropped} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			box, err := ParseBox(addr)
			if err != nil {
				t.Fatal(err)
			}
			link, err := Dial(ctx, box)
			if err != nil {
				t.Fatal(err)
			}
			defer link.Hangup(0)
			if link.Transport() != "tcp" {
				t.Fatalf("transport %q", link.Transport())
			}
			f, _ := wire.Encode(wire.Hello{Version: wire.Version, Role: wire.RoleClient, Token: name, DeviceID: "dev"})
			if err := wire.WriteFrame(link, f); err != nil {
				t.Fatal(err)
			}
			if name == "UDP dropped" {
				select {
				case h := <-hellos:
					if h.Token != name {
						t.Errorf("hello %+v", h)
					}
				case <-ctx.Done():
					t.Fatal("the hello did not arrive over TCP")
				}
			}
		})
	}
	// The pin is checked on TCP too.
	box, _ := ParseBox(refused)
	box.Pin = make([]byte, 32)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := Dial(ctx, box); !errors.Is(err, ErrWrongCertificate) {
		t.Errorf("wrong pin over TCP: %v", err)
	}
	// Nothing at all: both errors are told.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	gone := ln.Addr().String()
	ln.Close()
	box, _ = ParseBox(gone)
	if _, err := Dial(ctx, box); err == nil || !strings.Contains(err.Error(), "QUIC") || !strings.Contains(err.Error(), "tcp") {
		t.Errorf("nothing listening: %v", err)
	}
}
