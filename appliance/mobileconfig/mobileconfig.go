//lint:file-ignore ST1005 the errors are sentences shown to the admin who uploaded the file

// Package mobileconfig checks Apple configuration profiles (.mobileconfig
// files) that an admin uploads, before the box stores them and later serves
// them to iPhones and iPads.
//
// A profile is a property list in one of three wrappings:
//
//	XML plist        <?xml …?><!DOCTYPE plist …><plist><dict>…</dict></plist>
//	binary plist     "bplist00" objects… offset table, 32-byte trailer
//	signed profile   CMS SignedData (DER, or BER with indefinite lengths)
//	                 whose content is one of the two above
//
// The bytes are untrusted, so Check reads them with parsers of its own that
// bound everything a file can make them do: nesting (maxDepth), the number of
// values, counted each time a reference reaches one (maxNodes, which stops
// "plist bombs" whose shared references expand to billions of values), and
// the CMS wrapper's size and shape before github.com/smallstep/pkcs7 sees it.
// Both plist parsers produce the same small value model (plist.go), from
// which Check reads the profile's top-level fields.
package mobileconfig

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/text"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxSize is the largest file Check reads, in bytes. The caller enforces it
// too, before reading the whole upload.
const MaxSize = 1 << 20

// Bounds of the fields Check reads.
const (
	maxTextRunes = 200 // strings in a Profile are clipped to this many runes
	maxUUIDBytes = 128 // PayloadUUID: at most this many printable ASCII bytes
)

// Profile is what Check found in a configuration profile.
type Profile struct {
	// Identifier is the top-level PayloadIdentifier, such as
	// "com.example.wifi"; never empty.
	Identifier string
	// UUID is the top-level PayloadUUID; never empty.
	UUID string
	// DisplayName is PayloadDisplayName; it may be empty.
	DisplayName string
	// Organization is PayloadOrganization; it may be empty.
	Organization string
	// Description is PayloadDescription; it may be empty.
	Description string
	// Removal is whether PayloadRemovalDisallowed is true: the user cannot
	// remove the profile from the device.
	Removal bool
	// Payloads holds the PayloadType of each entry in PayloadContent, in
	// order, such as "com.apple.wifi.managed"; it may be empty.
	Payloads []string
	// Format is the form of the property list, after any signature is
	// taken off: "xml" or "binary".
	Format string
	// Signed is whether the profile came wrapped in a CMS signature.
	Signed bool
	// Signer describes the signature; nil unless Signed.
	Signer *Signer
}

// Signer describes who signed a profile, as the signature claims.
type Signer struct {
	// Subject and Issuer are the signer certificate's names, as
	// pkix.Name.String() gives them (clipped to 200 runes).
	Subject string `json:"subject"`
	Issuer  string `json:"issuer"`
	// NotBefore and NotAfter bound the signer certificate's validity.
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// SHA256 is the lowercase hexadecimal SHA-256 fingerprint of the signer
	// certificate's DER, without colons.
	SHA256 string `json:"sha256"`
	// Valid is whether every signature in the CMS verifies against the
	// certificates the file carries. It says nothing of whether those
	// certificates chain to anyone the admin trusts, or are still valid.
	Valid bool `json:"valid"`
}

// Check parses and validates a configuration profile and returns what it
// found. A file Check refuses comes back with an error whose text is a
// complete sentence meant for the admin who uploaded it, such as "The profile
// has no PayloadUUID."; it quotes at most a short excerpt of the file. A
// signature that does not verify is not an error: the profile comes back
// with Signed set and Signer.Valid false. Check never panics.
func Check(data []byte) (Profile, error) {
	if len(data) == 0 {
		return Profile{}, errors.New("The file is empty; choose the .mobileconfig file to upload.")
	}
	if len(data) > MaxSize {
		return Profile{}, fmt.Errorf("The file has %d bytes; a configuration profile can have at most 1 MiB (%d bytes).", len(data), MaxSize)
	}
	var p Profile
	body := data
	if looksLikeCMS(data) {
		content, signer, err := unwrapCMS(data)
		if err != nil {
			return Profile{}, err
		}
		p.Signed, p.Signer = true, signer
		body = content
	}
	var root value
	var err error
	switch {
	case bytes.HasPrefix(body, []byte(binaryMagic)):
		p.Format = "binary"
		root, err = parseBinary(body)
	case bytes.HasPrefix(body, []byte("bplist")):
		return Profile{}, errors.New("The profile is a binary property list of a version other than bplist00; save it as XML and upload it again.")
	case looksLikeXML(body):
		p.Format = "xml"
		root, err = parseXML(body)
	default:
		err = errNotPlist
	}
	if errors.Is(err, errNotPlist) {
		return Profile{}, notPlist(body, p.Signed)
	}
	if err != nil {
		return Profile{}, err
	}
	if err := p.read(&root); err != nil {
		return Profile{}, err
	}
	return p, nil
}

// errNotPlist is what the detectors and the XML parser return for a file
// that is no property list at all; Check words it for the admin.
var errNotPlist = errors.New("not a property list")

// notPlist explains, as well as a sniff allows, what the file is instead.
func notPlist(body []byte, signed bool) error {
	if signed {
		return errors.New("The signed file does not contain a configuration profile: what it signs is not a property list.")
	}
	what := ""
	ct := http.DetectContentType(body)
	switch {
	case strings.HasPrefix(ct, "image/png"):
		what = "a PNG image"
	case strings.HasPrefix(ct, "image/jpeg"):
		what = "a JPEG image"
	case strings.HasPrefix(ct, "image/gif"):
		what = "a GIF image"
	case strings.HasPrefix(ct, "image/webp"):
		what = "a WebP image"
	case strings.HasPrefix(ct, "application/pdf"):
		what = "a PDF document"
	case strings.HasPrefix(ct, "application/zip"):
		what = "a ZIP archive (unpack it and upload the .mobileconfig inside)"
	case strings.HasPrefix(ct, "text/html"):
		what = "an HTML page"
	case strings.HasPrefix(ct, "text/xml"):
		what = "an XML document of another kind"
	case strings.HasPrefix(ct, "text/plain"):
		what = "plain text"
	}
	if what == "" {
		return errors.New("This file is not a configuration profile: it is not a property list.")
	}
	return fmt.Errorf("This file is not a configuration profile: it is %s, not a property list.", what)
}

// utf8BOM may open an XML property list; it is dropped before parsing.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// looksLikeXML reports whether b, after an optional byte order mark and
// white space, starts with markup.
func looksLikeXML(b []byte) bool {
	b = bytes.TrimLeft(bytes.TrimPrefix(b, utf8BOM), " \t\r\n")
	return len(b) > 0 && b[0] == '<'
}

// read fills p from the root of a parsed property list, checking the fields
// every configuration profile has.
func (p *Profile) read(root *value) error {
	if root.kind != kindDict {
		return fmt.Errorf("The profile's top level is %s, not a dictionary; a configuration profile is one <dict>.", root.kind)
	}
	typ, err := stringField(root, "PayloadType", "The profile", true)
	if err != nil {
		return err
	}
	if typ != "Configuration" {
		return fmt.Errorf("The profile's PayloadType is %q, not \"Configuration\": upload the whole profile, not one payload taken out of it.", excerpt(typ))
	}
	if p.Identifier, err = stringField(root, "PayloadIdentifier", "The profile", true); err != nil {
		return err
	}
	if p.UUID, err = stringField(root, "PayloadUUID", "The profile", true); err != nil {
		return err
	}
	if len(p.UUID) > maxUUIDBytes || strings.IndexFunc(p.UUID, func(r rune) bool { return r < 0x20 || r > 0x7E }) >= 0 {
		return fmt.Errorf("The profile's PayloadUUID must be at most %d printable ASCII characters; give the profile a new UUID (uuidgen makes one).", maxUUIDBytes)
	}
	if p.DisplayName, err = stringField(root, "PayloadDisplayName", "The profile", false); err != nil {
		return err
	}
	if p.Organization, err = stringField(root, "PayloadOrganization", "The profile", false); err != nil {
		return err
	}
	if p.Description, err = stringField(root, "PayloadDescription", "The profile", false); err != nil {
		return err
	}
	if v := root.lookup("PayloadVersion"); v != nil && v.kind != kindInteger {
		return fmt.Errorf("The profile's PayloadVersion is %s, not an integer.", v.kind)
	}
	if v := root.lookup("PayloadRemovalDisallowed"); v != nil {
		if v.kind != kindBool {
			return fmt.Errorf("The profile's PayloadRemovalDisallowed is %s, not true or false.", v.kind)
		}
		p.Removal = v.b
	}
	content := root.lookup("PayloadContent")
	if content == nil {
		return nil
	}
	if content.kind != kindArray {
		return fmt.Errorf("The profile's PayloadContent is %s, not an array of payloads.", content.kind)
	}
	for i := range content.list {
		payload := &content.list[i]
		owner := fmt.Sprintf("Payload %d", i+1)
		if payload.kind != kindDict {
			return fmt.Errorf("Payload %d in the profile's PayloadContent is %s, not a dictionary.", i+1, payload.kind)
		}
		typ, err := stringField(payload, "PayloadType", owner, true)
		if err != nil {
			return err
		}
		p.Payloads = append(p.Payloads, typ)
	}
	return nil
}

// stringField returns the string under key in dict, checked to be UTF-8
// and clipped to maxTextRunes; owner names the dictionary in errors ("The
// profile", "Payload 2"). A missing or blank required field is an error.
func stringField(dict *value, key, owner string, required bool) (string, error) {
	v := dict.lookup(key)
	if v == nil {
		if required {
			return "", fmt.Errorf("%s has no %s.", owner, key)
		}
		return "", nil
	}
	if v.kind != kindString {
		return "", fmt.Errorf("%s's %s is %s, not a string.", owner, key, v.kind)
	}
	if !utf8.ValidString(v.s) {
		return "", fmt.Errorf("%s's %s is not valid UTF-8 text; save the profile as UTF-8 and upload it again.", owner, key)
	}
	if required && strings.TrimSpace(v.s) == "" {
		return "", fmt.Errorf("%s's %s is empty.", owner, key)
	}
	return text.ClipRunes(v.s, maxTextRunes), nil
}

// excerpt makes a short, printable excerpt of text from the file for an
// error message: the runes that start in its first 40 bytes, with anything
// unprintable (controls, bidi overrides, invalid UTF-8) shown as '?'.
func excerpt(s string) string {
	const n = 40
	var b strings.Builder
	for i, r := range s {
		if i >= n {
			b.WriteString("…")
			break
		}
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// signerFrom describes cert as the signer of a profile.
func signerFrom(cert *x509.Certificate) *Signer {
	return &Signer{
		Subject:   text.ClipRunes(strings.ToValidUTF8(cert.Subject.String(), "?"), maxTextRunes),
		Issuer:    text.ClipRunes(strings.ToValidUTF8(cert.Issuer.String(), "?"), maxTextRunes),
		NotBefore: cert.NotBefore,
		NotAfter:  cert.NotAfter,
		SHA256:    fingerprint(cert.Raw),
	}
}
