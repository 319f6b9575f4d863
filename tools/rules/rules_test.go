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

// The packages of the module, each in the one class that says what it may
// depend on. Every package must be listed here and every listed package
// must exist, so a new package is classified when it is added.
var (
	root      = "appliance"
	frontEnds = []string{"appliance/portal", "appliance/console", "appliance/admin", "appliance/box", "appliance/menu"}
	// Shared by the front ends; not front ends themselves.
	frontHelpers = []string{"appliance/web", "appliance/account"}
	// Packages allowed to import bbolt: the store and the domain packages.
	boltOwners = []string{"appliance/store", "appliance/auth", "appliance/desk", "appliance/samlsp", "appliance/netcfg", "appliance/tlscert"}
	engines    = []string{"appliance/relay", "appliance/rtc"}
	// Leaves: nothing from the module, or only other leaves of wire.
	wireLeaves = []string{"appliance/wire", "appliance/wire/stamp", "appliance/wire/tile"}
	// Infrastructure the composition root and others use; no desk, auth,
	// store or front end.
	infra = []string{"appliance/bus", "appliance/config", "appliance/sysd", "appliance/update", "appliance/clients", "appliance/text", "appliance/mobileconfig"}
	// The message catalog, shared by the box and the support app: a leaf
	// (nothing from the module).
	catalog  = []string{"appliance/i18n"}
	commands = []string{"cmd/applianced", "cmd/mkbundle", "cmd/mkimage"}
	// The support app: appliance/wire and its subpackages, and the catalog.
	client   = []string{"cmd/supportclient", "cmd/supportclient/client", "cmd/supportclient/prompt", "cmd/supportclient/x11", "cmd/supportclient/win32"}
	hardware = []string{"hw", "hw/linux", "hw/sim"}
	images   = []string{"image", "image/bundle"}
	tools    = []string{"appliance/i18n/i18ntest", "appliance/samlsp/samltest", "tools/bench", "tools/daemon", "tools/deskfix", "tools/e2e", "tools/qemu", "tools/rules", "tools/testenv", "tools/wintarget"}
)

func classes() [][]string {
	return [][]string{{root}, frontEnds, frontHelpers, boltOwners, engines, wireLeaves, infra, catalog, commands, client, hardware, images, tools}
}

// TestEveryPackageIsClassified: the lists above name exactly the module's
// packages.
func TestEveryPackageIsClassified(t *testing.T) {
	seen := map[string]int{}
	for _, c := range classes() {
		for _, p := range c {
			seen[p]++
		}
	}
	for _, p := range list(t) {
		r := rel(p.ImportPath)
		switch seen[r] {
		case 0:
			t.Errorf("package %s is in no class of the rules test: add it to one", r)
		case 1:
		default:
			t.Errorf("package %s is in %d classes", r, seen[r])
		}
		delete(seen, r)
	}
	for p := range seen {
		t.Errorf("the rules test names %s, which does not exist", p)
	}
}

func TestDependencyRules(t *testing.T) {
	inModule := func(deps []string) []string {
		var out []string
		for _, d := range deps {
			if d == mod || strings.HasPrefix(d, mod+"/") {
				out = append(out, rel(d))
			}
		}
		return out
	}
	for _, p := range list(t) {
		r := rel(p.ImportPath)
		deps := inModule(p.Deps)
		if has(frontEnds, r) {
			// Domain packages use the store, so it is a transitive
			// dependency; a front end must not import it itself.
			for _, bad := range []string{mod + "/appliance/store", "go.etcd.io/bbolt"} {
				if has(p.Imports, bad) {
					t.Errorf("front end %s imports %s", r, bad)
				}
			}
			for _, other := range frontEnds {
				if other != r && has(deps, other) {
					t.Errorf("front end %s depends on front end %s", r, other)
				}
			}
		}
		if has(frontHelpers, r) {
			for _, fe := range frontEnds {
				if has(deps, fe) {
					t.Errorf("%s is shared by the front ends but depends on %s", r, fe)
				}
			}
		}
		if has(p.Imports, "go.etcd.io/bbolt") && !has(boltOwners, r) && !has(tools, r) {
			t.Errorf("%s imports bbolt; only %v may", r, boltOwners)
		}
		if has(engines, r) || has(infra, r) {
			for _, bad := range append([]string{"appliance/desk", "appliance/auth", "appliance/store"}, frontEnds...) {
				if has(deps, bad) {
					t.Errorf("%s depends on %s; declare an interface instead", r, bad)
				}
			}
		}
		if has(wireLeaves, r) {
			for _, d := range deps {
				if !has(wireLeaves, d) {
					t.Errorf("%s is a leaf but depends on %s", r, d)
				}
			}
		}
		if has(catalog, r) && len(deps) > 0 {
			t.Errorf("%s is a leaf but depends on %v", r, deps)
		}
		if has(client, r) || has(hardware, r) || has(images, r) {
			for _, d := range deps {
				if (d == root || strings.HasPrefix(d, root+"/")) && !has(wireLeaves, d) && !(has(client, r) && has(catalog, d)) {
					t.Errorf("%s depends on %s", r, d)
				}
			}
		}
		if strings.HasPrefix(r, "appliance") {
			if d, ok := hasUnder(deps, "cmd"); ok {
				t.Errorf("%s depends on the command package %s", r, d)
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
