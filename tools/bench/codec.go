package main

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/wire"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/switchboardhq/switchboard/appliance/wire/tile"
)

// The codec suite measures the support client's tile codec on a synthetic
// 1920×1080 desktop: a flat background, windows with title bars and
// text-like glyphs, and a photo-like area (a gradient with noise). For
// typical changes (typing a line, moving a window, scrolling a region) it
// reports the bytes of the changed tiles against the whole frame
// deflated (the baseline: what sending the screen without tiles would
// cost) and the time to diff and encode each change, copies of moved
// regions included; it also times a full
// frame (every tile, as for a viewer who joins).

const (
	deskW, deskH = 1920, 1080
	codecRounds  = 12 // timed repetitions of each change
	glyphW       = 8
	glyphH       = 16
)

// desk is a synthetic desktop that can be drawn with changes.
type desk struct {
	px     []byte
	glyphs [][glyphW * glyphH]bool
	noise  []byte
}

func newDesk() *desk {
	r := rand.New(rand.NewPCG(6, 7))
	d := &desk{px: make([]byte, deskW*deskH*3)}
	// 64 glyph shapes: a few strokes each, like letters.
	for range 64 {
		var g [glyphW * glyphH]bool
		for range 3 + r.IntN(3) {
			x0, y0 := 1+r.IntN(5), 3+r.IntN(9)
			horiz := r.IntN(2) == 0
			for k := range 2 + r.IntN(5) {
				x, y := x0, y0+k
				if horiz {
					x, y = x0+k, y0
				}
				if x < glyphW-1 && y < glyphH-2 {
					g[y*glyphW+x] = true
				}
			}
		}
		d.glyphs = append(d.glyphs, g)
	}
	d.noise = make([]byte, 512*384)
	for i := range d.noise {
		d.noise[i] = uint8(r.IntN(24))
	}
	return d
}

func (d *desk) fill(x, y, w, h int, c [3]uint8) {
	for yy := max(y, 0); yy < min(y+h, deskH); yy++ {
		for xx := max(x, 0); xx < min(x+w, deskW); xx++ {
			copy(d.px[(yy*deskW+xx)*3:], c[:])
		}
	}
}

// text writes n glyphs from seed at x,y in colour c.
func (d *desk) text(x, y, n int, seed uint64, c [3]uint8) {
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range n {
		gx := x + i*glyphW
		if r.IntN(7) == 0 { // spaces between words
			continue
		}
		g := &d.glyphs[r.IntN(len(d.glyphs))]
		for yy := range glyphH {
			for xx := range glyphW {
				if g[yy*glyphW+xx] && gx+xx < deskW && y+yy < deskH && gx+xx >= 0 && y+yy >= 0 {
					copy(d.px[((y+yy)*deskW+gx+xx)*3:], c[:])
				}
			}
		}
	}
}

// window draws a window with a title bar and its content area.
func (d *desk) window(x, y, w, h int, title string) {
	d.fill(x-1, y-1, w+2, h+2, [3]uint8{60, 60, 70})
	d.fill(x, y, w, 28, [3]uint8{48, 104, 176})
	d.text(x+10, y+6, len(title), uint64(len(title)), [3]uint8{255, 255, 255})
	d.fill(x, y+28, w, h-28, [3]uint8{250, 250, 250})
}

// editor is a text window whose lines start at line first and show typed
// lines of the last one.
func (d *desk) editor(x, y, w, h, first, lines, typed int) {
	d.window(x, y, w, h, "notes.txt - Editor")
	rows := (h - 40) / 18
	for i := range min(rows, lines-first) {
		n := (w - 20) / glyphW
		if first+i == lines-1 {
			n = typed
		}
		d.text(x+10, y+36+i*18, n, uint64(first+i), [3]uint8{20, 20, 20})
	}
}

// photo draws a photo-like picture (gradients and noise) at x,y.
func (d *desk) photo(x, y int) {
	const w, h = 512, 384
	for yy := range h {
		for xx := range w {
			n := d.noise[yy*w+xx]
			c := [3]uint8{uint8(40 + xx*150/w + int(n)), uint8(90 + yy*120/h + int(n)), uint8(160 - (xx+yy)*100/(w+h) + int(n))}
			copy(d.px[((y+yy)*deskW+x+xx)*3:], c[:])
		}
	}
}

// scene is the desktop state that changes.
type scene struct {
	termX, termY   int // the terminal window
	photoX, photoY int // the photo viewer window
	first          int // first line shown in the terminal
	typed          int // glyphs typed on the editor's last line
}

func (d *desk) draw(s scene) []byte {
	d.fill(0, 0, deskW, deskH, [3]uint8{36, 52, 71})
	d.fill(0, deskH-40, deskW, 40, [3]uint8{30, 30, 30}) // panel
	d.text(deskW-90, deskH-28, 8, 99, [3]uint8{220, 220, 220})
	d.editor(80, 60, 900, 600, 0, 30, s.typed)
	d.window(s.termX, s.termY, 780, 480, "Terminal")
	for i := range 24 {
		d.text(s.termX+10, s.termY+36+i*18, 90, uint64(1000+s.first+i), [3]uint8{30, 30, 30})
	}
	d.window(s.photoX, s.photoY, 640, 440, "Photos - holiday.jpg")
	d.photo(s.photoX+64, s.photoY+44)
	return bytes.Clone(d.px)
}

func runCodec(ctx context.Context, cfg config) (Result, error) {
	d := newDesk()
	base := scene{termX: 1040, termY: 80, photoX: 1150, photoY: 590, typed: 40}
	start := d.draw(base)
	with := func(f func(s *scene)) scene { s := base; f(&s); return s }
	changes := []struct {
		name string
		next scene
		goal string
	}{
		{"type a line", with(func(s *scene) { s.typed = 100 }), "<= 0.1x"},
		{"move a text window", with(func(s *scene) { s.termX, s.termY = s.termX-37, s.termY+23 }), "<= 0.02x"},
		{"move the photo window", with(func(s *scene) { s.photoX, s.photoY = s.photoX-37, s.photoY-23 }), "<= 0.02x"},
		{"scroll a region", with(func(s *scene) { s.first = 1 }), "<= 0.02x"},
	}

	var res Result
	// Baseline: the whole frame deflated, every time.
	var zbuf bytes.Buffer
	var baseLat []time.Duration
	var baseBytes int
	for range codecRounds / 2 {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		t0 := time.Now()
		zbuf.Reset()
		zw, _ := zlib.NewWriterLevel(&zbuf, zlib.DefaultCompression)
		zw.Write(start)
		zw.Close()
		baseLat = append(baseLat, time.Since(t0))
		baseBytes = zbuf.Len()
	}
	baseline := codecTarget("baseline: deflate full frame", baseLat)
	res.Targets = append(res.Targets, baseline)

	for _, ch := range changes {
		next := d.draw(ch.next)
		tl := tile.NewTiler(deskW, deskH)
		if _, err := tl.Changed(start, true, nil, discard); err != nil {
			return res, err
		}
		var lat []time.Duration
		var tiles, size, copies, firstCopies int
		frames := [2][]byte{next, start}
		for i := range codecRounds {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			n, b := 0, 0
			if i == 0 {
				copies = 0
			}
			t0 := time.Now()
			_, err := tl.Changed(frames[i%2], false, func(c wire.Copy) error {
				copies++
				b += wire.HeaderLen + 12
				return nil
			}, func(x, y, w, h int, enc uint8, data []byte) error {
				n++
				b += wire.HeaderLen + 9 + len(data) // frame and tile headers, data
				return nil
			})
			lat = append(lat, time.Since(t0))
			if err != nil {
				return res, err
			}
			if i == 0 {
				tiles, size, firstCopies = n, b, copies
			}
		}
		tgt := codecTarget(ch.name, lat)
		res.Targets = append(res.Targets, tgt)
		res.Ratios = append(res.Ratios, ratio(ch.name+" / baseline", tgt, baseline))
		res.Notes = append(res.Notes, fmt.Sprintf("%s: %d copies and %d tiles, %d bytes vs %d deflated full frame = %.4fx (goal %s); encode p50 %s, p99 %s (goal <= 30ms)",
			ch.name, firstCopies, tiles, size, baseBytes, float64(size)/float64(baseBytes), ch.goal, fmtMs(tgt.P50ms), fmtMs(tgt.P99ms)))
	}

	// A full frame: every tile diffed and encoded, for a joining viewer.
	tl := tile.NewTiler(deskW, deskH)
	var lat []time.Duration
	var size int
	encs := map[uint8]int{}
	for i := range codecRounds / 2 {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		b := 0
		t0 := time.Now()
		tl.Changed(start, true, nil, func(x, y, w, h int, enc uint8, data []byte) error {
			b += wire.HeaderLen + 9 + len(data)
			if i == 0 {
				encs[enc]++
			}
			return nil
		})
		lat = append(lat, time.Since(t0))
		size = b
	}
	full := codecTarget("full frame diff+encode", lat)
	res.Targets = append(res.Targets, full)
	res.Ratios = append(res.Ratios, ratio("full frame / baseline", full, baseline))
	res.Notes = append(res.Notes, fmt.Sprintf("full frame: %d bytes of tiles vs %d deflated (%.2fx); tiles by encoding raw/solid/palette/deflate/jpeg: %d/%d/%d/%d/%d",
		size, baseBytes, float64(size)/float64(baseBytes), encs[1], encs[2], encs[3], encs[4], encs[5]))
	return res, nil
}

func discard(x, y, w, h int, enc uint8, data []byte) error { return nil }

func codecTarget(name string, lat []time.Duration) Target {
	s := stats{lat: slices.Clone(lat)}
	for _, l := range lat {
		s.elapsed += l
	}
	slices.Sort(s.lat)
	return newTarget(name, s)
}
