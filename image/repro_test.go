package image

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/switchboardhq/switchboard/tools/testenv"
)

// TestReproducibleRoot builds the root image twice from scratch (two
// mmdebstrap runs and two builds of the support app, side by side) with the
// same inputs and SOURCE_DATE_EPOCH, and requires byte-identical squashfs
// files that carry the support app builds. It takes a few minutes, runs in
// parallel with the other tests, and needs root and the image build tools
// (make image-deps).
func TestReproducibleRoot(t *testing.T) {
	t.Parallel()
	testenv.RequireRoot(t)
	missing := MissingTools()
	testenv.Require(t, "image build tools", len(missing) == 0, "missing "+strings.Join(missing, ", ")+"; run `make image-deps`")
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(repo, ".cache", "image")
	if err := os.MkdirAll(filepath.Join(cache, "apt"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Under the cache, so that the package cache can be hard-linked.
	work, err := os.MkdirTemp(cache, "repro-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	p := DefaultProfile("0.1.0", 1700000000, repo, cache, work)
	ctx := context.Background()
	bin, err := BuildApplianced(ctx, &p, work)
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	roots := make([]string, 2)
	clients := make([]string, 2)
	bases := make([]string, 2)
	logs := make([]bytes.Buffer, 2)
	errs := make([]error, 2)
	for i := range 2 {
		dir := filepath.Join(work, fmt.Sprint("run", i))
		apt := filepath.Join(dir, "apt")
		if err := linkTree(filepath.Join(cache, "apt"), apt); err != nil {
			t.Fatal(err)
		}
		bases[i] = filepath.Join(dir, "base.tar")
		roots[i] = filepath.Join(dir, "root.squashfs")
		wg.Add(1)
		go func() {
			defer wg.Done()
			if clients[i], errs[i] = BuildClients(ctx, &p, dir); errs[i] != nil {
				return
			}
			if errs[i] = PrepareTo(ctx, &p, apt, bases[i], &logs[i]); errs[i] != nil {
				return
			}
			_, errs[i] = BuildRoot(ctx, &p, bases[i], bin, clients[i], roots[i])
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("build %d: %v\n%s", i+1, err, logs[i].String())
		}
	}
	for _, pl := range p.ClientPlatforms {
		a, b := fileHash(t, filepath.Join(clients[0], clientFile(pl))), fileHash(t, filepath.Join(clients[1], clientFile(pl)))
		if a != b {
			t.Errorf("two builds of the support app for %s differ: %x, %x", pl, a, b)
		}
	}
	a, b := fileHash(t, roots[0]), fileHash(t, roots[1])
	t.Logf("root.squashfs: %x, %x", a, b)
	if a != b {
		t.Errorf("two builds of the root image differ; differences in the base trees:\n%s", tarDiff(t, bases[0], bases[1]))
	}
	checkClients(t, &p, roots[0], clients[0])
}

// checkClients checks with rdsquashfs (squashfs-tools-ng, like tar2sqfs)
// that the root carries the support app builds in clients where applianced
// looks for them: root's, mode 755, dated SOURCE_DATE_EPOCH, same bytes.
func checkClients(t *testing.T, p *Profile, root, clients string) {
	t.Helper()
	rd := func(args ...string) []byte {
		t.Helper()
		out, err := exec.Command("rdsquashfs", append(args, root)...).Output()
		if err != nil {
			t.Fatalf("rdsquashfs %s: %v", strings.Join(args, " "), err)
		}
		return out
	}
	var want []string
	for _, pl := range p.ClientPlatforms {
		want = append(want, clientFile(pl))
	}
	sort.Strings(want)
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(string(rd("-l", "/"+clientsPath))), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			got = append(got, f[len(f)-1])
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("/%s in the root holds %v, want %v", clientsPath, got, want)
	}
	stat := regexp.MustCompile(`(?m)^Access: (\d+)\nUID: (\d+) .*\nGID: (\d+) .*\nLast modified: .*\((\d+)\)$`)
	for _, name := range append([]string{"usr/lib/switchboard", clientsPath}, func() (files []string) {
		for _, f := range want {
			files = append(files, clientsPath+"/"+f)
		}
		return files
	}()...) {
		m := stat.FindSubmatch(rd("-s", "/"+name))
		if want := fmt.Sprintf("0755 0 0 %d", p.SourceDateEpoch); m == nil || string(bytes.Join(m[1:], []byte(" "))) != want {
			t.Errorf("/%s in the root: mode, owner, group and time %q, want %q", name, m, want)
		}
	}
	for _, f := range want {
		body, err := os.ReadFile(filepath.Join(clients, f))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rd("-c", "/"+clientsPath+"/"+f), body) {
			t.Errorf("/%s/%s in the root is not the support app build", clientsPath, f)
		}
	}
}

// linkTree copies the regular files of src to dst as hard links.
func linkTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		return os.Link(path, to)
	})
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// tarDiff lists the entries whose header or contents differ between two
// tars, for the failure message.
func tarDiff(t *testing.T, a, b string) string {
	ea, eb := tarEntries(t, a), tarEntries(t, b)
	var diffs []string
	for name, x := range ea {
		if y, ok := eb[name]; !ok {
			diffs = append(diffs, "only in the first: "+name)
		} else if x != y {
			diffs = append(diffs, fmt.Sprintf("%s: %s / %s", name, x, y))
		}
	}
	for name := range eb {
		if _, ok := ea[name]; !ok {
			diffs = append(diffs, "only in the second: "+name)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 40 {
		diffs = append(diffs[:40], fmt.Sprintf("... and %d more", len(diffs)-40))
	}
	return strings.Join(diffs, "\n")
}

func tarEntries(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]string{}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return m
		}
		if err != nil {
			t.Fatal(err)
		}
		s := sha256.New()
		io.Copy(s, tr)
		m[h.Name] = fmt.Sprintf("mode %o uid %d gid %d mtime %d link %q sha %x", h.Mode, h.Uid, h.Gid, h.ModTime.Unix(), h.Linkname, s.Sum(nil)[:6])
	}
}
