package sysd

import (
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const activationChildEnv = "SYSD_TEST_ACTIVATION_CHILD"

func TestActivatedNotActivated(t *testing.T) {
	tests := map[string]struct{ pid, fds string }{
		"unset":     {"", ""},
		"other pid": {strconv.Itoa(os.Getpid() + 1), "2"},
		"no fds":    {strconv.Itoa(os.Getpid()), "0"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Setenv("LISTEN_PID", tt.pid)
			t.Setenv("LISTEN_FDS", tt.fds)
			s, err := Activated()
			if err != nil {
				t.Fatal(err)
			}
			if len(s.TCP) != 0 || len(s.UDP) != 0 {
				t.Fatalf("got %d TCP, %d UDP sockets, want none", len(s.TCP), len(s.UDP))
			}
			if s.TCPFor(":443") != nil || s.UDPFor(":443") != nil {
				t.Fatal("lookup in empty Sockets returned a socket")
			}
		})
	}
}

// TestActivated hands a real TCP listener and UDP socket to a child copy of
// the test binary at fds 3 and 4, the way systemd does, and lets the child
// check what Activated makes of them.
func TestActivated(t *testing.T) {
	if os.Getenv(activationChildEnv) == "1" {
		activatedChild(t)
		return
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	pf, err := pc.(*net.UDPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	tcpPort := ln.Addr().(*net.TCPAddr).Port
	udpPort := pc.LocalAddr().(*net.UDPAddr).Port
	// Only the child serves the sockets from here on.
	ln.Close()
	pc.Close()

	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "LISTEN_")
	})
	cmd := exec.Command(os.Args[0], "-test.run=^TestActivated$", "-test.v", "-test.count=1")
	cmd.Env = append(env,
		activationChildEnv+"=1",
		"LISTEN_FDS=2",
		"LISTEN_FDNAMES=https:quic",
		"SYSD_TEST_TCP_PORT="+strconv.Itoa(tcpPort),
		"SYSD_TEST_UDP_PORT="+strconv.Itoa(udpPort),
	)
	cmd.ExtraFiles = []*os.File{lf, pf} // fds 3 and 4 in the child
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "activation child ok") {
		t.Fatalf("child did not run the check:\n%s", out)
	}
}

func activatedChild(t *testing.T) {
	// Only now is the pid that systemd would have written known.
	t.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
	tcpPort := os.Getenv("SYSD_TEST_TCP_PORT")
	udpPort := os.Getenv("SYSD_TEST_UDP_PORT")

	s, err := Activated()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, k := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
		if v, ok := os.LookupEnv(k); ok {
			t.Errorf("%s=%q still set after Activated", k, v)
		}
	}
	if len(s.TCP) != 1 || len(s.UDP) != 1 {
		t.Fatalf("got %d TCP, %d UDP sockets, want 1 and 1", len(s.TCP), len(s.UDP))
	}
	if l := s.TCPFor(":1"); l != nil {
		t.Errorf("TCPFor(:1) = %v, want nil", l.Addr())
	}
	if pc := s.UDPFor(":" + tcpPort); pc != nil && tcpPort != udpPort {
		t.Errorf("UDPFor(tcp port) = %v, want nil", pc.LocalAddr())
	}
	ln := s.TCPFor(":" + tcpPort)
	if ln == nil {
		t.Fatalf("TCPFor(:%s) = nil", tcpPort)
	}
	defer ln.Close()
	if again := s.TCPFor(":" + tcpPort); again != nil {
		t.Errorf("TCPFor handed out the same listener twice")
	}
	pc := s.UDPFor("127.0.0.1:" + udpPort)
	if pc == nil {
		t.Fatalf("UDPFor(127.0.0.1:%s) = nil", udpPort)
	}
	defer pc.Close()
	if len(s.TCP) != 0 || len(s.UDP) != 0 {
		t.Errorf("sockets left after handing out: %d TCP, %d UDP", len(s.TCP), len(s.UDP))
	}

	// The sockets are live: a TCP connection is accepted and a datagram arrives.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ac, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	ac.Close()

	uc, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	if _, err := uc.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if err := pc.SetReadDeadline(time.Now().Add(failsafe)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	n, _, err := pc.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("ReadFrom = %q, %v; want ping", buf[:n], err)
	}
	if !t.Failed() {
		t.Log("activation child ok")
	}
}

func TestSocketsForPrefersExactIP(t *testing.T) {
	any4, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := any4.Addr().(*net.TCPAddr).Port
	lo6, err := net.Listen("tcp", net.JoinHostPort("::1", strconv.Itoa(port)))
	if err != nil {
		any4.Close()
		t.Skipf("no IPv6 loopback: %v", err)
	}
	s := Sockets{TCP: []net.Listener{any4, lo6}}
	defer s.Close()
	p := strconv.Itoa(port)
	if got := s.TCPFor("[::1]:" + p); got != lo6 {
		t.Fatalf("TCPFor([::1]:%s) = %v, want %v", p, got, lo6.Addr())
	}
	if got := s.TCPFor("[::1]:" + p); got != any4 {
		t.Fatalf("second TCPFor([::1]:%s) = %v, want the port match %v", p, got, any4.Addr())
	}
	lo6.Close()
	any4.Close()
}
