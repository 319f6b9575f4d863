package rtc_test

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/switchboardhq/switchboard/appliance/rtc"
)

func TestNewRefusesBadConfig(t *testing.T) {
	busy, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		name string
		cfg  rtc.Config
		want string
	}{
		{"no port", rtc.Config{ListenUDP: "127.0.0.1"}, "missing port"},
		{"host name", rtc.Config{ListenUDP: "localhost:3478"}, "must be an IP address"},
		{"bad public IP", rtc.Config{ListenUDP: "127.0.0.1:0", PublicIPs: []string{"box.example"}}, "not an IP address"},
		{"port in use", rtc.Config{ListenUDP: busy.LocalAddr().String()}, "address already in use"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := rtc.New(tc.cfg, newHub(false))
			if err == nil {
				g.Close()
				t.Fatal("New worked")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q, want %q", err, tc.want)
			}
		})
	}
	if _, err := rtc.New(rtc.Config{ListenUDP: "127.0.0.1:0"}, nil); err == nil {
		t.Fatal("New without a hub worked")
	}
}

// TestPublicIPs: the box's public address is announced next to its own.
func TestPublicIPs(t *testing.T) {
	g := newGateway(t, newHub(false), rtc.Config{ListenUDP: "127.0.0.1:0", Loopback: true, PublicIPs: []string{"203.0.113.7"}})
	pc := newClient(t)
	if _, err := pc.CreateDataChannel(rtc.WireLabel, nil); err != nil {
		t.Fatal(err)
	}
	answer, err := g.Viewer(ctx(t), rtc.Seat{Session: 1, Viewer: 1, Name: "Ada"}, offer(t, pc))
	if err != nil {
		t.Fatal(err)
	}
	port := g.Addrs()[0].(*net.UDPAddr).Port
	for _, want := range []string{"203.0.113.7", "127.0.0.1"} {
		if !strings.Contains(answer, want+" "+strconv.Itoa(port)+" typ host") {
			t.Errorf("the answer has no host candidate %s:%d:\n%s", want, port, answer)
		}
	}
	// The one port, two addresses (pion repeats each for component 2).
	if n := strings.Count(answer, " 1 udp "); n != 2 {
		t.Errorf("%d candidates, want 2:\n%s", n, answer)
	}
	accept(t, pc, answer)
	waitFor(t, "the client to connect", func() bool { return pc.ConnectionState() == webrtc.PeerConnectionStateConnected })
}
