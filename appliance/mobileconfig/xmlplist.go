//lint:file-ignore ST1005 the errors are sentences shown to the admin who uploaded the file

package mobileconfig

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

var errEntity = errors.New("The profile's XML declares entities or an internal DTD subset, which configuration profiles never use; it is refused.")

// xmlParser reads an XML property list token by token. encoding/xml in
// Strict mode checks well-formedness and expands only the five predefined
// entities; the parser refuses any DTD that could declare more, and
// everything that is not part of a property list.
type xmlParser struct {
	d           *xml.Decoder
	budget      budget
	badEncoding bool // the document declared an encoding other than UTF-8
}

// parseXML parses an XML property list, optionally opened by a UTF-8 byte
// order mark.
func parseXML(data []byte) (value, error) {
	p := &xmlParser{d: xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, utf8BOM)))}
	p.d.Strict = true
	p.d.CharsetReader = func(string, io.Reader) (io.Reader, error) {
		p.badEncoding = true
		return nil, errors.New("not UTF-8")
	}
	return p.document()
}

// fail returns an error locating a problem in the document.
func (p *xmlParser) fail(format string, args ...any) error {
	line, _ := p.d.InputPos()
	return fmt.Errorf("The profile's XML is not a valid property list: on line %d, %s.", line, fmt.Sprintf(format, args...))
}

// token returns the next token, translating the decoder's errors.
func (p *xmlParser) token() (xml.Token, error) {
	tok, err := p.d.Token()
	switch {
	case err == nil:
		return tok, nil
	case err == io.EOF:
		return nil, err
	case p.badEncoding:
		return nil, errors.New("The profile's XML declares an encoding other than UTF-8; save it as UTF-8 and upload it again.")
	}
	var syn *xml.SyntaxError
	if errors.As(err, &syn) {
		return nil, fmt.Errorf("The profile's XML is not well-formed: on line %d, %s.", syn.Line, excerpt(strings.TrimPrefix(syn.Msg, "xml: ")))
	}
	return nil, errors.New("The profile's XML is not well-formed.")
}

// document reads the prolog, the one <plist> element and what follows it.
func (p *xmlParser) document() (value, error) {
	var root value
	seenMarkup, seenDoctype, seenRoot := false, false, false
	for {
		tok, err := p.token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return value{}, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if !isSpace(t) {
				if !seenRoot {
					return value{}, errNotPlist
				}
				return value{}, p.fail("there is text after </plist>")
			}
			continue
		case xml.Comment:
		case xml.ProcInst:
			if t.Target != "xml" || seenMarkup {
				return value{}, p.fail("there is an unexpected <?%s …?> instruction", excerpt(t.Target))
			}
		case xml.Directive:
			if seenRoot || seenDoctype {
				return value{}, p.fail("there is an unexpected <!…> declaration")
			}
			if err := checkDoctype(t); err != nil {
				return value{}, err
			}
			seenDoctype = true
		case xml.StartElement:
			if seenRoot {
				return value{}, p.fail("there is a second element after </plist>")
			}
			if t.Name.Local != "plist" || t.Name.Space != "" {
				return value{}, errNotPlist
			}
			seenRoot = true
			if root, err = p.plist(); err != nil {
				return value{}, err
			}
		}
		seenMarkup = true
	}
	if !seenRoot {
		return value{}, errNotPlist
	}
	return root, nil
}

// checkDoctype accepts only <!DOCTYPE plist …> without an internal subset.
func checkDoctype(d xml.Directive) error {
	if bytes.IndexByte(d, '[') >= 0 || bytes.Contains(bytes.ToUpper(d), []byte("ENTITY")) {
		return errEntity
	}
	f := strings.Fields(string(d))
	if len(f) < 2 || f[0] != "DOCTYPE" || f[1] != "plist" {
		return errNotPlist
	}
	return nil
}

// plist reads the one value inside <plist> and its end tag.
func (p *xmlParser) plist() (value, error) {
	tok, err := p.next()
	if err != nil {
		return value{}, err
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return value{}, p.fail("the <plist> element is empty")
	}
	v, err := p.value(start, 0)
	if err != nil {
		return value{}, err
	}
	tok, err = p.next()
	if err != nil {
		return value{}, err
	}
	if _, ok := tok.(xml.EndElement); !ok {
		return value{}, p.fail("the <plist> element holds more than one value")
	}
	return v, nil
}

// next returns the next start or end tag between values, skipping comments
// and white space; anything else there is an error.
func (p *xmlParser) next() (xml.Token, error) {
	for {
		tok, err := p.token()
		if err == io.EOF {
			return nil, p.fail("the document ends before its elements are closed")
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement, xml.EndElement:
			return t, nil
		case xml.CharData:
			if !isSpace(t) {
				return nil, p.fail("there is text %q outside <string> or <key>", excerpt(strings.TrimSpace(string(t))))
			}
		case xml.Comment:
		case xml.ProcInst:
			return nil, p.fail("there is an unexpected <?%s …?> instruction", excerpt(t.Target))
		case xml.Directive:
			if err := checkDoctype(t); errors.Is(err, errEntity) {
				return nil, err
			}
			return nil, p.fail("there is an unexpected <!…> declaration")
		}
	}
}

// text returns the character data of a scalar element up to its end tag.
func (p *xmlParser) text(name string) (string, error) {
	var b strings.Builder
	for {
		tok, err := p.token()
		if err == io.EOF {
			return "", p.fail("the document ends inside <%s>", name)
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.EndElement:
			return b.String(), nil
		case xml.StartElement:
			return "", p.fail("<%s> holds an element <%s>, but it can hold only text", name, excerpt(t.Name.Local))
		case xml.Comment:
		default:
			return "", p.fail("<%s> holds something other than text", name)
		}
	}
}

// value reads the element that start opens; depth counts the arrays and
// dictionaries around it.
func (p *xmlParser) value(start xml.StartElement, depth int) (value, error) {
	if err := p.budget.take(1); err != nil {
		return value{}, err
	}
	name := start.Name.Local
	if start.Name.Space != "" {
		return value{}, p.fail("<%s:%s> is not a property-list element", excerpt(start.Name.Space), excerpt(name))
	}
	switch name {
	case "dict":
		return p.dict(depth + 1)
	case "array":
		return p.array(depth + 1)
	case "key":
		return value{}, p.fail("a <key> stands outside a <dict>")
	}
	s, err := p.text(name)
	if err != nil {
		return value{}, err
	}
	trimmed := strings.TrimSpace(s)
	switch name {
	case "string":
		return value{kind: kindString, s: s}, nil
	case "integer":
		if !isInteger(trimmed) {
			return value{}, p.fail("<integer>%s</integer> is not a whole number", excerpt(trimmed))
		}
		return value{kind: kindInteger}, nil
	case "real":
		if _, err := strconv.ParseFloat(trimmed, 64); err != nil {
			return value{}, p.fail("<real>%s</real> is not a number", excerpt(trimmed))
		}
		return value{kind: kindReal}, nil
	case "date":
		if _, err := time.Parse(time.RFC3339, trimmed); err != nil {
			return value{}, p.fail("<date>%s</date> is not a date such as 2025-01-31T12:00:00Z", excerpt(trimmed))
		}
		return value{kind: kindDate}, nil
	case "data":
		if !isBase64(s) {
			return value{}, p.fail("<data> does not hold base64")
		}
		return value{kind: kindData}, nil
	case "true", "false":
		if trimmed != "" {
			return value{}, p.fail("<%s> must be empty", name)
		}
		return value{kind: kindBool, b: name == "true"}, nil
	}
	return value{}, p.fail("<%s> is not a property-list element", excerpt(name))
}

// array reads the elements of an <array> up to its end tag.
func (p *xmlParser) array(depth int) (value, error) {
	if depth > maxDepth {
		return value{}, errTooDeep
	}
	v := value{kind: kindArray}
	for {
		tok, err := p.next()
		if err != nil {
			return value{}, err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			return v, nil
		}
		elem, err := p.value(start, depth)
		if err != nil {
			return value{}, err
		}
		v.list = append(v.list, elem)
	}
}

// dict reads the <key> and value pairs of a <dict> up to its end tag.
func (p *xmlParser) dict(depth int) (value, error) {
	if depth > maxDepth {
		return value{}, errTooDeep
	}
	v := value{kind: kindDict}
	seen := map[string]struct{}{}
	for {
		tok, err := p.next()
		if err != nil {
			return value{}, err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			return v, nil
		}
		if start.Name.Local != "key" || start.Name.Space != "" {
			return value{}, p.fail("a dictionary holds <%s> where a <key> belongs", excerpt(start.Name.Local))
		}
		if err := p.budget.take(1); err != nil {
			return value{}, err
		}
		key, err := p.text("key")
		if err != nil {
			return value{}, err
		}
		if _, dup := seen[key]; dup {
			return value{}, p.fail("the key %q appears twice in one dictionary", excerpt(key))
		}
		seen[key] = struct{}{}
		tok, err = p.next()
		if err != nil {
			return value{}, err
		}
		start, ok = tok.(xml.StartElement)
		if !ok || start.Name.Local == "key" && start.Name.Space == "" {
			return value{}, p.fail("the key %q has no value", excerpt(key))
		}
		elem, err := p.value(start, depth)
		if err != nil {
			return value{}, err
		}
		v.keys = append(v.keys, key)
		v.list = append(v.list, elem)
	}
}

// isSpace reports whether b is only XML white space.
func isSpace(b []byte) bool {
	return len(bytes.TrimLeft(b, " \t\r\n")) == 0
}

// isInteger reports whether s is an integer as property lists write it:
// decimal or 0x-hexadecimal with an optional sign, within 64 bits (signed,
// or unsigned for large positive values).
func isInteger(s string) bool {
	neg := strings.HasPrefix(s, "-")
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	base := 10
	if rest, ok := strings.CutPrefix(strings.ToLower(digits), "0x"); ok {
		digits, base = rest, 16
	}
	if digits == "" || strings.ContainsAny(digits, "+-_") {
		return false
	}
	if neg {
		_, err := strconv.ParseInt("-"+digits, base, 64)
		return err == nil
	}
	_, err := strconv.ParseUint(digits, base, 64)
	return err == nil
}

// isBase64 reports whether s is base64, with white space anywhere.
func isBase64(s string) bool {
	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, s)
	_, err := base64.StdEncoding.DecodeString(clean)
	return err == nil
}
