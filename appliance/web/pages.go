package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
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

	CSRF  string
	Brand string
}

// Notice is one important message: Severity is "info", "warning" or
// "outage".
type Notice struct {
	Severity string `json:"severity"`
	Title    string `json:"title"`
	Text     string `json:"text"`
}

// Value returns what the person typed in field name.
func (v View) Value(name string) string { return v.Form.Get(name) }

// Err returns the message for field name, if any.
func (v View) Err(name string) string { return v.Errors[name] }

// Pages is the set of page templates, each parsed together with the base
// layout. html/template escapes everything a person typed.
type Pages struct {
	rt   *Router
	mu   sync.RWMutex
	base *template.Template
	set  map[string]*template.Template
}

func newPages(rt *Router) *Pages {
	base := template.Must(template.New("layout.html").Funcs(template.FuncMap{
		"asset":   assetURL,
		"initial": initial,
		"bytes":   Bytes,
	}).ParseFS(baseTemplates, "templates/layout.html"))
	p := &Pages{rt: rt, base: base, set: map[string]*template.Template{}}
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
	p.mu.RLock()
	t := p.set[name]
	p.mu.RUnlock()
	if t == nil {
		return fmt.Errorf("web: no page %q", name)
	}
	v.CSRF = p.rt.CSRFToken(w, r)
	v.Brand = p.rt.cfg.Brand
	if v.Home == "" {
		v.Home = "/"
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", v); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
	return nil
}

// renderError shows the error page, in the look of the surface the
// request is on (see Router.ErrorLook); it never fails.
func (p *Pages) renderError(w http.ResponseWriter, r *http.Request, he *HTTPError) {
	var v View
	for _, look := range p.rt.looks {
		if lv, ok := look(r); ok {
			v = lv
			break
		}
	}
	v.Title, v.Data = he.Msg, he
	err := p.Render(w, r, he.Code, "error.html", v)
	if err != nil {
		http.Error(w, he.Msg, he.Code)
	}
}

// initial is the first letter of s, for avatars.
func initial(s string) string {
	for _, r := range s {
		return string(unicode.ToUpper(r))
	}
	return ""
}
