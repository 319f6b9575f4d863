package rules

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/switchboardhq/switchboard"

type pkg struct {
	ImportPath string
	Name       string
	Doc        string
	Imports    []string
	Deps       []string
	GoFiles    []string
}

// list runs go list over the whole module.
func list(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Name,Doc,Imports,Deps,GoFiles", mod+"/...")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []pkg
	dec := json.NewDecoder(out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func rel(path string) string { return strings.TrimPrefix(strings.TrimPrefix(path, mod), "/") }

func has(list []string, path string) bool {
	for _, p := range list {
		if p == path {
			return true
		}
	}
	return false
}

// hasUnder reports whether list holds dir or a package below it.
func hasUnder(list []string, dir string) (string, bool) {
	for _, p := range list {
		if p == dir || strings.HasPrefix(p, dir+"/") {
			return p, true
		}
	}
	return "", false
}

var (
	frontEnds = []string{"appliance/portal", "appliance/console", "appliance/admin", "appliance/box", "appliance/api"}
	// Packages allowed to import bbolt: the store and the domain packages.
	boltOwners = []string{"appliance/store", "appliance/auth", "appliance/desk"}
	engines    = []string{"appliance/relay", "appliance/rtc"}
)

func TestDependencyRules(t *testing.T) {
	for _, p := range list(t) {
		r := rel(p.ImportPath)
		for _, fe := range frontEnds {
			if r != fe {
				continue
			}
			// Domain packages use the store, so it is a transitive
			// dependency; a front end must not import it itself.
			for _, bad := range []string{mod + "/appliance/store", "go.etcd.io/bbolt"} {
				if has(p.Imports, bad) {
					t.Errorf("front end %s imports %s", r, bad)
				}
			}
			for _, other := range frontEnds {
				if other != fe && has(p.Deps, mod+"/"+other) {
					t.Errorf("front end %s depends on front end %s", r, other)
				}
			}
		}
		if has(p.Imports, "go.etcd.io/bbolt") && !has(boltOwners, r) && !strings.HasPrefix(r, "tools/") {
			t.Errorf("%s imports bbolt; only %v may", r, boltOwners)
		}
		for _, e := range engines {
			if r == e {
				for _, bad := range []string{"appliance/desk", "appliance/auth", "appliance/store"} {
					if has(p.Deps, mod+"/"+bad) {
						t.Errorf("engine %s depends on %s; declare an interface instead", r, bad)
					}
				}
			}
		}
		if r == "appliance/wire" {
			if dep, ok := hasUnder(p.Deps, mod); ok {
				t.Errorf("appliance/wire is a leaf but depends on %s", dep)
			}
		}
		if strings.HasPrefix(r, "hw") || strings.HasPrefix(r, "image") || strings.HasPrefix(r, "cmd/supportclient") {
			for _, d := range p.Deps {
				if (d == mod+"/appliance" || strings.HasPrefix(d, mod+"/appliance/")) && d != mod+"/appliance/wire" {
					t.Errorf("%s depends on %s", r, rel(d))
				}
			}
		}
		if has(p.Imports, mod+"/appliance") && r != "cmd/applianced" {
			t.Errorf("%s imports the composition root; only cmd/applianced may", r)
		}
	}
}

// TestEveryPackageHasADocComment requires "Package x ..." on every package
// ("Command x ..." is fine for a main package).
func TestEveryPackageHasADocComment(t *testing.T) {
	for _, p := range list(t) {
		want := "Package " + p.Name + " "
		if p.Name == "main" && strings.HasPrefix(p.Doc, "Command ") {
			continue
		}
		if !strings.HasPrefix(p.Doc, want) {
			t.Errorf("%s: package doc %q does not start with %q", rel(p.ImportPath), p.Doc, want)
		}
	}
}
