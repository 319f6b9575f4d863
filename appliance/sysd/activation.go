package sysd

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"syscall"

	"github.com/coreos/go-systemd/v22/activation"
)

// Sockets holds the sockets systemd passed to the process (socket
// activation). Stream sockets are in TCP and datagram sockets in UDP.
type Sockets struct {
	TCP []net.Listener
	UDP []net.PacketConn
}

// Activated returns the sockets systemd handed over through LISTEN_PID,
// LISTEN_FDS and LISTEN_FDNAMES, and unsets those variables so that child
// processes do not inherit them. It reads them once: a second call returns
// empty Sockets. When the process was not socket-activated it returns empty
// Sockets and no error. If any passed descriptor is not a stream or datagram
// socket, it closes everything and returns an error.
func Activated() (Sockets, error) {
	var s Sockets
	var errs []error
	for _, f := range activation.Files(true) {
		if err := s.add(f); err != nil {
			errs = append(errs, fmt.Errorf("sysd: activated socket %s: %w", f.Name(), err))
		}
		f.Close()
	}
	if len(errs) > 0 {
		s.Close()
		return Sockets{}, errors.Join(errs...)
	}
	return s, nil
}

// add converts f into a listener or packet conn; the caller closes f.
func (s *Sockets) add(f *os.File) error {
	typ, err := socketType(f)
	if err != nil {
		return err
	}
	switch typ {
	case syscall.SOCK_STREAM:
		l, err := net.FileListener(f)
		if err != nil {
			return err
		}
		s.TCP = append(s.TCP, l)
	case syscall.SOCK_DGRAM:
		pc, err := net.FilePacketConn(f)
		if err != nil {
			return err
		}
		s.UDP = append(s.UDP, pc)
	default:
		return fmt.Errorf("unsupported socket type %d", typ)
	}
	return nil
}

func socketType(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var typ int
	var sockErr error
	if err := rc.Control(func(fd uintptr) {
		typ, sockErr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_TYPE)
	}); err != nil {
		return 0, err
	}
	if sockErr != nil {
		return 0, fmt.Errorf("socket type: %w", sockErr)
	}
	return typ, nil
}

// TCPFor returns the activated stream socket listening on the port of addr
// (":443", "127.0.0.1:8443") and removes it from s, so that each socket is
// handed out once. A socket whose IP also equals the host of addr is
// preferred. It returns nil if no socket matches.
func (s *Sockets) TCPFor(addr string) net.Listener {
	i := match(addr, "tcp", len(s.TCP), func(i int) net.Addr { return s.TCP[i].Addr() })
	if i < 0 {
		return nil
	}
	l := s.TCP[i]
	s.TCP = slices.Delete(s.TCP, i, i+1)
	return l
}

// UDPFor returns the activated datagram socket bound to the port of addr and
// removes it from s, like TCPFor. It returns nil if no socket matches.
func (s *Sockets) UDPFor(addr string) net.PacketConn {
	i := match(addr, "udp", len(s.UDP), func(i int) net.Addr { return s.UDP[i].LocalAddr() })
	if i < 0 {
		return nil
	}
	pc := s.UDP[i]
	s.UDP = slices.Delete(s.UDP, i, i+1)
	return pc
}

// Close closes every socket still in s and empties it. Call it once the
// daemon has taken the sockets it serves, so that none is left open unused.
func (s *Sockets) Close() error {
	var errs []error
	for _, l := range s.TCP {
		errs = append(errs, l.Close())
	}
	for _, pc := range s.UDP {
		errs = append(errs, pc.Close())
	}
	s.TCP, s.UDP = nil, nil
	return errors.Join(errs...)
}

// match returns the index of the socket whose local address matches addr,
// or -1.
func match(addr, network string, n int, local func(int) net.Addr) int {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return -1
	}
	port, err := net.LookupPort(network, portStr)
	if err != nil {
		return -1
	}
	want := net.ParseIP(host)
	found := -1
	for i := range n {
		var ip net.IP
		var p int
		switch a := local(i).(type) {
		case *net.TCPAddr:
			ip, p = a.IP, a.Port
		case *net.UDPAddr:
			ip, p = a.IP, a.Port
		default:
			continue
		}
		if p != port {
			continue
		}
		if want != nil && ip.Equal(want) {
			return i
		}
		if found < 0 {
			found = i
		}
	}
	return found
}
