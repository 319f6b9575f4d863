package wire

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// enc builds a payload.
type enc struct{ b []byte }

func (e *enc) u8(v uint8)   { e.b = append(e.b, v) }
func (e *enc) u16(v uint16) { e.b = binary.BigEndian.AppendUint16(e.b, v) }
func (e *enc) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }
func (e *enc) u64(v uint64) { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *enc) i32(v int32)  { e.u32(uint32(v)) }

// str writes a string with a u16 length.
func (e *enc) str(s string) { e.u16(uint16(len(s))); e.b = append(e.b, s...) }

// dec reads a payload; the first problem sticks and every later read
// returns zero values.
type dec struct {
	b   []byte
	err error
}

func (d *dec) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrMalformed, what)
	}
}

func (d *dec) take(n int, what string) []byte {
	if d.err != nil || n < 0 || len(d.b) < n {
		d.fail(what + " is cut short")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) u8(what string) uint8 {
	if v := d.take(1, what); v != nil {
		return v[0]
	}
	return 0
}

func (d *dec) u16(what string) uint16 {
	if v := d.take(2, what); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (d *dec) u32(what string) uint32 {
	if v := d.take(4, what); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *dec) u64(what string) uint64 {
	if v := d.take(8, what); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

// bool reads a byte that must be 0 or 1.
func (d *dec) bool(what string) bool {
	v := d.u8(what)
	if v > 1 {
		d.fail(what + " is neither 0 nor 1")
	}
	return v == 1
}

func (d *dec) i32(what string) int32 { return int32(d.u32(what)) }

// str reads a u16-length string of at most max bytes of valid UTF-8.
func (d *dec) str(what string, max int) string {
	n := int(d.u16(what + " length"))
	if d.err == nil && n > max {
		d.fail(fmt.Sprintf("%s is longer than %d bytes", what, max))
		return ""
	}
	v := d.take(n, what)
	if d.err == nil && !utf8.Valid(v) {
		d.fail(what + " is not UTF-8 text")
		return ""
	}
	return string(v)
}

// rest returns what is left.
func (d *dec) rest() []byte {
	v := d.b
	d.b = nil
	return v
}

// end fails if bytes are left over.
func (d *dec) end() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail(fmt.Sprintf("%d bytes left over", len(d.b)))
	}
	return d.err
}
