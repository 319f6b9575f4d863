// Package stamp reads and writes the trailer that makes a downloaded
// support client connect without input (docs/remote-control.md §5). The
// appliance appends the trailer to the client binary when a customer
// downloads it:
//
//	token bytes | address bytes | u16 BE len(token) | u16 BE len(addr) | "SWBTOKEN1"
//
// The address is host:port, optionally followed by #sha256=<hex> to pin
// the box's leaf certificate. An executable runs unchanged with bytes
// appended, so the client finds its own trailer by reading the end of the
// file it was started from.
package stamp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode/utf8"
)

// Magic ends every stamped binary.
const Magic = "SWBTOKEN1"

// Bounds of the stamped fields.
const (
	MaxToken = 256
	MaxAddr  = 512
)

// trailerMax is the longest trailer Read looks at.
const trailerMax = MaxToken + MaxAddr + 4 + len(Magic)

// ErrNotStamped means the file ends without a trailer.
var ErrNotStamped = errors.New("stamp: the program carries no connection details")

// ErrMalformed means a trailer is there but its fields are out of bounds.
var ErrMalformed = errors.New("stamp: malformed trailer")

// check validates the fields of a trailer.
func check(token, addr string) error {
	switch {
	case token == "" || len(token) > MaxToken:
		return fmt.Errorf("%w: token of %d bytes (1..%d)", ErrMalformed, len(token), MaxToken)
	case addr == "" || len(addr) > MaxAddr:
		return fmt.Errorf("%w: address of %d bytes (1..%d)", ErrMalformed, len(addr), MaxAddr)
	case !printable(token) || !printable(addr):
		return fmt.Errorf("%w: token or address is not printable text", ErrMalformed)
	}
	return nil
}

// printable reports whether s is UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Trailer returns the trailer for token and addr.
func Trailer(token, addr string) ([]byte, error) {
	if err := check(token, addr); err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(token)+len(addr)+4+len(Magic))
	b = append(b, token...)
	b = append(b, addr...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(token)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(addr)))
	return append(b, Magic...), nil
}

// Append writes the trailer for token and addr to w, which holds the
// client binary up to here.
func Append(w io.Writer, token, addr string) error {
	b, err := Trailer(token, addr)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// Stamp returns a copy of binary followed by the trailer for token and
// addr. It panics if the fields are out of bounds: callers stamp values
// they made themselves.
func Stamp(binary []byte, token, addr string) []byte {
	b, err := Trailer(token, addr)
	if err != nil {
		panic(err)
	}
	return append(binary[:len(binary):len(binary)], b...)
}

// Parse finds the trailer at the end of tail, the last bytes of a file
// (at least the trailer; more is fine).
func Parse(tail []byte) (token, addr string, err error) {
	n := len(tail)
	if n < 4+len(Magic) || string(tail[n-len(Magic):]) != Magic {
		return "", "", ErrNotStamped
	}
	lens := tail[n-len(Magic)-4 : n-len(Magic)]
	lt, la := int(binary.BigEndian.Uint16(lens)), int(binary.BigEndian.Uint16(lens[2:]))
	if lt > MaxToken || la > MaxAddr {
		return "", "", fmt.Errorf("%w: token %d bytes, address %d bytes", ErrMalformed, lt, la)
	}
	body := n - len(Magic) - 4
	if lt+la > body {
		return "", "", fmt.Errorf("%w: fields longer than the file", ErrMalformed)
	}
	token = string(tail[body-la-lt : body-la])
	addr = string(tail[body-la : body])
	if err := check(token, addr); err != nil {
		return "", "", err
	}
	return token, addr, nil
}

// Read returns the token and address stamped on the file at path, reading
// at most the longest possible trailer from its end.
func Read(path string) (token, addr string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", "", err
	}
	n := min(st.Size(), int64(trailerMax))
	tail := make([]byte, n)
	if _, err := f.ReadAt(tail, st.Size()-n); err != nil {
		return "", "", fmt.Errorf("read %s: %w", path, err)
	}
	return Parse(tail)
}

// Self returns the token and address stamped on the running executable.
func Self() (token, addr string, err error) {
	exe, err := os.Executable()
	if err != nil {
		return "", "", err
	}
	return Read(exe)
}
