package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/appliance/auth"
	"github.com/switchboardhq/switchboard/appliance/desk"
)

// ErrorText holds a front end's own words for the domain errors whose
// meaning depends on where they happen (a missing session in the console,
// an ended one on the public site); nil fields take the common words.
type ErrorText struct {
	NotFound, Forbidden, State *HTTPError
}

// Common words for the domain errors.
var (
	errState = Error(http.StatusConflict, "This has changed in the meantime, so nothing was done.", "Reload the page to see where it stands.")
	errAgree = Error(http.StatusConflict, "The customer has not accepted the site's agreement yet, so the session cannot be accepted.",
		"It can be accepted as soon as the customer agrees; the queue shows it then.")
)

// Map is the one mapping from the domain's typed errors to the errors
// people see, with the code and the words: what happened and what to do.
// An *HTTPError passes as it is; an error it does not know stays as it is
// (a 500 whose details go to the log only). Every handler's error goes
// through it with the common words (see Router); a front end calls it
// first with its own ErrorText where the words differ.
func (t ErrorText) Map(err error) error {
	if err == nil {
		return nil
	}
	var (
		he *HTTPError
		dt *desk.ThrottledError
		at *auth.ThrottledError
	)
	with := func(base, own *HTTPError) error {
		if own != nil {
			base = own
		}
		return &HTTPError{Code: base.Code, Msg: base.Msg, Next: base.Next, Err: err}
	}
	switch {
	case errors.As(err, &he):
		return err
	case errors.As(err, &dt):
		return &HTTPError{Code: http.StatusTooManyRequests, Msg: "There were too many attempts.", Next: "Wait " + seconds(dt.Wait) + ", then try again.", Err: err}
	case errors.As(err, &at):
		return &HTTPError{Code: http.StatusTooManyRequests, Msg: "There were too many attempts.", Next: "Wait " + seconds(at.RetryAfter) + ", then try again.", Err: err}
	case errors.Is(err, desk.ErrAwaitingAgreement):
		return with(errAgree, nil)
	case errors.Is(err, desk.ErrForbidden):
		return with(ErrForbidden, t.Forbidden)
	case errors.Is(err, desk.ErrNotFound), errors.Is(err, auth.ErrNotFound):
		return with(ErrNotFound, t.NotFound)
	case errors.Is(err, desk.ErrState):
		return with(errState, t.State)
	case errors.Is(err, desk.ErrInUse):
		msg, next := inUse(err)
		return &HTTPError{Code: http.StatusConflict, Msg: msg, Next: next, Err: err}
	}
	if fields := desk.Fields(err); len(fields) > 0 {
		return &HTTPError{Code: http.StatusBadRequest, Msg: fields[0].Msg, Next: "Correct it and try again.", Err: err}
	}
	return err
}

// AddFields puts the domain's messages about form fields in err into fe,
// to show next to the fields, and reports whether err was about fields.
func AddFields(fe FieldErrors, err error) bool {
	if fields := desk.Fields(err); fields != nil {
		for _, f := range fields {
			fe.Add(f.Field, f.Msg)
		}
		return true
	}
	var af *auth.FieldError
	switch {
	case errors.As(err, &af):
		fe.Add(af.Field, Sentence(af.Msg))
		return true
	case errors.Is(err, auth.ErrExists):
		fe.Add("username", "That username is already taken. Choose another.")
		return true
	}
	return false
}

// inUse splits the text of a desk.ErrInUse ("channel "X" is the default
// channel; make another channel the default first: in use") into what
// happened and what to do, as sentences.
func inUse(err error) (msg, next string) {
	text := strings.TrimSuffix(err.Error(), ": "+desk.ErrInUse.Error())
	msg, next, _ = strings.Cut(text, "; ")
	if next == "" {
		next = "Change what still uses it first, then try again."
	}
	return Sentence(msg), Sentence(next)
}

// Sentence capitalizes s and ends it with a full stop.
func Sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// seconds says d in whole seconds, at least one.
func seconds(d time.Duration) string {
	n := max(int(d.Round(time.Second)/time.Second), 1)
	if n == 1 {
		return "1 second"
	}
	return strconv.Itoa(n) + " seconds"
}
