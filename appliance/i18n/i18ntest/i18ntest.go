// Package i18ntest finds the catalog keys a package uses, so its tests can
// check that each is in the catalog in every language.
package i18ntest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/appliance/i18n"
)

// keyCalls are the calls whose string literals are catalog keys, with the
// argument positions (0-based) that hold them.
var keyCalls = map[string][]int{
	"i18n.T":    {1},    // i18n.T(lang, key, ...)
	"Error":     {1, 2}, // Error(code, msg, next) in package web
	"web.Error": {1, 2},
	"jsonError": {2}, // jsonError(w, code, msg)
	"p.view":    {2}, // p.view(r, site, title)
	"fe.add":    {1}, // desk's form errors
	"say":       {0}, // the support app's lines
	"s.say":     {0},
	"s.t":       {0},
	"tr":        {0},
}

// GoKeys returns the keys used by the non-test Go files matching glob:
// string literals passed where keyCalls says, and the values of
// FieldErrors literals; a fmt.Sprintf there counts by its format.
func GoKeys(t *testing.T, glob string) []string {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files match %s", glob)
	}
	var out []string
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				for _, i := range keyCalls[callName(n)] {
					if i < len(n.Args) {
						out = appendLit(out, n.Args[i])
					}
				}
			case *ast.CompositeLit:
				switch typ := n.Type.(type) {
				case *ast.SelectorExpr: // web.FieldErrors{"field": "message"}
					if typ.Sel.Name == "FieldErrors" {
						for _, el := range n.Elts {
							if kv, ok := el.(*ast.KeyValueExpr); ok {
								out = appendLit(out, kv.Value)
							}
						}
					}
				case *ast.Ident: // desk's FieldError{"field", "message"}
					if typ.Name == "FieldError" && len(n.Elts) == 2 {
						out = appendLit(out, n.Elts[1])
					}
				}
			}
			return true
		})
	}
	return out
}

// callName is the called function as written: "Error", "web.Error",
// "p.view" ("" for longer selectors such as p.log.Error).
func callName(c *ast.CallExpr) string {
	switch f := c.Fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		if x, ok := f.X.(*ast.Ident); ok {
			return x.Name + "." + f.Sel.Name
		}
	}
	return ""
}

// appendLit appends e if it is a string literal, or the format of a
// fmt.Sprintf of one.
func appendLit(out []string, e ast.Expr) []string {
	if c, ok := e.(*ast.CallExpr); ok && callName(c) == "fmt.Sprintf" && len(c.Args) > 0 {
		e = c.Args[0]
	}
	if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
		if s, err := strconv.Unquote(lit.Value); err == nil && s != "" {
			out = append(out, s)
		}
	}
	return out
}

var templateKeyRe = regexp.MustCompile(`\.T "((?:[^"\\]|\\.)*)"`)

// TemplateKeys returns the keys the templates matching glob pass to .T.
func TemplateKeys(t *testing.T, glob string) []string {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates match %s", glob)
	}
	var out []string
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range templateKeyRe.FindAllSubmatch(b, -1) {
			s, err := strconv.Unquote(`"` + string(m[1]) + `"`)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out = append(out, s)
		}
	}
	return out
}

// CheckInCatalog fails for each key the catalog lacks; with the
// environment variable I18N_MISSING set, it also writes them to that
// file as English records, to translate.
func CheckInCatalog(t *testing.T, keys []string) {
	t.Helper()
	var missing []string
	seen := map[string]bool{}
	for _, k := range keys {
		if !i18n.Has(k) && !seen[k] {
			seen[k] = true
			missing = append(missing, k)
			t.Errorf("%q is not in the catalog (appliance/i18n/catalog.txt)", k)
		}
	}
	if out := os.Getenv("I18N_MISSING"); out != "" && len(missing) > 0 {
		f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, k := range missing {
			f.WriteString("en: " + k + "\n\n")
		}
	}
}
