package store

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"
)

// bbolt maps the file into memory and trusts its meta pages; a page number
// past the end of a truncated file makes the process die of SIGBUS, which no
// recover catches. precheck reads the meta and freelist pages with plain
// reads first and refuses a file whose pages point past its end.

const (
	boltMagic       = 0xED0CDAED
	boltVersion     = 2
	pageHeaderSize  = 16
	metaSize        = 64 // up to and including the checksum
	noFreelist      = ^uint64(0)
	freelistFlag    = 0x10
	maxPageSize     = 64 << 10
	minPageSize     = 512
	countOverflowed = 0xFFFF
)

type meta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	hwm      uint64 // high-water mark: pages in use
	txid     uint64
}

// parseMeta decodes the meta page at b (a whole page, header included).
func parseMeta(b []byte) (meta, bool) {
	if len(b) < pageHeaderSize+metaSize {
		return meta{}, false
	}
	m := b[pageHeaderSize : pageHeaderSize+metaSize]
	le := binary.LittleEndian
	if le.Uint32(m[0:]) != boltMagic || le.Uint32(m[4:]) != boltVersion {
		return meta{}, false
	}
	h := fnv.New64a()
	h.Write(m[:56])
	if h.Sum64() != le.Uint64(m[56:]) {
		return meta{}, false
	}
	return meta{
		pageSize: le.Uint32(m[8:]),
		root:     le.Uint64(m[16:]),
		freelist: le.Uint64(m[32:]),
		hwm:      le.Uint64(m[40:]),
		txid:     le.Uint64(m[48:]),
	}, true
}

// precheck validates the file at path before bbolt opens it. An empty or
// missing file is fine (bbolt creates it).
func precheck(path string) error {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	size := fi.Size()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("store %s: %w (%s)", path, ErrCorrupt, fmt.Sprintf(format, args...))
	}
	if size == 0 {
		return bad("the file is empty: restore a backup, or move it away to start a new box")
	}
	readAt := func(off, n int64) ([]byte, error) {
		b := make([]byte, n)
		if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
			return nil, err
		}
		return b, nil
	}
	first, err := readAt(0, pageHeaderSize+metaSize)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	m0, ok0 := parseMeta(first)
	pageSize := int64(4096)
	if ok0 {
		pageSize = int64(m0.pageSize)
	}
	if pageSize < minPageSize || pageSize > maxPageSize || pageSize&(pageSize-1) != 0 {
		return bad("page size %d", pageSize)
	}
	second, err := readAt(pageSize, pageHeaderSize+metaSize)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	m1, ok1 := parseMeta(second)
	var m meta
	switch {
	case ok0 && ok1 && m1.txid > m0.txid, !ok0 && ok1:
		m = m1
	case ok0:
		m = m0
	default:
		return bad("no valid meta page")
	}
	if int64(m.pageSize) != pageSize {
		return bad("meta pages disagree on the page size")
	}
	if m.hwm < 4 || m.hwm > uint64(size)/uint64(pageSize) {
		return bad("the file has %d bytes but its pages reach %d×%d bytes: it is truncated", size, m.hwm, pageSize)
	}
	if m.root < 2 || m.root >= m.hwm {
		return bad("root page %d is out of range", m.root)
	}
	if m.freelist != noFreelist {
		if m.freelist < 2 || m.freelist >= m.hwm {
			return bad("freelist page %d is out of range", m.freelist)
		}
		hdr, err := readAt(int64(m.freelist)*pageSize, pageHeaderSize+8)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		le := binary.LittleEndian
		flags, count, overflow := le.Uint16(hdr[8:]), uint64(le.Uint16(hdr[10:])), uint64(le.Uint32(hdr[12:]))
		if flags&freelistFlag == 0 {
			return bad("page %d is not a freelist page", m.freelist)
		}
		if m.freelist+overflow >= m.hwm {
			return bad("freelist runs past the last page")
		}
		room := (overflow+1)*uint64(pageSize) - pageHeaderSize
		if count == countOverflowed {
			count = le.Uint64(hdr[16:]) + 1
		}
		if count*8 > room {
			return bad("freelist claims %d entries in %d bytes", count, room)
		}
	}
	w := &walker{f: f, pageSize: pageSize, hwm: m.hwm, seen: map[uint64]bool{}}
	if err := w.tree(m.root, 0); err != nil {
		return bad("%v", err)
	}
	return nil
}

// Page flags and element sizes of the bbolt file format.
const (
	branchFlag      = 0x01
	leafFlag        = 0x02
	bucketLeafFlag  = 0x01
	elementSize     = 16
	inBucketSize    = 16
	maxTreeDepth    = 64
	maxVisitedPages = 1 << 24
)

// walker checks every page of the tree with bounds-checked plain reads, so
// that bbolt never meets a page that points outside the file or outside
// itself. (bbolt's own Tx.Check dereferences such pointers and can crash
// the process on a damaged file.)
type walker struct {
	f        *os.File
	pageSize int64
	hwm      uint64
	seen     map[uint64]bool
}

func (w *walker) page(id uint64) ([]byte, error) {
	if id < 2 || id >= w.hwm {
		return nil, fmt.Errorf("page %d is out of range", id)
	}
	if w.seen[id] {
		return nil, fmt.Errorf("page %d is reachable twice", id)
	}
	if len(w.seen) > maxVisitedPages {
		return nil, fmt.Errorf("too many pages")
	}
	w.seen[id] = true
	hdr := make([]byte, pageHeaderSize)
	if _, err := w.f.ReadAt(hdr, int64(id)*w.pageSize); err != nil {
		return nil, fmt.Errorf("page %d: %v", id, err)
	}
	overflow := uint64(binary.LittleEndian.Uint32(hdr[12:]))
	if id+overflow >= w.hwm {
		return nil, fmt.Errorf("page %d runs past the last page", id)
	}
	for o := uint64(1); o <= overflow; o++ {
		w.seen[id+o] = true
	}
	b := make([]byte, int64(overflow+1)*w.pageSize)
	if _, err := w.f.ReadAt(b, int64(id)*w.pageSize); err != nil {
		return nil, fmt.Errorf("page %d: %v", id, err)
	}
	if binary.LittleEndian.Uint64(b) != id {
		return nil, fmt.Errorf("page %d is labelled %d", id, binary.LittleEndian.Uint64(b))
	}
	return b, nil
}

// tree checks the bucket tree whose root page is id.
func (w *walker) tree(id uint64, depth int) error {
	if depth > maxTreeDepth {
		return fmt.Errorf("tree deeper than %d", maxTreeDepth)
	}
	b, err := w.page(id)
	if err != nil {
		return err
	}
	return w.node(b, depth)
}

// node checks one branch or leaf page image b (header included).
func (w *walker) node(b []byte, depth int) error {
	le := binary.LittleEndian
	if len(b) < pageHeaderSize {
		return fmt.Errorf("page shorter than its header")
	}
	flags, count := le.Uint16(b[8:]), int(le.Uint16(b[10:]))
	if pageHeaderSize+count*elementSize > len(b) {
		return fmt.Errorf("page claims %d elements in %d bytes", count, len(b))
	}
	for i := range count {
		e := pageHeaderSize + i*elementSize
		switch {
		case flags&branchFlag != 0:
			pos, ksize := int(le.Uint32(b[e:])), int(le.Uint32(b[e+4:]))
			if pos < 0 || ksize < 0 || e+pos+ksize > len(b) || e+pos < e {
				return fmt.Errorf("branch element %d points outside its page", i)
			}
			if err := w.tree(le.Uint64(b[e+8:]), depth+1); err != nil {
				return err
			}
		case flags&leafFlag != 0:
			eflags := le.Uint32(b[e:])
			pos, ksize, vsize := int(le.Uint32(b[e+4:])), int(le.Uint32(b[e+8:])), int(le.Uint32(b[e+12:]))
			end := e + pos + ksize + vsize
			if pos < 0 || ksize < 0 || vsize < 0 || end > len(b) || end < e {
				return fmt.Errorf("leaf element %d points outside its page", i)
			}
			if eflags&bucketLeafFlag == 0 {
				continue
			}
			v := b[e+pos+ksize : end]
			if len(v) < inBucketSize {
				return fmt.Errorf("bucket header too short")
			}
			if root := le.Uint64(v); root != 0 {
				if err := w.tree(root, depth+1); err != nil {
					return err
				}
			} else if err := w.node(v[inBucketSize:], depth+1); err != nil {
				return err
			}
		default:
			return fmt.Errorf("page is neither branch nor leaf (flags %#x)", flags)
		}
	}
	return nil
}
