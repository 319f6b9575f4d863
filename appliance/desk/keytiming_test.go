package desk

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestBadKeyTimingIsUniform measures unknown, expired and used keys in
// interleaved rounds and checks, with a median comparison, that no class
// answers measurably faster than the others. The bounds are wide: this
// catches a path that skips work (a missing decode, an early return), not
// nanosecond noise.
func TestBadKeyTimingIsUniform(t *testing.T) {
	f := newFixture(t)
	f.d.SetKeyBudget(1 << 30)
	const rounds = 300
	used, _, _ := f.d.GenerateKey(ctx, f.ann, time.Hour, 0)
	if _, _, err := f.d.StartWithKey(ctx, f.site, used, Customer{Name: "x"}, "used-src"); err != nil {
		t.Fatal(err)
	}
	expired, _, _ := f.d.GenerateKey(ctx, f.ann, time.Minute, 0)
	f.clk.t = f.clk.t.Add(2 * time.Minute)
	classes := map[string]string{"unknown": "000000001", "expired": expired, "used": used}
	names := []string{"unknown", "expired", "used"}
	samples := map[string][]time.Duration{}
	for i := range rounds {
		for j := range names {
			name := names[(i+j)%len(names)]
			src := fmt.Sprintf("src-%d-%s", i, name)
			start := time.Now()
			_, _, err := f.d.StartWithKey(ctx, f.site, classes[name], Customer{Name: "x"}, src)
			samples[name] = append(samples[name], time.Since(start))
			if err != ErrBadKey {
				t.Fatalf("%s key: %v", name, err)
			}
		}
	}
	med := map[string]time.Duration{}
	for n, s := range samples {
		slices.Sort(s)
		med[n] = s[len(s)/2]
	}
	for _, a := range names {
		for _, b := range names {
			if ratio := float64(med[a]) / float64(med[b]); ratio > 1.6 {
				t.Errorf("median %s %v vs %s %v: ratio %.2f", a, med[a], b, med[b], ratio)
			}
		}
	}
	t.Logf("medians: %v", med)
}
