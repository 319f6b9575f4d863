package web

import (
	"errors"
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/text"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxMultipartMemory bounds the in-memory part of multipart forms.
const maxMultipartMemory = 8 << 20

// parseForm parses the body once and refuses bodies over the limit and
// values that are not clean text.
func parseForm(r *http.Request) *HTTPError {
	if r.PostForm != nil {
		return nil
	}
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(maxMultipartMemory)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &HTTPError{Code: http.StatusRequestEntityTooLarge,
				Msg:  fmt.Sprintf("What you sent is larger than the %d bytes this page accepts.", mbe.Limit),
				Next: "Shorten the text or send a smaller file, then try again.", Err: err}
		}
		return &HTTPError{Code: http.StatusBadRequest, Msg: "The form could not be read.", Next: "Reload the page and try again.", Err: err}
	}
	for name, vals := range r.Form {
		if err := checkText(name); err != nil {
			return &HTTPError{Code: http.StatusBadRequest, Msg: "The form has a field name that is not plain text.", Next: "Reload the page and try again.", Err: err}
		}
		for _, v := range vals {
			if err := checkText(v); err != nil {
				return &HTTPError{Code: http.StatusBadRequest,
					Msg:  fmt.Sprintf("The field %q contains %v.", text.ClipRunes(name, 40), err),
					Next: "Remove those characters and submit again.", Err: err}
			}
		}
	}
	return nil
}

// Form parses the request's form (once) and returns its values, refusing
// invalid UTF-8 and control characters other than tab and line breaks.
func Form(r *http.Request) (url.Values, error) {
	if err := parseForm(r); err != nil {
		return nil, err
	}
	return r.PostForm, nil
}

// checkText accepts valid UTF-8 without control characters other than
// tab, CR and LF.
func checkText(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("bytes that are not valid UTF-8 text")
	}
	for _, c := range s {
		if c == '\t' || c == '\n' || c == '\r' {
			continue
		}
		if unicode.IsControl(c) || c == '\u2028' || c == '\u2029' || c == '\ufeff' {
			return errors.New("invisible control characters")
		}
	}
	return nil
}

// FieldErrors maps form field names to messages shown next to them.
type FieldErrors map[string]string

// Add records msg for field unless it already has one.
func (fe FieldErrors) Add(field, msg string) {
	if _, ok := fe[field]; !ok {
		fe[field] = msg
	}
}

// Any reports whether there are errors.
func (fe FieldErrors) Any() bool { return len(fe) > 0 }
