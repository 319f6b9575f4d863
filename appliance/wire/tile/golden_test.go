package tile

import (
	"bytes"
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
