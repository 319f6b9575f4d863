package tile

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"os"
	"slices"
	"testing"

	"github.com/switchboardhq/switchboard/appliance/wire"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.json from the encoder")

// Golden is one tile of testdata/golden.json, which the browser's decoder
// (remote.js, tools/e2e TestRemoteJS) reads too: what the encoder makes of
// the test tiles, and the pixels a decoder must draw from it (Go's, for
// JPEG; browsers may differ by a few levels there).
type Golden struct {
	Name     string `json:"name"`
	W        int    `json:"w"`
	H        int    `json:"h"`
	Encoding uint8  `json:"encoding"`
	Data     []byte `json:"data"`
	RGB      []byte `json:"rgb"`
}

const goldenFile = "testdata/golden.json"

func goldens(t *testing.T) []Golden {
	var out []Golden
	tt := tiles()
	names := make([]string, 0, len(tt))
	for n := range tt {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		c := tt[n]
		enc, data := Encode(c.px, c.w, c.h)
		rgb, err := Decode(enc, data, c.w, c.h)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		out = append(out, Golden{Name: n, W: c.w, H: c.h, Encoding: enc, Data: data, RGB: rgb})
	}
	return out
}

// TestGolden: the encoder still makes the frames of testdata/golden.json
// (a change there is deliberate: go test -run Golden -update), and they
// decode to the pixels recorded. Every encoding is among them.
func TestGolden(t *testing.T) {
	got := goldens(t)
	if *update {
		b, _ := json.MarshalIndent(got, "", " ")
		if err := os.WriteFile(goldenFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	var want []Golden
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(got) {
		t.Fatalf("%d golden tiles, the encoder made %d: run go test -run Golden -update", len(want), len(got))
	}
	seen := map[uint8]bool{}
	for i, w := range want {
		g := got[i]
		seen[w.Encoding] = true
		if g.Name != w.Name || g.Encoding != w.Encoding || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("%s: the encoder now makes encoding %d, %d bytes (golden: %d, %d bytes)", w.Name, g.Encoding, len(g.Data), w.Encoding, len(w.Data))
		}
		rgb, err := Decode(w.Encoding, w.Data, w.W, w.H)
		if err != nil || !bytes.Equal(rgb, w.RGB) {
			t.Errorf("%s: golden frame decodes differently: %v", w.Name, err)
		}
	}
	for _, e := range []uint8{wire.EncRaw, wire.EncSolid, wire.EncPaletteRLE, wire.EncDeflate, wire.EncJPEG} {
		if !seen[e] {
			t.Errorf("no golden tile of encoding %d", e)
		}
	}
}

const streamsFile = "testdata/streams.json"

// streams records the golden streams from the Tiler.
func streams(t testing.TB) []Stream {
	type step = layout
	scripts := []struct {
		name  string
		steps []step
	}{
		{"move and scroll", []step{
			{ax: 20, ay: 30, bx: 250, by: 120},
			{ax: 57, ay: 53, bx: 250, by: 120},
			{ax: 57, ay: 53, bx: 250, by: 120, first: 1},
			{ax: 50, ay: 49, bx: 250, by: 120, first: 1},
			{ax: 200, ay: 100, bx: 250, by: 120, first: 3},
			{ax: -40, ay: 250, bx: 310, by: 140, first: 2},
		}},
	}
	var out []Stream
	for _, sc := range scripts {
		const w, h = 480, 320
		s := newScreen(w, h)
		tl := NewTiler(w, h)
		g := Stream{Name: sc.name, W: w, H: h}
		add := func(m wire.Message) error {
			f, err := wire.Encode(m)
			if err != nil {
				return err
			}
			b, err := wire.AppendFrame(nil, f)
			g.Frames = append(g.Frames, b)
			return err
		}
		for i, st := range sc.steps {
			n0 := len(g.Frames)
			frame := s.draw(st)
			_, err := tl.Changed(frame, i == 0, func(c wire.Copy) error { return add(c) }, func(x, y, w, h int, enc uint8, data []byte) error {
				if enc == wire.EncJPEG {
					t.Fatalf("%s: a JPEG tile in a golden stream", sc.name)
				}
				return add(wire.Tile{X: uint16(x), Y: uint16(y), W: uint16(w), H: uint16(h), Encoding: enc, Data: bytes.Clone(data)})
			})
			if err == nil {
				err = add(wire.FrameEnd{Seq: uint64(i + 1)})
			}
			if err != nil {
				t.Fatal(err)
			}
			g.Steps = append(g.Steps, len(g.Frames)-n0)
			sum := sha256.Sum256(frame)
			g.Sums = append(g.Sums, sum[:])
		}
		out = append(out, g)
	}
	return out
}

// TestGoldenStreams: the Tiler still sends the streams of
// testdata/streams.json (go test -run GoldenStreams -update rewrites it),
// they hold copies, and Picture draws from them the pixels recorded.
func TestGoldenStreams(t *testing.T) {
	got := streams(t)
	if *update {
		b, _ := json.Marshal(got)
		if err := os.WriteFile(streamsFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(streamsFile)
	if err != nil {
		t.Fatal(err)
	}
	var want []Stream
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(got) {
		t.Fatalf("%d golden streams, the Tiler made %d: run go test -run GoldenStreams -update", len(want), len(got))
	}
	for i, g := range want {
		if !slices.EqualFunc(g.Frames, got[i].Frames, bytes.Equal) {
			t.Errorf("%s: the Tiler now sends other frames: run go test -run GoldenStreams -update if that is meant", g.Name)
		}
		p := NewPicture(g.W, g.H)
		k, copies := 0, 0
		for s, n := range g.Steps {
			for _, b := range g.Frames[k : k+n] {
				f, err := wire.ReadFrame(bytes.NewReader(b), nil)
				if err != nil {
					t.Fatal(err)
				}
				m, err := wire.Decode(f)
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := m.(wire.Copy); ok {
					copies++
				}
				if err := p.Apply(m); err != nil {
					t.Fatalf("%s step %d: %v", g.Name, s, err)
				}
			}
			k += n
			if sum := sha256.Sum256(p.RGB); !bytes.Equal(sum[:], g.Sums[s]) {
				t.Errorf("%s step %d: the picture differs from the recorded one", g.Name, s)
			}
		}
		if copies < len(g.Steps)-2 {
			t.Errorf("%s: only %d copies in %d steps", g.Name, copies, len(g.Steps))
		}
	}
}
