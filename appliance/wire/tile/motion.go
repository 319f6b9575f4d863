package tile

import (
	"bytes"
	"slices"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

// Moved regions. A window dragged or a page scrolled changes many tiles
// whose new content was already on the viewers' screen a few pixels away.
// Tiler finds such regions in three steps:
//
//  1. Anchors: from changed tiles spread over the frame, a short run of
//     pixels that is not flat (a piece of text or picture) and differs
//     from the picture at the same place.
//  2. Search: each row of the picture under the changed tiles is hashed
//     with a rolling hash over runs of anchorLen pixels; a run equal to an
//     anchor votes for the vector from there to the anchor. Anchors found
//     in many places (a repeated pattern) do not vote.
//  3. Verify: for the vectors with most votes, the changed tiles that are
//     exactly the picture shifted by the vector are merged into
//     rectangles, each grown pixel by pixel to the edges of what moved
//     (a window's border rarely falls on the tile grid) and checked again
//     against the picture as the copies before it left it. Each becomes a
//     Copy, applied to the Tiler's picture as the viewer will apply it.
//
// Only exact matches are sent, so a copy can never make the picture wrong;
// what the copies do not cover goes as tiles, as before.
const (
	anchorLen     = 16 // pixels in an anchor run
	maxAnchors    = 48
	maxAnchorHits = 8    // an anchor found more often than this does not vote
	maxVectors    = 4    // vectors verified per frame
	minMovedTiles = 4    // fewer changed tiles are cheaper to send as tiles
	maxGrow       = 1024 // pixels a rectangle may grow on each side
	hashBase      = 0x100000001b3
	bloomBits     = 1 << 12
)

type anchor struct {
	hash uint64
	x, y int
	hits int
}

type vector struct{ dx, dy int }

type vote struct {
	v     vector
	count int
}

// motion is the Tiler's scratch space for finding moves.
type motion struct {
	dirty   []int32
	anchors []anchor
	bloom   [bloomBits / 64]uint64
	table   map[uint64][]int // hash → anchors
	hits    []vectorHit
	votes   map[vector]int
	ranked  []vote
	matched []bool // per tile
	rects   []rect
	seeds   []rect
	spans   []span // per tile row: the columns of changed tiles
}

type vectorHit struct {
	anchor int
	v      vector
}

type rect struct{ x0, y0, x1, y1 int } // pixels, half-open

type span struct{ c0, c1 int } // tile columns, half-open; c0 > c1: none

// pixel is an RGB pixel as a number for the rolling hash; +1 keeps black
// from hashing like nothing.
func pixel(b []byte, i int) uint64 {
	return uint64(b[i])<<16 | uint64(b[i+1])<<8 | uint64(b[i+2]) + 1
}

// runHash hashes anchorLen pixels from b[i:].
func runHash(b []byte, i int) uint64 {
	var h uint64
	for k := range anchorLen {
		h = h*hashBase + pixel(b, i+3*k)
	}
	return h
}

// varied reports whether a run has at least three changes of colour: flat
// runs and lone edges match in too many places.
func varied(b []byte) bool {
	changes := 0
	for i := 3; i < len(b); i += 3 {
		if b[i] != b[i-3] || b[i+1] != b[i-2] || b[i+2] != b[i-1] {
			changes++
		}
	}
	return changes >= 3
}

// moves finds regions of frame that moved within the picture, sends them
// with copy and applies them to the picture. It returns how many it sent.
func (t *Tiler) moves(frame []byte, cols int, dirty []int32, copy CopyFunc) (int, error) {
	m := &t.m
	if !t.findAnchors(frame, cols, dirty) {
		return 0, nil
	}
	t.search(frame, cols, dirty)
	if len(m.ranked) == 0 {
		return 0, nil
	}
	rows := (t.h + TileSize - 1) / TileSize
	if len(m.matched) != cols*rows {
		m.matched = make([]bool, cols*rows)
	}
	sent := 0
	for _, vt := range m.ranked {
		v := vt.v
		clear(m.matched)
		any := false
		for _, i := range dirty {
			x, y := int(i)%cols*TileSize, int(i)/cols*TileSize
			r := rect{x, y, min(x+TileSize, t.w), min(y+TileSize, t.h)}
			if t.differs(frame, r) && t.shifted(frame, r, v) {
				m.matched[i] = true
				any = true
			}
		}
		if !any && m.count(v) == 0 {
			continue
		}
		// The tiles that moved whole, then what is left around the
		// anchors that voted for v (a window smaller than a tile, or cut
		// by the tile grid).
		seeds := append(m.seeds[:0], t.rectangles(cols, rows)...)
		for _, hv := range m.hits {
			if a := m.anchors[hv.anchor]; hv.v == v && a.hits <= maxAnchorHits {
				seeds = append(seeds, rect{a.x, a.y, a.x + anchorLen, a.y + 1})
			}
		}
		m.seeds = seeds
		for _, r := range seeds {
			if !t.differs(frame, r) {
				continue // an earlier copy covered it
			}
			r = t.grow(frame, r, v)
			if !t.shifted(frame, r, v) { // an earlier copy changed its source
				continue
			}
			c := wire.Copy{SrcX: uint16(r.x0 - v.dx), SrcY: uint16(r.y0 - v.dy), DstX: uint16(r.x0), DstY: uint16(r.y0),
				W: uint16(r.x1 - r.x0), H: uint16(r.y1 - r.y0)}
			if err := copy(c); err != nil {
				return sent, err
			}
			sent++
			Move(t.prev, t.w, c)
		}
	}
	return sent, nil
}

// findAnchors picks anchors from the dirty tiles and indexes them; it
// reports whether it found any.
func (t *Tiler) findAnchors(frame []byte, cols int, dirty []int32) bool {
	m := &t.m
	m.anchors = m.anchors[:0]
	clear(m.bloom[:])
	if m.table == nil {
		m.table = map[uint64][]int{}
	}
	clear(m.table)
	stride := t.w * 3
	step := max(1, len(dirty)/maxAnchors)
	for k := 0; k < len(dirty) && len(m.anchors) < maxAnchors; k += step {
		i := int(dirty[k])
		x, y := i%cols*TileSize, i/cols*TileSize
		w, h := min(TileSize, t.w-x), min(TileSize, t.h-y)
		if w < anchorLen {
			continue
		}
	find:
		for k := range h { // every row, from the middle, in a spread order
			r := y + (h/2+k*37)%h
			for _, xo := range [...]int{(w - anchorLen) / 2, 0, w - anchorLen} {
				o := r*stride + (x+xo)*3
				run := frame[o : o+anchorLen*3]
				if !varied(run) || bytes.Equal(run, t.prev[o:o+anchorLen*3]) {
					continue
				}
				h := runHash(frame, o)
				m.table[h] = append(m.table[h], len(m.anchors))
				m.anchors = append(m.anchors, anchor{hash: h, x: x + xo, y: r})
				m.bloom[(h>>52)/64] |= 1 << ((h >> 52) % 64)
				break find
			}
		}
	}
	return len(m.anchors) > 0
}

// search hashes the picture's rows under the dirty tiles and ranks the
// vectors that anchors vote for.
func (t *Tiler) search(frame []byte, cols int, dirty []int32) {
	m := &t.m
	rows := (t.h + TileSize - 1) / TileSize
	m.spans = slices.Grow(m.spans[:0], rows)[:rows]
	for i := range m.spans {
		m.spans[i] = span{cols, -1}
	}
	for _, i := range dirty {
		s := &m.spans[int(i)/cols]
		s.c0, s.c1 = min(s.c0, int(i)%cols), max(s.c1, int(i)%cols+1)
	}
	m.hits = m.hits[:0]
	stride := t.w * 3
	var pow uint64 = 1 // hashBase^anchorLen
	for range anchorLen {
		pow *= hashBase
	}
	for ty, s := range m.spans {
		if s.c0 >= s.c1 {
			continue
		}
		x0 := s.c0 * TileSize
		x1 := min(s.c1*TileSize+anchorLen, t.w) // runs may start up to the last column
		if x1-x0 < anchorLen {
			continue
		}
		for y := ty * TileSize; y < min((ty+1)*TileSize, t.h); y++ {
			row := t.prev[y*stride : (y+1)*stride]
			h := runHash(row, x0*3)
			for x := x0; ; x++ {
				if m.bloom[(h>>52)/64]&(1<<((h>>52)%64)) != 0 {
					t.hit(frame, row, x, y, h)
				}
				if x+anchorLen >= x1 {
					break
				}
				h = h*hashBase + pixel(row, (x+anchorLen)*3) - pixel(row, x*3)*pow
			}
		}
	}
	if m.votes == nil {
		m.votes = map[vector]int{}
	}
	clear(m.votes)
	for _, hv := range m.hits {
		if m.anchors[hv.anchor].hits <= maxAnchorHits {
			m.votes[hv.v]++
		}
	}
	m.ranked = m.ranked[:0]
	for v, n := range m.votes {
		m.ranked = append(m.ranked, vote{v, n})
	}
	slices.SortFunc(m.ranked, func(a, b vote) int {
		if a.count != b.count {
			return b.count - a.count
		}
		if a.v.dy != b.v.dy { // a stable order for equal votes
			return a.v.dy - b.v.dy
		}
		return a.v.dx - b.v.dx
	})
	if len(m.ranked) > maxVectors {
		m.ranked = m.ranked[:maxVectors]
	}
}

// hit records the anchors whose run equals the picture's run at x,y.
func (t *Tiler) hit(frame, row []byte, x, y int, h uint64) {
	m := &t.m
	stride := t.w * 3
	for _, a := range m.table[h] {
		an := &m.anchors[a]
		o := an.y*stride + an.x*3
		if !bytes.Equal(frame[o:o+anchorLen*3], row[x*3:(x+anchorLen)*3]) {
			continue // a hash collision
		}
		an.hits++
		if an.hits > maxAnchorHits {
			continue
		}
		m.hits = append(m.hits, vectorHit{a, vector{an.x - x, an.y - y}})
	}
}

// shifted reports whether frame's rectangle r equals the picture's
// rectangle r moved back by v (which must lie inside the screen).
func (t *Tiler) shifted(frame []byte, r rect, v vector) bool {
	sx, sy := r.x0-v.dx, r.y0-v.dy
	if sx < 0 || sy < 0 || sx+r.x1-r.x0 > t.w || sy+r.y1-r.y0 > t.h {
		return false
	}
	stride := t.w * 3
	n := (r.x1 - r.x0) * 3
	for y := r.y0; y < r.y1; y++ {
		d := y*stride + r.x0*3
		s := (y-v.dy)*stride + sx*3
		if !bytes.Equal(frame[d:d+n], t.prev[s:s+n]) {
			return false
		}
	}
	return true
}

// count returns how many anchors vote for v.
func (m *motion) count(v vector) int {
	n := 0
	for _, hv := range m.hits {
		if hv.v == v && m.anchors[hv.anchor].hits <= maxAnchorHits {
			n++
		}
	}
	return n
}

// differs reports whether frame's rectangle r differs from the picture.
func (t *Tiler) differs(frame []byte, r rect) bool {
	return !t.shifted(frame, r, vector{})
}

// rectangles merges the matched tiles into rectangles: runs of tiles in a
// row, stacked while the rows below have the same run.
func (t *Tiler) rectangles(cols, rows int) []rect {
	m := &t.m
	m.rects = m.rects[:0]
	for ty := range rows {
		for tx := 0; tx < cols; {
			if !m.matched[ty*cols+tx] {
				tx++
				continue
			}
			end := tx
			for end < cols && m.matched[ty*cols+end] {
				end++
			}
			bottom := ty + 1
			for bottom < rows && fullRun(m.matched[bottom*cols:(bottom+1)*cols], tx, end) {
				bottom++
			}
			for r := ty; r < bottom; r++ {
				clear(m.matched[r*cols+tx : r*cols+end])
			}
			m.rects = append(m.rects, rect{tx * TileSize, ty * TileSize, min(end*TileSize, t.w), min(bottom*TileSize, t.h)})
			tx = end
		}
	}
	return m.rects
}

// fullRun reports whether row[c0:c1] are all set and the run ends there.
func fullRun(row []bool, c0, c1 int) bool {
	for c := c0; c < c1; c++ {
		if !row[c] {
			return false
		}
	}
	return (c0 == 0 || !row[c0-1]) && (c1 == len(row) || !row[c1])
}

// grow extends r, a row or column at a time on each side in turn and at
// most maxGrow pixels on each, while frame there is still the picture
// moved by v.
func (t *Tiler) grow(frame []byte, r rect, v vector) rect {
	var grown [4]int
	for {
		moved := false
		if grown[0] < maxGrow && r.y0 > 0 && t.shifted(frame, rect{r.x0, r.y0 - 1, r.x1, r.y0}, v) {
			r.y0--
			grown[0]++
			moved = true
		}
		if grown[1] < maxGrow && r.y1 < t.h && t.shifted(frame, rect{r.x0, r.y1, r.x1, r.y1 + 1}, v) {
			r.y1++
			grown[1]++
			moved = true
		}
		if grown[2] < maxGrow && r.x0 > 0 && t.shifted(frame, rect{r.x0 - 1, r.y0, r.x0, r.y1}, v) {
			r.x0--
			grown[2]++
			moved = true
		}
		if grown[3] < maxGrow && r.x1 < t.w && t.shifted(frame, rect{r.x1, r.y0, r.x1 + 1, r.y1}, v) {
			r.x1++
			grown[3]++
			moved = true
		}
		if !moved {
			return r
		}
	}
}

// Move applies c to px, a picture w pixels wide (RGB), as a viewer does:
// the source is read whole before the destination is written. c must lie
// inside the picture (Picture.Apply checks).
func Move(px []byte, w int, c wire.Copy) {
	stride := w * 3
	n := int(c.W) * 3
	sy, dy, h := int(c.SrcY), int(c.DstY), int(c.H)
	row := func(r int) {
		s := (sy+r)*stride + int(c.SrcX)*3
		d := (dy+r)*stride + int(c.DstX)*3
		copy(px[d:d+n], px[s:s+n]) // copy handles a row overlapping itself
	}
	if dy > sy { // moving down: bottom rows first, before they are overwritten
		for r := h - 1; r >= 0; r-- {
			row(r)
		}
		return
	}
	for r := range h {
		row(r)
	}
}
