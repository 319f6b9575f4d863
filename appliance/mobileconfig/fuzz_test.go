package mobileconfig

import (
	"testing"
)

// FuzzCheck feeds Check arbitrary bytes: it must never panic, and whatever
// it accepts must have what every profile has.
func FuzzCheck(f *testing.F) {
	s := newTestSigner(f)
	binaryProfile := encodeBinary(profileTree())
	f.Add([]byte(profileXML))
	f.Add(binaryProfile)
	f.Add(s.sign(f, []byte(profileXML), false))
	f.Add(s.sign(f, binaryProfile, false))
	f.Add(minimalXML(minimalKeys))
	for _, r := range refusals(f) {
		if len(r.data) <= 16<<10 { // larger seeds only slow the mutator down
			f.Add(r.data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Check(data)
		if err != nil {
			return
		}
		if p.Identifier == "" || p.UUID == "" {
			t.Errorf("Check accepted a profile without identifier or UUID: %+v", p)
		}
		if p.Format != "xml" && p.Format != "binary" {
			t.Errorf("Check accepted a profile of format %q", p.Format)
		}
		if p.Signed != (p.Signer != nil) {
			t.Errorf("Check returned Signed %v with signer %+v", p.Signed, p.Signer)
		}
	})
}
