package relay

import (
	"bytes"
	"testing"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// TestTCP: a support app that reaches the box over TLS on TCP (its network
// blocks UDP) is served like one on QUIC: the same tokens and refusals, its
// screen fans out to a QUIC viewer, the relay says which transport it uses,
// and the Close frame says why the session ended.
func TestTCP(t *testing.T) {
	tr := startRelay(t, Config{})

	// Refusals arrive as a Close frame: TCP has no close reason of its own.
	p := dialTCP(t, tr.tcpAddr)
	p.send(wire.Hello{Version: wire.Version, Role: wire.RoleClient, Token: "made-up", DeviceID: "dev-1"})
	contains(t, p.closeReason(), "not valid")
	p = dialTCP(t, tr.tcpAddr)
	old := encode(wire.Hello{Version: wire.Version, Role: wire.RoleClient, Token: "x", DeviceID: "d"})
	old[wire.HeaderLen+3] = wire.Version - 1 // the version byte after "SWB"
	p.sendRaw(old)
	contains(t, p.closeReason(), "download the support app again")

	tr.auth.add("tcp", testToken{grant: Grant{Session: 1}, role: wire.RoleClient, once: true})
	c := dialTCP(t, tr.tcpAddr)
	c.send(wire.Hello{Version: wire.Version, Role: wire.RoleClient, Token: "tcp", DeviceID: "dev-1"})
	if w := c.welcome(); w.Session != 1 {
		t.Fatalf("welcome %+v", w)
	}
	c.send(wire.DeviceInfo{OS: "windows", Capture: true, Transport: "made up by the app"})
	if info := recv(t, tr.obs.up, "client up"); info.Transport != TransportTCP {
		t.Errorf("transport %q, want %q", info.Transport, TransportTCP)
	}

	tech := tr.addTechnician(t, 1, 10, "Ann")
	if info, ok := tech.expect(wire.TDeviceInfo).(wire.DeviceInfo); !ok || info.Transport != TransportTCP {
		t.Errorf("the technician sees transport %q", info.Transport)
	}
	tr.grant(t, c, 10, "view")
	tech.expect(wire.TConsentReply)
	frames := [][]byte{
		tile(0, 0, bytes.Repeat([]byte{7}, 64*64*3)),
		encode(wire.Copy{SrcX: 0, SrcY: 0, DstX: 64, DstY: 0, W: 64, H: 64}),
		encode(wire.FrameEnd{Seq: 1}),
	}
	for _, f := range frames {
		c.sendRaw(f)
	}
	for i, want := range frames {
		got := tech.raw()
		for wire.Type(got[0]) == wire.TPresence || wire.Type(got[0]) == wire.TPong {
			got = tech.raw()
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("frame %d: got type %d, want %d", i, got[0], want[0])
		}
	}

	tr.End(1, "the technician closed the session")
	contains(t, c.closeReason(), "the technician closed the session")
}
