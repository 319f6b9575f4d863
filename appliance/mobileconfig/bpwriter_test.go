package mobileconfig

import (
	"encoding/binary"
	"math"
	"time"
	"unicode/utf16"
)

// bpWriter writes binary property lists for the tests, including ones no
// real writer would make: objects are added one by one, referring to each
// other by number, so a test can share, nest and loop them as it likes.
type bpWriter struct {
	refSize int
	objs    [][]byte
}

func newBPWriter(refSize int) *bpWriter { return &bpWriter{refSize: refSize} }

// add appends an encoded object and returns its number.
func (w *bpWriter) add(obj []byte) uint64 {
	w.objs = append(w.objs, obj)
	return uint64(len(w.objs) - 1)
}

// header is a marker with a count: in its low nibble, or as an integer
// object after it.
func header(marker byte, n int) []byte {
	if n < 15 {
		return []byte{marker | byte(n)}
	}
	if n < 256 {
		return []byte{marker | 0xF, 0x10, byte(n)}
	}
	return []byte{marker | 0xF, 0x12, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
}

func (w *bpWriter) str(s string) uint64 {
	ascii := true
	for i := 0; i < len(s); i++ {
		ascii = ascii && s[i] < 0x80
	}
	if ascii {
		return w.add(append(header(0x50, len(s)), s...))
	}
	units := utf16.Encode([]rune(s))
	obj := header(0x60, len(units))
	for _, u := range units {
		obj = binary.BigEndian.AppendUint16(obj, u)
	}
	return w.add(obj)
}

// rawStr writes an "ASCII" string of any bytes, valid UTF-8 or not.
func (w *bpWriter) rawStr(b []byte) uint64 { return w.add(append(header(0x50, len(b)), b...)) }

func (w *bpWriter) integer(n int64) uint64 {
	return w.add(binary.BigEndian.AppendUint64([]byte{0x13}, uint64(n)))
}

func (w *bpWriter) real(f float64) uint64 {
	return w.add(binary.BigEndian.AppendUint64([]byte{0x23}, math.Float64bits(f)))
}

func (w *bpWriter) date(t time.Time) uint64 {
	secs := t.Sub(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)).Seconds()
	return w.add(binary.BigEndian.AppendUint64([]byte{0x33}, math.Float64bits(secs)))
}

func (w *bpWriter) boolean(b bool) uint64 {
	if b {
		return w.add([]byte{0x09})
	}
	return w.add([]byte{0x08})
}

func (w *bpWriter) data(b []byte) uint64 { return w.add(append(header(0x40, len(b)), b...)) }

func (w *bpWriter) appendRef(obj []byte, r uint64) []byte {
	for i := w.refSize - 1; i >= 0; i-- {
		obj = append(obj, byte(r>>(8*i)))
	}
	return obj
}

func (w *bpWriter) array(refs ...uint64) uint64 {
	obj := header(0xA0, len(refs))
	for _, r := range refs {
		obj = w.appendRef(obj, r)
	}
	return w.add(obj)
}

func (w *bpWriter) dict(keys, vals []uint64) uint64 {
	obj := header(0xD0, len(keys))
	for _, r := range keys {
		obj = w.appendRef(obj, r)
	}
	for _, r := range vals {
		obj = w.appendRef(obj, r)
	}
	return w.add(obj)
}

// reserve adds a placeholder to be set later, for references that point
// forward (loops).
func (w *bpWriter) reserve() uint64 { return w.add(nil) }

// set replaces object r, as an array of refs.
func (w *bpWriter) setArray(r uint64, refs ...uint64) {
	n := w.array(refs...)
	w.objs[r], w.objs = w.objs[n], w.objs[:n]
}

// pdict is a dictionary for encode: keys and values alternating.
type pdict []any

// encode adds v and everything in it, each value its own object.
func (w *bpWriter) encode(v any) uint64 {
	switch v := v.(type) {
	case string:
		return w.str(v)
	case int:
		return w.integer(int64(v))
	case float64:
		return w.real(v)
	case bool:
		return w.boolean(v)
	case []byte:
		return w.data(v)
	case time.Time:
		return w.date(v)
	case []any:
		refs := make([]uint64, len(v))
		for i, e := range v {
			refs[i] = w.encode(e)
		}
		return w.array(refs...)
	case pdict:
		var keys, vals []uint64
		for i := 0; i+1 < len(v); i += 2 {
			keys = append(keys, w.str(v[i].(string)))
			vals = append(vals, w.encode(v[i+1]))
		}
		return w.dict(keys, vals)
	}
	panic("bpWriter: cannot encode this type")
}

// finish lays out header, objects, offset table and trailer.
func (w *bpWriter) finish(top uint64) []byte {
	out := []byte(binaryMagic)
	offsets := make([]uint64, len(w.objs))
	for i, obj := range w.objs {
		offsets[i] = uint64(len(out))
		out = append(out, obj...)
	}
	table := uint64(len(out))
	offSize := 1
	for table >= 1<<(8*offSize) {
		offSize *= 2
	}
	for _, off := range offsets {
		for i := offSize - 1; i >= 0; i-- {
			out = append(out, byte(off>>(8*i)))
		}
	}
	out = append(out, 0, 0, 0, 0, 0, 0, byte(offSize), byte(w.refSize))
	out = binary.BigEndian.AppendUint64(out, uint64(len(w.objs)))
	out = binary.BigEndian.AppendUint64(out, top)
	return binary.BigEndian.AppendUint64(out, table)
}

// encodeBinary writes v as a whole binary property list.
func encodeBinary(v any) []byte {
	w := newBPWriter(2)
	top := w.encode(v)
	return w.finish(top)
}
