// Package web is the HTTP plumbing every browser surface shares: handlers
// that return errors, error pages, CSRF protection, security headers, cookies,
// the base layout and embedded, cache-busted assets, body limits and form
// checks, and the client address behind trusted proxies.
//
// Front ends (portal, console, admin, box) register routes on a [Router];
// [Router.Handler] wraps them so that no route can skip the checks.
package web

import (
	"errors"
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/i18n"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
)

// A Handler serves a request and returns an error instead of writing one.
// An *HTTPError picks the status and the message people see; any other error
// is logged and shown as a generic 500 page.
type Handler func(w http.ResponseWriter, r *http.Request) error

// HTTPError is an error with a status code and a message safe to show.
// Err carries details for the log only; it never reaches the client.
type HTTPError struct {
	Code int
	// Msg says what happened; Next says what to do about it.
	Msg, Next string
	Err       error
}

func (e *HTTPError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("http %d: %s: %v", e.Code, e.Msg, e.Err)
	}
	return fmt.Sprintf("http %d: %s", e.Code, e.Msg)
}

func (e *HTTPError) Unwrap() error { return e.Err }

// Status is the name of e's code ("Not Found").
func (e *HTTPError) Status() string { return http.StatusText(e.Code) }

// Error returns an *HTTPError with the given code, message and next step.
func Error(code int, msg, next string) *HTTPError {
	return &HTTPError{Code: code, Msg: msg, Next: next}
}

// Common errors.
var (
	ErrNotFound  = Error(http.StatusNotFound, "There is nothing at this address.", "Check the link, or start again from the home page.")
	ErrForbidden = Error(http.StatusForbidden, "Your account is not allowed to do this.", "Ask an administrator for access if you need it.")
)

// Redirect is returned by a handler to redirect with 303 See Other.
func Redirect(w http.ResponseWriter, r *http.Request, url string) error {
	http.Redirect(w, r, url, http.StatusSeeOther)
	return nil
}

// errorStatus picks the status and the texts shown for err.
func errorStatus(err error) *HTTPError {
	err = ErrorText{}.Map(err)
	var he *HTTPError
	if errors.As(err, &he) {
		return he
	}
	return &HTTPError{
		Code: http.StatusInternalServerError,
		Msg:  "Something went wrong on the appliance while handling this request.",
		Next: "Try again in a moment. If it keeps happening, an administrator will find the details in the appliance's log.",
		Err:  err,
	}
}

// serve runs h and turns its error, or a panic, into an error page.
func (rt *Router) serve(h Handler, w http.ResponseWriter, r *http.Request) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			rt.log.Error("handler panic", "route", r.Pattern, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			rt.writeError(w, r, errorStatus(errors.New("panic")))
		}
	}()
	if err := h(w, r); err != nil {
		he := errorStatus(err)
		if he.Code >= 500 {
			// The route pattern, not the path: paths can carry tokens.
			rt.log.Error("request failed", "method", r.Method, "route", r.Pattern, "err", err)
		} else if he.Err != nil {
			rt.log.Debug("request refused", "method", r.Method, "route", r.Pattern, "code", he.Code, "err", he.Err)
		}
		rt.writeError(w, r, he)
	}
}

// WriteError writes the error page for he; guards use it to answer before
// routing.
func (rt *Router) WriteError(w http.ResponseWriter, r *http.Request, he *HTTPError) {
	rt.writeError(w, r, he)
}

func (rt *Router) writeError(w http.ResponseWriter, r *http.Request, he *HTTPError) {
	if WantsJSON(r) {
		// Scripts read answers, and errors, as JSON.
		lang := rt.look(r).Lang
		je := jsonError{Error: i18n.Text(lang, he.Msg), Next: i18n.Text(lang, he.Next)}
		if fe := (FieldErrors{}); AddFields(fe, he) {
			for k, msg := range fe {
				fe[k] = i18n.Text(lang, msg)
			}
			je.Fields = fe
		}
		WriteJSON(w, he.Code, je)
		return
	}
	if rt.pages == nil {
		http.Error(w, he.Msg, he.Code)
		return
	}
	rt.pages.renderError(w, r, he)
}

// WantsJSON reports whether the request comes from a page's script, which
// reads answers (and errors) as JSON.
func WantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// jsonError is an error as the pages' scripts show it.
type jsonError struct {
	Error  string            `json:"error"`
	Next   string            `json:"next,omitempty"`
	Fields map[string]string `json:"fields,omitempty"`
}

// ErrorLook registers look to give the error pages of the requests it
// claims (ok) their surface's look: the public site's name and home, so a
// customer's error page looks like the rest of the site. The first look
// that claims a request wins; unclaimed ones get the plain layout.
func (rt *Router) ErrorLook(look func(r *http.Request) (View, bool)) {
	rt.looks = append(rt.looks, look)
}

// Logger is the logger handlers should use for extra context.
func (rt *Router) Logger() *slog.Logger { return rt.log }
