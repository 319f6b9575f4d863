package mobileconfig

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"math/big"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/smallstep/pkcs7"
)

// profileXML is a profile as Apple Configurator writes one: a Wi-Fi
// payload and a certificate payload.
const profileXML = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>ConsentText</key>
	<dict>
		<key>default</key>
		<string>Installe le Wi-Fi du bureau – merci.</string>
	</dict>
	<key>DurationUntilRemoval</key>
	<real>86400.5</real>
	<key>PayloadContent</key>
	<array>
		<dict>
			<key>AutoJoin</key>
			<true/>
			<key>EncryptionType</key>
			<string>WPA2</string>
			<key>PayloadIdentifier</key>
			<string>com.example.office.wifi</string>
			<key>PayloadType</key>
			<string>com.apple.wifi.managed</string>
			<key>PayloadUUID</key>
			<string>4C9E2E0C-7E55-4E0D-9E0B-6F1B2D6F0A11</string>
			<key>PayloadVersion</key>
			<integer>1</integer>
			<key>SSID_STR</key>
			<string>Office</string>
		</dict>
		<dict>
			<!-- the box's own root certificate -->
			<key>PayloadContent</key>
			<data>
			TUlJQm9qQ0NBVW1nQXdJQkFnSVVD
			</data>
			<key>PayloadType</key>
			<string>com.apple.security.root</string>
			<key>PayloadUUID</key>
			<string>0B1D2F3A-4C5D-4E6F-8A9B-0C1D2E3F4A5B</string>
		</dict>
	</array>
	<key>PayloadDescription</key>
	<string>Joins the office Wi-Fi &amp; trusts the support box.</string>
	<key>PayloadDisplayName</key>
	<string>Office Wi-Fi</string>
	<key>PayloadIdentifier</key>
	<string>com.example.office</string>
	<key>PayloadOrganization</key>
	<string>Example Ltd</string>
	<key>PayloadRemovalDisallowed</key>
	<false/>
	<key>PayloadType</key>
	<string>Configuration</string>
	<key>PayloadUUID</key>
	<string>9D3E1A0B-5C6D-4E7F-8091-A2B3C4D5E6F7</string>
	<key>PayloadVersion</key>
	<integer>1</integer>
	<key>RemovalDate</key>
	<date>2030-01-01T00:00:00Z</date>
</dict>
</plist>
`

// profileTree is profileXML as a value for the binary writer.
func profileTree() pdict {
	return pdict{
		"ConsentText", pdict{"default", "Installe le Wi-Fi du bureau – merci."},
		"DurationUntilRemoval", 86400.5,
		"PayloadContent", []any{
			pdict{
				"AutoJoin", true,
				"EncryptionType", "WPA2",
				"PayloadIdentifier", "com.example.office.wifi",
				"PayloadType", "com.apple.wifi.managed",
				"PayloadUUID", "4C9E2E0C-7E55-4E0D-9E0B-6F1B2D6F0A11",
				"PayloadVersion", 1,
				"SSID_STR", "Office",
			},
			pdict{
				"PayloadContent", []byte("MIIBojCCAUmgAwIBAgIUC"),
				"PayloadType", "com.apple.security.root",
				"PayloadUUID", "0B1D2F3A-4C5D-4E6F-8A9B-0C1D2E3F4A5B",
			},
		},
		"PayloadDescription", "Joins the office Wi-Fi & trusts the support box.",
		"PayloadDisplayName", "Office Wi-Fi",
		"PayloadIdentifier", "com.example.office",
		"PayloadOrganization", "Example Ltd",
		"PayloadRemovalDisallowed", false,
		"PayloadType", "Configuration",
		"PayloadUUID", "9D3E1A0B-5C6D-4E7F-8091-A2B3C4D5E6F7",
		"PayloadVersion", 1,
		"RemovalDate", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

// wantProfile is what Check finds in profileXML.
func wantProfile(format string) Profile {
	return Profile{
		Identifier:   "com.example.office",
		UUID:         "9D3E1A0B-5C6D-4E7F-8091-A2B3C4D5E6F7",
		DisplayName:  "Office Wi-Fi",
		Organization: "Example Ltd",
		Description:  "Joins the office Wi-Fi & trusts the support box.",
		Payloads:     []string{"com.apple.wifi.managed", "com.apple.security.root"},
		Format:       format,
	}
}

// minimalXML is the smallest profile Check takes, with extra entries
// spliced into its top-level dictionary.
func minimalXML(extra string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>` + extra + `</dict></plist>`)
}

const minimalKeys = `<key>PayloadType</key><string>Configuration</string>
<key>PayloadIdentifier</key><string>com.example.min</string>
<key>PayloadUUID</key><string>1</string>`

func TestCheckAccepts(t *testing.T) {
	removal := wantProfile("xml")
	removal.Removal = true
	tests := []struct {
		name string
		data []byte
		want Profile
	}{
		{"xml", []byte(profileXML), wantProfile("xml")},
		{"binary", encodeBinary(profileTree()), wantProfile("binary")},
		{"xml with BOM and leading space", append([]byte("\xEF\xBB\xBF \n"), profileXML...), wantProfile("xml")},
		{"removal disallowed", []byte(strings.Replace(profileXML, "<key>PayloadRemovalDisallowed</key>\n\t<false/>", "<key>PayloadRemovalDisallowed</key>\n\t<true/>", 1)), removal},
		{"minimal", minimalXML(minimalKeys), Profile{Identifier: "com.example.min", UUID: "1", Format: "xml"}},
		{"long display name is clipped", minimalXML(minimalKeys + "<key>PayloadDisplayName</key><string>" + strings.Repeat("é", 300) + "</string>"),
			Profile{Identifier: "com.example.min", UUID: "1", DisplayName: strings.Repeat("é", maxTextRunes), Format: "xml"}},
		{"binary utf-16 name", encodeBinary(set(profileTree(), "PayloadDisplayName", "Büro-WLAN 📶")), func() Profile {
			p := wantProfile("binary")
			p.DisplayName = "Büro-WLAN 📶"
			return p
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Check(tt.data)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Check =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// testSigner is a throwaway self-signed ECDSA certificate and its key.
type testSigner struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestSigner(t testing.TB) testSigner {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(4242),
		Subject:      pkix.Name{CommonName: "Switchboard Test Signer", Organization: []string{"Example Ltd"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testSigner{cert, key}
}

// sign wraps content in CMS SignedData, detached if asked.
func (s testSigner) sign(t testing.TB, content []byte, detach bool) []byte {
	t.Helper()
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		t.Fatal(err)
	}
	sd.SetDigestAlgorithm(pkcs7.OIDDigestAlgorithmSHA256)
	if err := sd.AddSigner(s.cert, s.key, pkcs7.SignerInfoConfig{}); err != nil {
		t.Fatal(err)
	}
	if detach {
		sd.Detach()
	}
	der, err := sd.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// indefinite re-encodes every constructed element of DER input with BER's
// indefinite length, as streaming CMS writers do; they also cut the signed
// content into chunks, which chunk does with every OCTET STRING of more
// than 1000 bytes.
func indefinite(t *testing.T, der []byte, chunk bool) []byte {
	t.Helper()
	var out []byte
	for len(der) > 0 {
		if len(der) < 2 || der[0]&0x1F == 0x1F {
			t.Fatal("indefinite: unexpected input")
		}
		tag, l, i := der[0], int(der[1]), 2
		if l > 0x80 {
			n := l & 0x7F
			l = int(beUint(der[2 : 2+n]))
			i += n
		}
		content := der[i : i+l]
		switch {
		case tag&0x20 != 0:
			out = append(out, tag, 0x80)
			out = append(out, indefinite(t, content, chunk)...)
			out = append(out, 0, 0)
		case tag == 0x04 && chunk && len(content) > 1000:
			out = append(out, 0x24, 0x80)
			for c := range slices.Chunk(content, 1000) {
				out = appendTLV(out, []byte{0x04}, c)
			}
			out = append(out, 0, 0)
		default:
			out = append(out, der[:i+l]...)
		}
		der = der[i+l:]
	}
	return out
}

func TestCheckSigned(t *testing.T) {
	s := newTestSigner(t)
	sum := sha256.Sum256(s.cert.Raw)
	wantSigner := &Signer{
		Subject:   "CN=Switchboard Test Signer,O=Example Ltd",
		Issuer:    "CN=Switchboard Test Signer,O=Example Ltd",
		NotBefore: s.cert.NotBefore,
		NotAfter:  s.cert.NotAfter,
		SHA256:    hex.EncodeToString(sum[:]),
		Valid:     true,
	}
	signedXML := s.sign(t, []byte(profileXML), false)
	if got, err := normalizeBER(indefinite(t, signedXML, false)); err != nil || !bytes.Equal(got, signedXML) {
		t.Fatalf("normalizeBER does not turn the indefinite-length encoding back into the DER (%v)", err)
	}
	tests := []struct {
		name   string
		data   []byte
		format string
	}{
		{"xml", signedXML, "xml"},
		{"binary", s.sign(t, encodeBinary(profileTree()), false), "binary"},
		{"indefinite lengths", indefinite(t, signedXML, false), "xml"},
		{"indefinite lengths, content in chunks", indefinite(t, signedXML, true), "xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Check(tt.data)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			want := wantProfile(tt.format)
			want.Signed, want.Signer = true, wantSigner
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Check =\n%+v\n%+v\nwant\n%+v\n%+v", got, got.Signer, want, want.Signer)
			}
		})
	}

	// A byte changed in the signed content: the profile still parses, so
	// Check returns it, but the digest in the signed attributes no longer
	// matches the content, so the signature is not Valid. That is reported,
	// not refused: trusting a signer is the admin's decision.
	t.Run("tampered", func(t *testing.T) {
		tampered := bytes.Clone(signedXML)
		i := bytes.Index(tampered, []byte("Office Wi-Fi</string>"))
		if i < 0 || bytes.Count(tampered, []byte("Office Wi-Fi</string>")) != 1 {
			t.Fatal("display name not found once in the CMS")
		}
		tampered[i+len("Office Wi-F")] = 'o'
		got, err := Check(tampered)
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		if !got.Signed || got.Signer == nil || got.Signer.Valid {
			t.Fatalf("Check = %+v, signer %+v; want Signed with Valid false", got, got.Signer)
		}
		if got.DisplayName != "Office Wi-Fo" {
			t.Errorf("DisplayName = %q, want the tampered %q", got.DisplayName, "Office Wi-Fo")
		}
	})
}

// set sets key in d to v.
func set(d pdict, key string, v any) pdict {
	for i := 0; i < len(d); i += 2 {
		if d[i] == key {
			d[i+1] = v
			return d
		}
	}
	return append(d, key, v)
}

// drop removes key from d.
func drop(d pdict, key string) pdict {
	for i := 0; i < len(d); i += 2 {
		if d[i] == key {
			return append(d[:i:i], d[i+2:]...)
		}
	}
	return d
}

// refusals are files Check must refuse, with a part of each message.
func refusals(t testing.TB) []struct {
	name string
	data []byte
	want string
} {
	s := newTestSigner(t)
	signedXML := s.sign(t, []byte(profileXML), false)
	type refusal = struct {
		name string
		data []byte
		want string
	}
	tree := func(edit func(pdict) pdict) []byte { return encodeBinary(edit(profileTree())) }
	return []refusal{
		// Not a profile at all.
		{"empty", nil, "The file is empty"},
		{"too large", append([]byte(profileXML), bytes.Repeat([]byte(" "), MaxSize)...), "at most 1 MiB (1048576 bytes)"},
		{"png", append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), make([]byte, 64)...), "This file is not a configuration profile: it is a PNG image, not a property list."},
		{"html", []byte("<!DOCTYPE html>\n<html><head><title>Hi</title></head><body>Hi</body></html>"), "it is an HTML page, not a property list."},
		{"html without doctype", []byte("<html><body><p>Hi</body></html>"), "it is an HTML page, not a property list."},
		{"svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`), "it is an XML document of another kind, not a property list."},
		{"plain text", []byte("PayloadType = Configuration\n"), "it is plain text, not a property list."},
		{"binary junk", []byte{0x01, 0x02, 0xFE, 0xFF, 0x00, 0x10}, "This file is not a configuration profile: it is not a property list."},
		{"bplist15", []byte("bplist15" + strings.Repeat("\x00", 40)), "version other than bplist00"},

		// Property lists that are not profiles.
		{"payload, not profile", []byte(strings.Replace(profileXML, "<string>Configuration</string>", "<string>com.apple.wifi.managed</string>", 1)),
			`The profile's PayloadType is "com.apple.wifi.managed", not "Configuration"`},
		{"no PayloadType", minimalXML(`<key>PayloadIdentifier</key><string>a</string><key>PayloadUUID</key><string>1</string>`), "The profile has no PayloadType."},
		{"long PayloadType", minimalXML(`<key>PayloadType</key><string>` + strings.Repeat("A", 5000) + `</string>`), `is "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA…", not "Configuration"`},
		{"no identifier", tree(func(d pdict) pdict { return drop(d, "PayloadIdentifier") }), "The profile has no PayloadIdentifier."},
		{"blank identifier", tree(func(d pdict) pdict { return set(d, "PayloadIdentifier", "  ") }), "The profile's PayloadIdentifier is empty."},
		{"identifier not string", tree(func(d pdict) pdict { return set(d, "PayloadIdentifier", 7) }), "The profile's PayloadIdentifier is an integer, not a string."},
		{"no UUID", []byte(strings.Replace(profileXML, "<key>PayloadUUID</key>\n\t<string>9D3E1A0B-5C6D-4E7F-8091-A2B3C4D5E6F7</string>", "", 1)), "The profile has no PayloadUUID."},
		{"UUID too long", tree(func(d pdict) pdict { return set(d, "PayloadUUID", strings.Repeat("A", 129)) }), "PayloadUUID must be at most 128 printable ASCII characters"},
		{"UUID not ASCII", tree(func(d pdict) pdict { return set(d, "PayloadUUID", "ü-1") }), "PayloadUUID must be at most 128 printable ASCII characters"},
		{"PayloadVersion string", tree(func(d pdict) pdict { return set(d, "PayloadVersion", "1") }), "The profile's PayloadVersion is a string, not an integer."},
		{"PayloadRemovalDisallowed string", tree(func(d pdict) pdict { return set(d, "PayloadRemovalDisallowed", "no") }), "PayloadRemovalDisallowed is a string, not true or false."},
		{"PayloadContent dict", tree(func(d pdict) pdict { return set(d, "PayloadContent", pdict{}) }), "The profile's PayloadContent is a dictionary, not an array of payloads."},
		{"payload not dict", tree(func(d pdict) pdict { return set(d, "PayloadContent", []any{pdict{"PayloadType", "a"}, "b"}) }), "Payload 2 in the profile's PayloadContent is a string, not a dictionary."},
		{"payload without type", tree(func(d pdict) pdict { return set(d, "PayloadContent", []any{pdict{"PayloadUUID", "a"}}) }), "Payload 1 has no PayloadType."},
		{"top level array", encodeBinary([]any{"Configuration"}), "The profile's top level is an array, not a dictionary"},
		{"invalid UTF-8", func() []byte {
			w := newBPWriter(1)
			keys := []uint64{w.str("PayloadType"), w.str("PayloadIdentifier"), w.str("PayloadUUID"), w.str("PayloadDisplayName")}
			vals := []uint64{w.str("Configuration"), w.str("a"), w.str("1"), w.rawStr([]byte("Caf\xe9"))}
			return w.finish(w.dict(keys, vals))
		}(), "The profile's PayloadDisplayName is not valid UTF-8 text"},

		// XML a profile never holds.
		{"entity in internal subset", []byte(`<?xml version="1.0"?>
<!DOCTYPE plist [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<plist><dict><key>PayloadType</key><string>&lol2;</string></dict></plist>`), "declares entities or an internal DTD subset"},
		{"internal subset", []byte(`<!DOCTYPE plist [ ]><plist><dict/></plist>`), "declares entities or an internal DTD subset"},
		{"entity without doctype", []byte(`<!ENTITY x SYSTEM "file:///etc/passwd"><plist><dict/></plist>`), "declares entities or an internal DTD subset"},
		{"undeclared entity", minimalXML(`<key>PayloadType</key><string>&x;</string>`), "The profile's XML is not well-formed: on line 2, invalid character entity &x;."},
		{"other encoding", []byte(`<?xml version="1.0" encoding="ISO-8859-1"?><plist><dict/></plist>`), "encoding other than UTF-8"},
		{"depth bomb", []byte(`<plist>` + strings.Repeat("<array>", 1000) + strings.Repeat("</array>", 1000) + `</plist>`), errTooDeep.Error()},
		{"dict depth bomb", []byte(`<plist>` + strings.Repeat("<dict><key>a</key>", 40) + `<true/>` + strings.Repeat("</dict>", 40) + `</plist>`), errTooDeep.Error()},
		{"too many values", []byte(`<plist><array>` + strings.Repeat("<true/>", maxNodes+1) + `</array></plist>`), errTooManyNodes.Error()},
		{"duplicate key", minimalXML(minimalKeys + `<key>PayloadUUID</key><string>2</string>`), `the key "PayloadUUID" appears twice in one dictionary`},
		{"key without value", minimalXML(minimalKeys + `<key>Lonely</key>`), `the key "Lonely" has no value`},
		{"key followed by key", minimalXML(`<key>A</key>` + minimalKeys), `the key "A" has no value`},
		{"unknown element", minimalXML(minimalKeys + `<key>A</key><script>alert(1)</script>`), "<script> is not a property-list element"},
		{"text between elements", minimalXML(minimalKeys + `hello`), `there is text "hello" outside <string> or <key>`},
		{"element in string", minimalXML(`<key>PayloadType</key><string>Config<b>uration</b></string>`), "<string> holds an element <b>"},
		{"bad integer", minimalXML(minimalKeys + `<key>PayloadVersion</key><integer>one</integer>`), "<integer>one</integer> is not a whole number"},
		{"bad date", minimalXML(minimalKeys + `<key>D</key><date>yesterday</date>`), "<date>yesterday</date> is not a date"},
		{"bad data", minimalXML(minimalKeys + `<key>D</key><data>!!!</data>`), "<data> does not hold base64"},
		{"two roots", []byte(`<plist><dict/></plist><plist/>`), "there is a second element after </plist>"},
		{"empty plist", []byte(`<plist></plist>`), "the <plist> element is empty"},
		{"truncated xml", []byte(profileXML[:len(profileXML)/2]), "The profile's XML is not well-formed"},

		// Binary property lists built to hurt, or damaged.
		{"binary bomb", binaryBomb(t), errTooManyNodes.Error()},
		{"binary cycle", func() []byte {
			w := newBPWriter(1)
			a := w.reserve()
			b := w.array(a)
			w.setArray(a, b)
			return w.finish(a)
		}(), errCycle.Error()},
		{"binary self-reference", func() []byte {
			w := newBPWriter(1)
			a := w.reserve()
			w.setArray(a, w.str("x"), a)
			return w.finish(a)
		}(), errCycle.Error()},
		{"binary dict cycle", func() []byte {
			w := newBPWriter(1)
			d := w.reserve()
			k := w.str("PayloadContent")
			w.objs[d] = append(header(0xD0, 1), byte(k), byte(d))
			return w.finish(d)
		}(), errCycle.Error()},
		{"binary deep", func() []byte {
			w := newBPWriter(1)
			r := w.array()
			for range 40 {
				r = w.array(r)
			}
			return w.finish(r)
		}(), errTooDeep.Error()},
		{"binary truncated", func() []byte { b := encodeBinary(profileTree()); return b[:len(b)-10] }(), "The profile's binary property list is damaged"},
		{"binary cut in half", func() []byte { b := encodeBinary(profileTree()); return b[:len(b)/2] }(), "The profile's binary property list is damaged"},
		{"binary header only", []byte(binaryMagic), "it is too short to hold a trailer"},
		{"binary offset out of range", editBinary(t, encodeBinary(profileTree()), func(b []byte, tr trailer) {
			entry := b[tr.table+uint64(tr.offSize)*tr.top:][:tr.offSize]
			for i := range entry {
				entry[i] = 0xFF
			}
		}), "lies outside the object area"},
		{"binary top out of range", editBinary(t, encodeBinary(profileTree()), func(b []byte, tr trailer) {
			binary.BigEndian.PutUint64(b[len(b)-16:], tr.numObjects)
		}), "its top object is not one of its objects"},
		{"binary table out of range", editBinary(t, encodeBinary(profileTree()), func(b []byte, tr trailer) {
			binary.BigEndian.PutUint64(b[len(b)-8:], uint64(len(b)))
		}), "its offset table lies outside the file"},
		{"binary table too short", editBinary(t, encodeBinary(profileTree()), func(b []byte, tr trailer) {
			binary.BigEndian.PutUint64(b[len(b)-24:], 1<<62)
		}), "its offset table is shorter than"},
		{"binary ref size 0", editBinary(t, encodeBinary(profileTree()), func(b []byte, tr trailer) { b[len(b)-25] = 0 }), "its trailer is malformed"},
		{"binary offset size 9", editBinary(t, encodeBinary(profileTree()), func(b []byte, tr trailer) { b[len(b)-26] = 9 }), "its trailer is malformed"},
		{"binary dangling ref", func() []byte {
			w := newBPWriter(1)
			return w.finish(w.array(w.str("a"), 200))
		}(), "refers to object 200, which does not exist"},
		{"binary huge count", func() []byte {
			w := newBPWriter(1)
			w.add([]byte{0xAF, 0x13, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0})
			return w.finish(0)
		}(), "object 0 runs past the object area"},
		{"binary huge string", func() []byte {
			w := newBPWriter(1)
			w.add([]byte{0x5F, 0x12, 0x00, 0x10, 0x00, 0x00, 'a'})
			return w.finish(0)
		}(), "object 0 runs past the object area"},
		{"binary key not string", func() []byte {
			w := newBPWriter(1)
			return w.finish(w.dict([]uint64{w.integer(1)}, []uint64{w.integer(2)}))
		}(), "a key in object 2 is an integer, not a string"},
		{"binary duplicate key", func() []byte {
			w := newBPWriter(1)
			k := w.str("PayloadType")
			v := w.str("Configuration")
			return w.finish(w.dict([]uint64{k, k}, []uint64{v, v}))
		}(), `the key "PayloadType" appears twice in object 2`},
		{"binary bad utf-16", func() []byte {
			w := newBPWriter(1)
			w.add([]byte{0x61, 0xD8, 0x00})
			return w.finish(0)
		}(), "the UTF-16 string in object 0 is malformed"},
		{"binary set", func() []byte {
			w := newBPWriter(1)
			w.add([]byte{0xC0})
			return w.finish(0)
		}(), "object 0 has a type (marker 0xc0)"},

		// Signed files that are not signed profiles.
		{"detached", s.sign(t, []byte(profileXML), true), "a detached signature"},
		{"signed text", s.sign(t, []byte("hello"), false), "The signed file does not contain a configuration profile: what it signs is not a property list."},
		{"signed cms", s.sign(t, signedXML, false), "what it signs is not a property list"},
		{"cms truncated", signedXML[:len(signedXML)-40], "its signature wrapper (CMS) is damaged: it ends early"},
		{"cms trailing bytes", append(bytes.Clone(signedXML), 0, 0), "its signature wrapper (CMS) is damaged: there are bytes after its end"},
		{"cms nested deep", func() []byte {
			b := []byte{0x30, 0x80, 0x06, 0x01, 0x00}
			for range 100 {
				b = append(b, 0x30, 0x80)
			}
			return append(b, make([]byte, 202)...)
		}(), "it nests more than 32 levels deep"},
		{"enveloped", mustMarshal(t, struct {
			OID     asn1.ObjectIdentifier
			Content asn1.RawValue `asn1:"explicit,tag:0"`
		}{oidEnvelopedData, asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: []byte{0x02, 0x01, 0x00}}}), "The profile is encrypted for one device"},
		{"other cms", mustMarshal(t, struct {
			OID asn1.ObjectIdentifier
		}{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}}), "it is a CMS (PKCS #7) message, but not a signed one"},
		{"signed data garbage", mustMarshal(t, struct {
			OID     asn1.ObjectIdentifier
			Content asn1.RawValue `asn1:"explicit,tag:0"`
		}{oidSignedData, asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: []byte{0x05, 0x00}}}), "its signature wrapper (CMS) cannot be read"},
		{"signed nothing", s.sign(t, nil, false), "The signed profile is empty: its signature covers no content."},
		{"no signer", func() []byte {
			sd, err := pkcs7.NewSignedData([]byte(profileXML))
			if err != nil {
				t.Fatal(err)
			}
			der, err := sd.Finish()
			if err != nil {
				t.Fatal(err)
			}
			return der
		}(), "The signed profile carries no signature"},
		{"too many signers", func() []byte {
			sd, err := pkcs7.NewSignedData([]byte(profileXML))
			if err != nil {
				t.Fatal(err)
			}
			for range maxSigners + 1 {
				if err := sd.AddSigner(s.cert, s.key, pkcs7.SignerInfoConfig{}); err != nil {
					t.Fatal(err)
				}
			}
			der, err := sd.Finish()
			if err != nil {
				t.Fatal(err)
			}
			return der
		}(), "The signed profile carries 9 signatures, more than the 8 the box checks"},
		{"no signer certificate", func() []byte {
			sd, err := pkcs7.NewSignedData([]byte(profileXML))
			if err != nil {
				t.Fatal(err)
			}
			if err := sd.AddSigner(s.cert, s.key, pkcs7.SignerInfoConfig{}); err != nil {
				t.Fatal(err)
			}
			// The signer info now names a serial number no certificate has.
			sd.GetSignedData().SignerInfos[0].IssuerAndSerialNumber.SerialNumber = big.NewInt(1)
			der, err := sd.Finish()
			if err != nil {
				t.Fatal(err)
			}
			return der
		}(), "does not include its signer's certificate"},
	}
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// binaryBomb is a few hundred bytes that name 40^6 (about 4·10⁹) values:
// six arrays, each holding forty references to the next.
func binaryBomb(t testing.TB) []byte {
	w := newBPWriter(1)
	r := w.array()
	for range 6 {
		refs := make([]uint64, 40)
		for i := range refs {
			refs[i] = r
		}
		r = w.array(refs...)
	}
	b := w.finish(r)
	if len(b) > 400 {
		t.Fatalf("the bomb is %d bytes, want a few hundred", len(b))
	}
	return b
}

// trailer is the decoded trailer of a binary property list.
type trailer struct {
	offSize                int
	numObjects, top, table uint64
}

// editBinary changes a copy of a binary property list.
func editBinary(t testing.TB, b []byte, edit func([]byte, trailer)) []byte {
	b = bytes.Clone(b)
	tr := b[len(b)-32:]
	edit(b, trailer{int(tr[6]), beUint(tr[8:16]), beUint(tr[16:24]), beUint(tr[24:32])})
	return b
}

// TestSharedStringIsCopiedOnce checks the other half of the bomb defence:
// a large string reached through thousands of references must not be
// copied (or decoded) once for each.
func TestSharedStringIsCopiedOnce(t *testing.T) {
	for _, big := range []string{strings.Repeat("a", 40<<10), strings.Repeat("ä", 20<<10)} {
		w := newBPWriter(2)
		s := w.str(big)
		refs := make([]uint64, maxNodes-100)
		for i := range refs {
			refs[i] = s
		}
		keys := []uint64{w.str("PayloadType"), w.str("PayloadIdentifier"), w.str("PayloadUUID"), w.str("Big")}
		vals := []uint64{w.str("Configuration"), w.str("a"), w.str("1"), w.array(refs...)}
		data := w.finish(w.dict(keys, vals))

		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Check(data)
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		// Copying the string for each reference would allocate about 800 MB.
		if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
			t.Errorf("Check allocated %d MB for a %d KB file", n>>20, len(data)>>10)
		}
	}
}

func TestCheckRefuses(t *testing.T) {
	for _, tt := range refusals(t) {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Check(tt.data)
			if err == nil {
				t.Fatalf("Check = %+v, want an error containing %q", got, tt.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("Check: %q\nwant it to contain %q", msg, tt.want)
			}
			if r := []rune(msg)[0]; !unicode.IsUpper(r) || !strings.HasSuffix(msg, ".") {
				t.Errorf("Check: %q is not a sentence", msg)
			}
			if len(msg) > 300 {
				t.Errorf("Check: message of %d bytes is too long: %q", len(msg), msg)
			}
			if !reflect.DeepEqual(got, Profile{}) {
				t.Errorf("Check returned %+v with its error", got)
			}
		})
	}
}
