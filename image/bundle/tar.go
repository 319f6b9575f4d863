package bundle

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// The bundle reader parses ustar headers itself instead of using
// archive/tar: it needs the offset of each entry's data, and it accepts only
// the small subset Write produces (plain ustar, regular files, bare names),
// so that anything else is refused rather than interpreted.

// ustar header fields (offset, length).
var (
	fName     = [2]int{0, 100}
	fSize     = [2]int{124, 12}
	fChksum   = [2]int{148, 8}
	fType     = [2]int{156, 1}
	fLinkname = [2]int{157, 100}
	fMagic    = [2]int{257, 8} // "ustar\x00" and version "00"
	fPrefix   = [2]int{345, 155}
)

type tarReader struct {
	r    io.ReaderAt
	size int64
	off  int64 // offset of the next header
	seen map[string]bool
}

// header is one parsed entry: its name and where its data lies.
type header struct {
	name      string
	off, size int64
}

func field(b []byte, f [2]int) []byte { return b[f[0] : f[0]+f[1]] }

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func padded(n int64) int64 { return (n + block - 1) &^ (block - 1) }

func (t *tarReader) readAt(p []byte, off int64, what string) error {
	if off < 0 || off > t.size || int64(len(p)) > t.size-off {
		return fmt.Errorf("%w: bundle is truncated (%s ends beyond its %d bytes)", ErrInvalid, what, t.size)
	}
	n, err := t.r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	return fmt.Errorf("%w: reading %s: %v", ErrInvalid, what, err)
}

// next parses the header at the current offset; index counts entries from 0.
func (t *tarReader) next(index int) (header, error) {
	var b [block]byte
	if err := t.readAt(b[:], t.off, fmt.Sprintf("header of entry %d", index+1)); err != nil {
		return header{}, err
	}
	if isZero(b[:]) {
		return header{}, fmt.Errorf("%w: archive ends after %d entries, want %d", ErrInvalid, index, 2+len(Payloads))
	}
	h, err := parseHeader(b[:], index)
	if err != nil {
		return header{}, err
	}
	h.off = t.off + block
	if h.size > t.size-h.off {
		return header{}, fmt.Errorf("%w: bundle is truncated: %s needs %d bytes, %d are left", ErrInvalid, h.name, h.size, t.size-h.off)
	}
	return h, nil
}

// parseHeader checks one ustar header block and returns the entry's name and size.
func parseHeader(b []byte, index int) (header, error) {
	bad := func(format string, args ...any) (header, error) {
		return header{}, fmt.Errorf("%w: entry %d: "+format, append([]any{ErrInvalid, index + 1}, args...)...)
	}
	want, err := octal(field(b, fChksum))
	if err != nil {
		return bad("bad header checksum field (not a tar archive?)")
	}
	var sum int64
	for i, c := range b {
		if i >= fChksum[0] && i < fChksum[0]+fChksum[1] {
			c = ' '
		}
		sum += int64(c)
	}
	if sum != want {
		return bad("header checksum mismatch (not a tar archive, or damaged)")
	}
	if string(field(b, fMagic)) != "ustar\x0000" {
		return bad("not a POSIX ustar header")
	}
	name, ok := cString(field(b, fName))
	if !ok || name == "" {
		return bad("malformed name")
	}
	if typ := b[fType[0]]; typ != '0' && typ != 0 {
		return bad("%q is not a regular file (type %q)", name, typ)
	}
	if !isZero(field(b, fPrefix)) || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return bad("%q: paths are not allowed, only bare file names", name)
	}
	if !isZero(field(b, fLinkname)) {
		return bad("%q has a link name", name)
	}
	size, err := octal(field(b, fSize))
	if err != nil {
		return bad("%q: bad size field", name)
	}
	return header{name: name, size: size}, nil
}

// cString returns the NUL-terminated string in b; the bytes after the NUL
// must all be NUL.
func cString(b []byte) (string, bool) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return string(b), true
	}
	return string(b[:i]), isZero(b[i:])
}

// octal parses a ustar number: octal digits ended by NULs or spaces.
func octal(b []byte) (int64, error) {
	s := strings.TrimRight(string(b), " \x00")
	s = strings.TrimLeft(s, " ")
	if s == "" || len(s) > 11 {
		return 0, fmt.Errorf("bad number")
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '7' {
			return 0, fmt.Errorf("bad number")
		}
		n = n<<3 | int64(c-'0')
	}
	return n, nil
}

// expect checks that h is the entry named want at position index.
func (t *tarReader) expect(h header, index int, want string) error {
	if t.seen == nil {
		t.seen = map[string]bool{}
	}
	defer func() { t.seen[h.name] = true }()
	switch {
	case h.name == want && !t.seen[h.name]:
		return nil
	case t.seen[h.name]:
		return fmt.Errorf("%w: duplicate entry %s", ErrInvalid, h.name)
	case h.name == NameManifest || h.name == NameSignature || isPayload(h.name):
		return fmt.Errorf("%w: entry %d is %s, want %s: entries out of order", ErrInvalid, index+1, h.name, want)
	}
	return fmt.Errorf("%w: unexpected entry %q, want %s", ErrInvalid, h.name, want)
}

// skip moves past h's data and its padding.
func (t *tarReader) skip(h header) {
	t.off = h.off + padded(h.size)
}

// small reads a whole entry of at most max bytes.
func (t *tarReader) small(index int, name string, max int64) ([]byte, error) {
	h, err := t.next(index)
	if err != nil {
		if index == 1 {
			return nil, fmt.Errorf("%w (is the bundle signed?)", err)
		}
		return nil, err
	}
	if err := t.expect(h, index, name); err != nil {
		if index == 1 {
			return nil, fmt.Errorf("%w (is the bundle signed?)", err)
		}
		return nil, err
	}
	if h.size > max {
		return nil, fmt.Errorf("%w: %s has %d bytes, at most %d allowed", ErrInvalid, name, h.size, max)
	}
	data := make([]byte, h.size)
	if err := t.readAt(data, h.off, name); err != nil {
		return nil, err
	}
	t.skip(h)
	return data, nil
}

// end checks the two zero blocks that end the archive and that nothing but
// zero padding (at most MaxPadding bytes) follows them.
func (t *tarReader) end() error {
	var b [2 * block]byte
	if t.off >= t.size {
		return fmt.Errorf("%w: bundle is truncated: the end-of-archive blocks are missing", ErrInvalid)
	}
	if t.size-t.off < int64(len(b)) {
		if err := t.readAt(b[:t.size-t.off], t.off, "end of archive"); err != nil {
			return err
		}
		if !isZero(b[:block]) {
			return t.extra(b[:block])
		}
		return fmt.Errorf("%w: bundle is truncated: the end-of-archive blocks are missing", ErrInvalid)
	}
	if err := t.readAt(b[:], t.off, "end of archive"); err != nil {
		return err
	}
	if !isZero(b[:block]) {
		return t.extra(b[:block])
	}
	if !isZero(b[block:]) {
		return fmt.Errorf("%w: data after the end of the archive", ErrInvalid)
	}
	rest := t.size - t.off - int64(len(b))
	if rest > MaxPadding {
		return fmt.Errorf("%w: %d bytes after the end of the archive", ErrInvalid, rest)
	}
	pad := make([]byte, rest)
	if err := t.readAt(pad, t.off+int64(len(b)), "padding"); err != nil {
		return err
	}
	if !isZero(pad) {
		return fmt.Errorf("%w: data after the end of the archive", ErrInvalid)
	}
	return nil
}

func (t *tarReader) extra(b []byte) error {
	h, err := parseHeader(b, 2+len(Payloads))
	if err == nil {
		return fmt.Errorf("%w: extra entry %q after %s", ErrInvalid, h.name, NameRoot)
	}
	return fmt.Errorf("data after %s where the archive should end: %w", NameRoot, err)
}
