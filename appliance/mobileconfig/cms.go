//lint:file-ignore ST1005 the errors are sentences shown to the admin who uploaded the file

package mobileconfig

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/smallstep/pkcs7"
)

// Bounds of a signed profile's CMS wrapper. A real one holds a certificate
// chain of a few hundred ASN.1 elements, about ten levels deep, and one
// signer.
const (
	maxASN1Depth    = 32
	maxASN1Elements = 50000
	maxSigners      = 8
)

var errCMSUnreadable = errors.New("The file looks like a signed profile, but its signature wrapper (CMS) cannot be read.")

var (
	oidSignedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidEnvelopedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}
)

// looksLikeCMS reports whether data opens like a DER or BER ContentInfo:
// a SEQUENCE whose first element is an OBJECT IDENTIFIER.
func looksLikeCMS(data []byte) bool {
	if len(data) < 3 || data[0] != 0x30 {
		return false
	}
	i := 2
	if l := data[1]; l > 0x80 {
		n := int(l & 0x7F)
		if n > 4 {
			return false
		}
		i += n
	}
	return len(data) > i && data[i] == 0x06
}

// unwrapCMS checks a signed profile and returns the content it signs and
// who signed it. The wrapper is first walked with bounds of our own and
// re-encoded with definite lengths, because pkcs7's BER converter recurses
// without a depth limit and rescans the input for every element of an
// indefinite-length one.
func unwrapCMS(data []byte) ([]byte, *Signer, error) {
	der, err := normalizeBER(data)
	if err != nil {
		return nil, nil, fmt.Errorf("The file looks like a signed profile, but its signature wrapper (CMS) is damaged: %w.", err)
	}
	var info struct {
		ContentType asn1.ObjectIdentifier
		Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
	}
	if _, err := asn1.Unmarshal(der, &info); err != nil {
		return nil, nil, errCMSUnreadable
	}
	switch {
	case info.ContentType.Equal(oidEnvelopedData):
		return nil, nil, errors.New("The profile is encrypted for one device; upload the profile before it was encrypted.")
	case !info.ContentType.Equal(oidSignedData):
		return nil, nil, errors.New("This file is not a configuration profile: it is a CMS (PKCS #7) message, but not a signed one.")
	}
	// pkcs7 ignores errors in the SignedData it unmarshals, so the head
	// of it is read here first: a detached signature is one without the
	// [0] content of its encapsulated content info. (For a RawValue,
	// encoding/asn1 keeps the explicit [0] itself, so info.Content.Bytes
	// holds the SignedData SEQUENCE.)
	var sd struct {
		Version          int
		DigestAlgorithms asn1.RawValue
		Encapsulated     struct {
			ContentType asn1.ObjectIdentifier
			Content     asn1.RawValue `asn1:"explicit,optional,tag:0"`
		}
	}
	if _, err := asn1.Unmarshal(info.Content.Bytes, &sd); err != nil {
		return nil, nil, errCMSUnreadable
	}
	if len(sd.Encapsulated.Content.FullBytes) == 0 {
		return nil, nil, errors.New("The file is a signature without the profile it signs (a detached signature); upload the signed .mobileconfig file itself.")
	}
	p7, err := parsePKCS7(der)
	if err != nil {
		return nil, nil, errCMSUnreadable
	}
	switch {
	case len(p7.Content) == 0:
		return nil, nil, errors.New("The signed profile is empty: its signature covers no content.")
	case len(p7.Signers) == 0:
		return nil, nil, errors.New("The signed profile carries no signature; upload the profile unsigned or sign it again.")
	case len(p7.Signers) > maxSigners:
		return nil, nil, fmt.Errorf("The signed profile carries %d signatures, more than the %d the box checks; sign it once.", len(p7.Signers), maxSigners)
	}
	cert := signerCert(p7)
	if cert == nil {
		return nil, nil, errors.New("The signed profile does not include its signer's certificate; sign it again with the certificate included.")
	}
	signer := signerFrom(cert)
	signer.Valid = verifyPKCS7(p7)
	return p7.Content, signer, nil
}

// parsePKCS7 is pkcs7.Parse, with a panic in it taken as a refusal: the
// file is untrusted and the parser is not ours.
func parsePKCS7(der []byte) (p7 *pkcs7.PKCS7, err error) {
	defer func() {
		if recover() != nil {
			p7, err = nil, errors.New("pkcs7: panic")
		}
	}()
	return pkcs7.Parse(der)
}

// verifyPKCS7 reports whether every signature in p7 verifies against the
// certificates it carries; it trusts no root and checks no chain.
func verifyPKCS7(p7 *pkcs7.PKCS7) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return p7.Verify() == nil
}

// signerCert returns the certificate of the first signer: the one whose
// issuer and serial number the signer info names.
func signerCert(p7 *pkcs7.PKCS7) *x509.Certificate {
	ias := p7.Signers[0].IssuerAndSerialNumber
	if ias.SerialNumber == nil {
		return nil
	}
	for _, c := range p7.Certificates {
		if c.SerialNumber != nil && c.SerialNumber.Cmp(ias.SerialNumber) == 0 && bytes.Equal(c.RawIssuer, ias.IssuerName.FullBytes) {
			return c
		}
	}
	return nil
}

// fingerprint is the lowercase hexadecimal SHA-256 of der.
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:])
}

// normalizeBER checks that data is exactly one BER element, at most
// maxASN1Depth deep and maxASN1Elements large, and returns it with every
// length in its shortest definite form (DER's, though it does not sort
// SETs). Where data already is so, the result shares its bytes.
func normalizeBER(data []byte) ([]byte, error) {
	w := berWalker{}
	out, _, rest, err := w.element(data, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, errors.New("there are bytes after its end")
	}
	return out, nil
}

// berWalker counts the elements seen by normalizeBER.
type berWalker struct{ elements int }

var errBERShort = errors.New("it ends early; the file may be truncated")

// element reads one element from the start of b. It returns the element
// re-encoded, whether that differs from its input bytes, and what follows.
func (w *berWalker) element(b []byte, depth int) (out []byte, changed bool, rest []byte, err error) {
	w.elements++
	if w.elements > maxASN1Elements {
		return nil, false, nil, fmt.Errorf("it has more than %d elements", maxASN1Elements)
	}
	if depth >= maxASN1Depth {
		return nil, false, nil, fmt.Errorf("it nests more than %d levels deep", maxASN1Depth)
	}
	// Identifier: one byte, or more for tag numbers of 31 and up.
	i := 1
	if len(b) < 2 {
		return nil, false, nil, errBERShort
	}
	if b[0]&0x1F == 0x1F {
		for {
			if i >= len(b) {
				return nil, false, nil, errBERShort
			}
			if i > 4 {
				return nil, false, nil, errors.New("it has a tag number too large for CMS")
			}
			c := b[i]
			i++
			if c&0x80 == 0 {
				break
			}
		}
	}
	tag, constructed := b[:i], b[0]&0x20 != 0
	if i >= len(b) {
		return nil, false, nil, errBERShort
	}
	// Length: short form, long form of up to 4 bytes, or indefinite.
	l := b[i]
	i++
	indefinite := l == 0x80
	length := 0
	switch {
	case l < 0x80:
		length = int(l)
	case indefinite:
		if !constructed {
			return nil, false, nil, errors.New("it has a primitive element of indefinite length")
		}
	case l > 0x80:
		n := int(l & 0x7F)
		if n > 4 || l == 0xFF {
			return nil, false, nil, errors.New("it has a length too large for CMS")
		}
		if len(b)-i < n {
			return nil, false, nil, errBERShort
		}
		v := beUint(b[i : i+n])
		if v > uint64(len(b)-i-n) {
			return nil, false, nil, errBERShort
		}
		length = int(v)
		changed = length < 0x80 || b[i] == 0 // not the shortest form
		i += n
	}
	body := b[i:]
	if length > len(body) {
		return nil, false, nil, errBERShort
	}
	if !constructed {
		if !changed {
			return b[:i+length], false, body[length:], nil
		}
		return appendTLV(nil, tag, body[:length]), true, body[length:], nil
	}
	// Constructed: the children, up to the length or an end-of-contents.
	var kids []byte
	var kidsChanged bool
	content := body
	if !indefinite {
		content = body[:length]
	}
	for {
		if indefinite {
			if len(content) >= 2 && content[0] == 0 && content[1] == 0 {
				rest = content[2:]
				break
			}
		} else if len(content) == 0 {
			rest = body[length:]
			break
		}
		kid, c, after, err := w.element(content, depth+1)
		if err != nil {
			return nil, false, nil, err
		}
		kids, kidsChanged = append(kids, kid...), kidsChanged || c
		content = after
	}
	if !indefinite && !changed && !kidsChanged {
		return b[:i+length], false, rest, nil
	}
	return appendTLV(nil, tag, kids), true, rest, nil
}

// appendTLV appends tag, the shortest definite length of content, and
// content to dst.
func appendTLV(dst, tag, content []byte) []byte {
	dst = append(dst, tag...)
	n := len(content)
	switch {
	case n < 0x80:
		dst = append(dst, byte(n))
	case n <= 0xFF:
		dst = append(dst, 0x81, byte(n))
	case n <= 0xFFFF:
		dst = append(dst, 0x82, byte(n>>8), byte(n))
	case n <= 0xFFFFFF:
		dst = append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, content...)
}
