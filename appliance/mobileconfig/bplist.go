//lint:file-ignore ST1005 the errors are sentences shown to the admin who uploaded the file

package mobileconfig

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// binaryMagic opens every binary property list Check reads.
const binaryMagic = "bplist00"

// A binary property list (CoreFoundation's CFBinaryPList.c describes it):
//
//	"bplist00"        8 bytes
//	objects           each a marker byte, maybe a length, then its bytes;
//	                  arrays and dictionaries hold references (object
//	                  numbers, refSize bytes each) instead of values
//	offset table      numObjects offsets, offsetSize bytes each
//	trailer           32 bytes: 6 unused, offsetSize, refSize,
//	                  numObjects, topObject, offsetTable (8 bytes each)
//
// Every number in it is untrusted: the parser checks each offset, length and
// count against the bytes that are there before using it, and follows
// references with the same depth and value bounds as the XML parser, plus a
// check for an array or dictionary that contains itself.
const (
	headerSize  = len(binaryMagic)
	trailerSize = 32
)

// bplist is a binary property list being decoded.
type bplist struct {
	data       []byte
	offsetSize int    // bytes per offset-table entry, 1–8
	refSize    int    // bytes per object reference, 1–8
	numObjects uint64 // entries in the offset table
	table      uint64 // where the offset table starts: objects lie in [headerSize, table)
	budget     budget
	path       []uint64 // the arrays and dictionaries being decoded, outermost first
	// strs holds the strings decoded so far by object number: a string
	// reached through many references is copied out (and for UTF-16,
	// decoded) once, so the work stays bounded by the file's size.
	strs map[uint64]string
}

// fail returns an error describing damage to the file.
func fail(format string, args ...any) error {
	return fmt.Errorf("The profile's binary property list is damaged: %s.", fmt.Sprintf(format, args...))
}

// parseBinary parses a binary property list that starts with binaryMagic.
func parseBinary(data []byte) (value, error) {
	if len(data) < headerSize+1+trailerSize {
		return value{}, fail("it is too short to hold a trailer; the file may be truncated")
	}
	t := data[len(data)-trailerSize:]
	p := &bplist{
		data:       data,
		offsetSize: int(t[6]),
		refSize:    int(t[7]),
		numObjects: beUint(t[8:16]),
		table:      beUint(t[24:32]),
	}
	top := beUint(t[16:24])
	tableEnd := uint64(len(data) - trailerSize)
	switch {
	case p.offsetSize < 1 || p.offsetSize > 8 || p.refSize < 1 || p.refSize > 8:
		return value{}, fail("its trailer is malformed; the file may be truncated")
	case p.numObjects == 0:
		return value{}, fail("it holds no objects")
	case top >= p.numObjects:
		return value{}, fail("its top object is not one of its objects")
	case p.table <= uint64(headerSize) || p.table > tableEnd:
		return value{}, fail("its offset table lies outside the file")
	case p.numObjects > (tableEnd-p.table)/uint64(p.offsetSize):
		return value{}, fail("its offset table is shorter than its object count says")
	}
	p.path = make([]uint64, 0, maxDepth)
	return p.object(top, 0)
}

// object decodes object number ref; depth counts the arrays and
// dictionaries around it.
func (p *bplist) object(ref uint64, depth int) (value, error) {
	if err := p.budget.take(1); err != nil {
		return value{}, err
	}
	pos := p.table + ref*uint64(p.offsetSize) // ref < numObjects: within the table
	off := beUint(p.data[pos : pos+uint64(p.offsetSize)])
	if off < uint64(headerSize) || off >= p.table {
		return value{}, fail("object %d lies outside the object area", ref)
	}
	b := p.data[off:p.table] // object ref and whatever follows it
	marker := b[0]
	switch marker >> 4 {
	case 0x0:
		switch marker {
		case 0x00:
			return value{kind: kindNull}, nil
		case 0x08, 0x09:
			return value{kind: kindBool, b: marker == 0x09}, nil
		}
	case 0x1: // integer of 1, 2, 4, 8 or 16 bytes
		if n := marker & 0x0F; n <= 4 && len(b) > 1<<n {
			return value{kind: kindInteger}, nil
		}
		return value{}, fail("the integer in object %d is malformed", ref)
	case 0x2: // real of 4 or 8 bytes
		if n := marker & 0x0F; (n == 2 || n == 3) && len(b) > 1<<n {
			return value{kind: kindReal}, nil
		}
		return value{}, fail("the real number in object %d is malformed", ref)
	case 0x3: // date: 8-byte real, seconds since 2001
		if marker == 0x33 && len(b) > 8 {
			return value{kind: kindDate}, nil
		}
		return value{}, fail("the date in object %d is malformed", ref)
	case 0x4: // data
		if _, _, err := p.count(ref, b, 1); err != nil {
			return value{}, err
		}
		return value{kind: kindData}, nil
	case 0x5, 0x6:
		s, err := p.str(ref, b)
		return value{kind: kindString, s: s}, err
	case 0x8: // UID of 1 to 16 bytes
		if len(b) > int(marker&0x0F)+1 {
			return value{kind: kindUID}, nil
		}
		return value{}, fail("the UID in object %d is malformed", ref)
	case 0xA:
		return p.array(ref, b, depth+1)
	case 0xD:
		return p.dict(ref, b, depth+1)
	}
	return value{}, fail("object %d has a type (marker 0x%02x) that property lists in profiles do not use", ref, marker)
}

// str decodes string object ref, which starts b: ASCII (whose bytes past
// 0x7F are kept, and must form UTF-8 where Check reads them) or UTF-16BE.
func (p *bplist) str(ref uint64, b []byte) (string, error) {
	if s, ok := p.strs[ref]; ok {
		return s, nil
	}
	var s string
	if b[0]>>4 == 0x5 {
		n, rest, err := p.count(ref, b, 1)
		if err != nil {
			return "", err
		}
		s = string(rest[:n])
	} else {
		n, rest, err := p.count(ref, b, 2) // n counts 16-bit units
		if err != nil {
			return "", err
		}
		var ok bool
		if s, ok = decodeUTF16(rest[:2*n]); !ok {
			return "", fail("the UTF-16 string in object %d is malformed", ref)
		}
	}
	if p.strs == nil {
		p.strs = make(map[uint64]string)
	}
	p.strs[ref] = s
	return s, nil
}

// count reads the length that follows a marker (in the marker's low
// nibble, or as an integer object after it) and checks that as many units
// of unit bytes follow. It returns the length and the bytes after it.
func (p *bplist) count(ref uint64, b []byte, unit int) (int, []byte, error) {
	n, rest := uint64(b[0]&0x0F), b[1:]
	if n == 0x0F {
		if len(rest) < 1 || rest[0]>>4 != 0x1 || rest[0]&0x0F > 3 {
			return 0, nil, fail("the length of object %d is malformed", ref)
		}
		size := 1 << (rest[0] & 0x0F)
		if len(rest) < 1+size {
			return 0, nil, fail("the length of object %d runs past the object area", ref)
		}
		n, rest = beUint(rest[1:1+size]), rest[1+size:]
	}
	if n > uint64(len(rest)/unit) {
		return 0, nil, fail("object %d runs past the object area", ref)
	}
	return int(n), rest, nil
}

// ref reads the i'th object reference in b, which holds at least i+1.
func (p *bplist) ref(b []byte, i int) uint64 {
	return beUint(b[i*p.refSize : (i+1)*p.refSize])
}

// enter puts container ref on the path of containers being decoded,
// refusing one that is already on it or one too deep.
func (p *bplist) enter(ref uint64, depth int) error {
	for _, r := range p.path {
		if r == ref {
			return errCycle
		}
	}
	if depth > maxDepth {
		return errTooDeep
	}
	p.path = append(p.path, ref)
	return nil
}

// leave takes the innermost container off the path.
func (p *bplist) leave() { p.path = p.path[:len(p.path)-1] }

// child decodes the object a reference in container ref names.
func (p *bplist) child(ref, r uint64, depth int) (value, error) {
	if r >= p.numObjects {
		return value{}, fail("object %d refers to object %d, which does not exist", ref, r)
	}
	return p.object(r, depth)
}

func (p *bplist) array(ref uint64, b []byte, depth int) (value, error) {
	if err := p.enter(ref, depth); err != nil {
		return value{}, err
	}
	defer p.leave()
	n, rest, err := p.count(ref, b, p.refSize)
	if err != nil {
		return value{}, err
	}
	if n > p.budget.left() {
		return value{}, errTooManyNodes
	}
	// Slices grow as values arrive rather than being sized by n: n is
	// within the budget, but a chain of nested containers could each claim
	// all of what is left.
	v := value{kind: kindArray}
	for i := range n {
		elem, err := p.child(ref, p.ref(rest, i), depth)
		if err != nil {
			return value{}, err
		}
		v.list = append(v.list, elem)
	}
	return v, nil
}

func (p *bplist) dict(ref uint64, b []byte, depth int) (value, error) {
	if err := p.enter(ref, depth); err != nil {
		return value{}, err
	}
	defer p.leave()
	n, rest, err := p.count(ref, b, 2*p.refSize)
	if err != nil {
		return value{}, err
	}
	if n > p.budget.left()/2 {
		return value{}, errTooManyNodes
	}
	v := value{kind: kindDict}
	seen := map[string]struct{}{}
	for i := range n {
		key, err := p.child(ref, p.ref(rest, i), depth)
		if err != nil {
			return value{}, err
		}
		if key.kind != kindString {
			return value{}, fail("a key in object %d is %s, not a string", ref, key.kind)
		}
		if _, dup := seen[key.s]; dup {
			return value{}, fail("the key %q appears twice in object %d", excerpt(key.s), ref)
		}
		seen[key.s] = struct{}{}
		elem, err := p.child(ref, p.ref(rest, n+i), depth)
		if err != nil {
			return value{}, err
		}
		v.keys = append(v.keys, key.s)
		v.list = append(v.list, elem)
	}
	return v, nil
}

// beUint reads a big-endian unsigned integer of up to 8 bytes.
func beUint(b []byte) uint64 {
	var n uint64
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return n
}

// decodeUTF16 decodes big-endian UTF-16, refusing unpaired surrogates.
func decodeUTF16(b []byte) (string, bool) {
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i += 2 {
		r := rune(b[i])<<8 | rune(b[i+1])
		switch {
		case utf16.IsSurrogate(r) && r < 0xDC00 && i+3 < len(b):
			r2 := rune(b[i+2])<<8 | rune(b[i+3])
			r = utf16.DecodeRune(r, r2)
			if r == utf8.RuneError {
				return "", false
			}
			i += 2
		case utf16.IsSurrogate(r):
			return "", false
		}
		out = utf8.AppendRune(out, r)
	}
	return string(out), true
}
