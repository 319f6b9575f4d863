package samlsp

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
)

// The XML namespaces a response is read in.
const (
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
)

// MaxResponse bounds a decoded SAML response. Real ones are a few KiB
// (an assertion, a signature and a certificate).
const MaxResponse = 128 << 10

type xmlLimits struct{ depth, elements int }

// scanXML refuses what no SAML message needs and what parsers have been
// tricked with: document type declarations (entity expansion), processing
// instructions after the XML declaration, excessive depth or size.
func scanXML(raw []byte, lim xmlLimits) error {
	d := xml.NewDecoder(bytes.NewReader(raw))
	depth, n := 0, 0
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			if depth != 0 {
				return errors.New("the document ends inside an element")
			}
			return nil
		}
		if err != nil {
			return errors.New("the document is not well-formed XML")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			n++
			if depth > lim.depth {
				return fmt.Errorf("elements are nested more than %d deep", lim.depth)
			}
			if n > lim.elements {
				return fmt.Errorf("the document has more than %d elements", lim.elements)
			}
		case xml.EndElement:
			depth--
		case xml.Directive:
			return errors.New("the document has a document type declaration")
		case xml.ProcInst:
			if t.Target != "xml" || n > 0 {
				return errors.New("the document has a processing instruction")
			}
		}
	}
}

// Shape is what Precheck read from a response before the SAML library
// verifies it.
type Shape struct {
	ResponseID   string
	InResponseTo string
	AssertionID  string
}

// Refusals Precheck reports; each is also an ErrRefused.
var (
	ErrMalformed   = errors.New("the answer is not a well-formed SAML response")
	ErrUnsolicited = errors.New("the answer was not asked for (identity-provider-initiated sign-in is off)")
	ErrUnsigned    = errors.New("the assertion is not signed")
	ErrShape       = errors.New("the answer's structure is refused")
)

// Precheck reads a decoded SAML response with the standard library's
// tokenizer and refuses, before any signature code sees it, every shape a
// genuine single-assertion answer to our request never has:
//   - anything scanXML refuses, or more than MaxResponse bytes;
//   - a root that is not one samlp:Response, or a second Response anywhere
//     (response signature wrapping);
//   - no Assertion, or more than one anywhere, or an EncryptedAssertion
//     (assertion signature wrapping, several assertions);
//   - an Assertion without its own enveloped ds:Signature referencing it
//     (signed assertions are required, even in a signed response);
//   - two elements with the same ID attribute;
//   - a NameID holding a comment or an element (the comment truncation
//     attacks on canonicalization);
//   - no InResponseTo (unsolicited, IdP-initiated answers).
func Precheck(raw []byte) (Shape, error) {
	var sh Shape
	if len(raw) > MaxResponse {
		return sh, fmt.Errorf("%w: larger than %d KiB", ErrMalformed, MaxResponse>>10)
	}
	if err := scanXML(raw, xmlLimits{depth: 32, elements: 4000}); err != nil {
		return sh, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	var (
		stack      []xml.Name
		ids        = map[string]bool{}
		responses  int
		assertions int
		// assertionDepth is the depth of the assertion element (0: not in one).
		assertionDepth int
		sigDepth       int
		sigRef         string
		assertionSig   bool
		inNameID       bool
	)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sh, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if inNameID {
				return sh, fmt.Errorf("%w: NameID holds an element", ErrShape)
			}
			depth := len(stack) + 1
			for _, a := range t.Attr {
				if a.Name.Local == "ID" && a.Name.Space == "" {
					if ids[a.Value] {
						return sh, fmt.Errorf("%w: two elements share the ID %q", ErrShape, clip(a.Value, 64))
					}
					ids[a.Value] = true
				}
			}
			switch {
			case depth == 1:
				if t.Name.Space != nsProtocol || t.Name.Local != "Response" {
					return sh, fmt.Errorf("%w: the root element is not a samlp:Response", ErrMalformed)
				}
				responses++
				sh.ResponseID, sh.InResponseTo = attr(t, "ID"), attr(t, "InResponseTo")
			case t.Name.Space == nsProtocol && t.Name.Local == "Response":
				responses++
			case t.Name.Space == nsAssertion && t.Name.Local == "EncryptedAssertion":
				return sh, fmt.Errorf("%w: encrypted assertions are not accepted", ErrShape)
			case t.Name.Space == nsAssertion && t.Name.Local == "Assertion":
				assertions++
				if depth != 2 {
					return sh, fmt.Errorf("%w: an assertion is not a direct child of the response", ErrShape)
				}
				assertionDepth, sigRef = depth, ""
				sh.AssertionID = attr(t, "ID")
			case assertionDepth > 0 && depth == assertionDepth+1 && t.Name.Space == nsDSig && t.Name.Local == "Signature":
				sigDepth = depth
			case sigDepth > 0 && t.Name.Space == nsDSig && t.Name.Local == "Reference":
				if sigRef != "" {
					return sh, fmt.Errorf("%w: the assertion's signature has several references", ErrShape)
				}
				sigRef = attr(t, "URI")
			case t.Name.Space == nsAssertion && t.Name.Local == "NameID":
				inNameID = true
			}
			stack = append(stack, t.Name)
		case xml.EndElement:
			depth := len(stack)
			stack = stack[:depth-1]
			switch {
			case depth == sigDepth:
				sigDepth = 0
				if sigRef != "" && sigRef == "#"+sh.AssertionID {
					assertionSig = true
				}
			case depth == assertionDepth:
				assertionDepth = 0
			}
			if t.Name.Space == nsAssertion && t.Name.Local == "NameID" {
				inNameID = false
			}
		case xml.Comment:
			if inNameID {
				return sh, fmt.Errorf("%w: NameID holds a comment", ErrShape)
			}
		}
	}
	switch {
	case responses != 1:
		return sh, fmt.Errorf("%w: %d Response elements", ErrShape, responses)
	case assertions == 0:
		return sh, fmt.Errorf("%w: the response holds no assertion", ErrShape)
	case assertions > 1:
		return sh, fmt.Errorf("%w: %d assertions", ErrShape, assertions)
	case sh.AssertionID == "":
		return sh, fmt.Errorf("%w: the assertion has no ID", ErrShape)
	case !assertionSig:
		return sh, ErrUnsigned
	case sh.InResponseTo == "":
		return sh, ErrUnsolicited
	}
	return sh, nil
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value
		}
	}
	return ""
}
