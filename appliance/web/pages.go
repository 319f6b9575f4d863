package web

import (
	"bytes"
	"embed"
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/i18n"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

//go:embed templates/*.html
var baseTemplates embed.FS

// NavLink is one entry of a surface's navigation.
type NavLink struct {
	Label, Href string
	Current     bool
}

// View is what every page template receives. Page-specific values go in Data.
type View struct {
	Title   string
	Surface string // "Site administration", "Appliance", ...
	Home    string // where the brand links to
	Nav     []NavLink
	User    string // display name of the signed-in person, if any
	SignOut string // action of the sign-out form, if signed in
	Flash   string // a one-line confirmation ("User added.")
	Errors  FieldErrors
	Form    url.Values // what the person typed, to fill forms again
	Data    any
	// Notices are important messages shown above the page's content
	// (a public site's announcements), most severe first.
	Notices []Notice
	// Logo and Style are a public site's logo and stylesheet (its accent
	// colour) URLs, if it has them.
	Logo, Style string

	// Lang is the language the page is in (i18n); "" is English. Langs,
	// when set, shows the language picker, which returns to Here.
	Lang  string
	Langs []LangOption
	Here  string
	// Strings is the JSON table the page's scripts translate with.
	Strings string

	CSRF  string
	Brand string
}

// LangOption is one language of the picker.
type LangOption struct{ Code, Name string }

// T returns key in the page's language (i18n.T).
func (v View) T(key string, args ...any) string { return i18n.T(v.Lang, key, args...) }

// Text translates s, an English sentence from another layer (i18n.Text).
func (v View) Text(s string) string { return i18n.Text(v.Lang, s) }

// Notice is one important message: Severity is "info", "warning" or
// "outage".
type Notice struct {
	Severity string `json:"severity"`
	Title    string `json:"title"`
	Text     string `json:"text"`
}

// Value returns what the person typed in field name.
func (v View) Value(name string) string { return v.Form.Get(name) }

// Has reports whether the form's field name (a multiple choice) holds value.
func (v View) Has(name, value string) bool { return slices.Contains(v.Form[name], value) }

// Err returns the message for field name, if any.
func (v View) Err(name string) string { return i18n.Text(v.Lang, v.Errors[name]) }

// Pages is the set of page templates, each parsed together with the base
// layout. html/template escapes everything a person typed.
type Pages struct {
	rt   *Router
	mu   sync.RWMutex
	base *template.Template
	set  map[string]*template.Template
	// shared are renderings of RenderShared, split at the CSRF token.
	shared map[string][][]byte
}

func newPages(rt *Router) *Pages {
	base := template.Must(template.New("layout.html").Funcs(template.FuncMap{
		"asset":   assetURL,
		"initial": initial,
		"bytes":   Bytes,
	}).ParseFS(baseTemplates, "templates/layout.html"))
	p := &Pages{rt: rt, base: base, set: map[string]*template.Template{}, shared: map[string][][]byte{}}
	p.MustAdd(baseTemplates, "templates/error.html")
	return p
}

// MustAdd parses page templates from fsys; each file defines the blocks
// "title" and "content" and is registered under its base name. Files whose
// name starts with "_" are partials, parsed into every page of the call. It
// panics on a template error, which is a programming error any test finds.
func (p *Pages) MustAdd(fsys fs.FS, patterns ...string) {
	var pages, partials []string
	for _, pat := range patterns {
		names, err := fs.Glob(fsys, pat)
		if err != nil || len(names) == 0 {
			panic(fmt.Sprintf("web: no templates match %q", pat))
		}
		for _, name := range names {
			if strings.HasPrefix(baseName(name), "_") {
				partials = append(partials, name)
			} else {
				pages = append(pages, name)
			}
		}
	}
	for _, name := range pages {
		t := template.Must(p.base.Clone())
		if len(partials) > 0 {
			t = template.Must(t.ParseFS(fsys, partials...))
		}
		t = template.Must(t.ParseFS(fsys, name))
		p.mu.Lock()
		p.set[baseName(name)] = t
		p.mu.Unlock()
	}
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}

// Render writes page name with status. The page is rendered to a buffer
// first, so a template error becomes a clean 500 rather than half a page.
func (p *Pages) Render(w http.ResponseWriter, r *http.Request, status int, name string, v View) error {
	v.CSRF = p.rt.CSRFToken(w, r)
	body, err := p.execute(name, v)
	if err != nil {
		return err
	}
	p.write(w, r, status, [][]byte{body}, "")
	return nil
}

// execute renders page name with v.
func (p *Pages) execute(name string, v View) ([]byte, error) {
	p.mu.RLock()
	t := p.set[name]
	p.mu.RUnlock()
	if t == nil {
		return nil, fmt.Errorf("web: no page %q", name)
	}
	v.Brand = p.rt.cfg.Brand
	if v.Home == "" {
		v.Home = "/"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		return nil, fmt.Errorf("web: render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// write sends a rendered page: its parts joined by token.
func (p *Pages) write(w http.ResponseWriter, r *http.Request, status int, parts [][]byte, token string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	n := len(token) * (len(parts) - 1)
	for _, part := range parts {
		n += len(part)
	}
	h.Set("Content-Length", strconv.Itoa(n))
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	for i, part := range parts {
		if i > 0 {
			io.WriteString(w, token)
		}
		w.Write(part)
	}
}

// csrfMarker stands for the CSRF token in a shared rendering: letters and
// digits only, so no escaping changes it.
const csrfMarker = "sbCSRFmarker7Qe2VbN0pL9sT4wXk"

// maxShared bounds the shared renderings kept; past it they start over.
const maxShared = 512

// RenderShared writes page name like Render, from one rendering shared by
// every request with the same key: view builds the page's view and is
// called only when key has none yet. The key must name everything the
// view depends on (the data's version, the language, the time-dependent
// parts); only the CSRF token differs per request, spliced in.
func (p *Pages) RenderShared(w http.ResponseWriter, r *http.Request, status int, name, key string, view func() (View, error)) error {
	p.mu.RLock()
	parts := p.shared[key]
	p.mu.RUnlock()
	if parts == nil {
		v, err := view()
		if err != nil {
			return err
		}
		v.CSRF = csrfMarker
		body, err := p.execute(name, v)
		if err != nil {
			return err
		}
		parts = bytes.Split(body, []byte(csrfMarker))
		p.mu.Lock()
		if len(p.shared) >= maxShared {
			clear(p.shared)
		}
		p.shared[key] = parts
		p.mu.Unlock()
	}
	p.write(w, r, status, parts, p.rt.CSRFToken(w, r))
	return nil
}

// renderError shows the error page, in the look of the surface the
// request is on (see Router.ErrorLook); it never fails.
func (p *Pages) renderError(w http.ResponseWriter, r *http.Request, he *HTTPError) {
	v := p.rt.look(r)
	v.Title, v.Data = i18n.Text(v.Lang, he.Msg), he
	err := p.Render(w, r, he.Code, "error.html", v)
	if err != nil {
		http.Error(w, he.Msg, he.Code)
	}
}

// look is the view of the surface that claims r's error pages (see
// Router.ErrorLook), or the plain one.
func (rt *Router) look(r *http.Request) View {
	for _, look := range rt.looks {
		if v, ok := look(r); ok {
			return v
		}
	}
	return View{}
}

// initial is the first letter of s, for avatars.
func initial(s string) string {
	for _, r := range s {
		return string(unicode.ToUpper(r))
	}
	return ""
}
