package main

import (
	"bytes"
	"crypto/ed25519"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/image/bundle"
)

const keys = "../../image/testdata/keys/"

func TestMkbundle(t *testing.T) {
	dir := t.TempDir()
	for _, n := range bundle.Payloads {
		if err := os.WriteFile(filepath.Join(dir, n), bytes.Repeat([]byte(n), 1000), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1767225600")
	out := filepath.Join(t.TempDir(), "switchboard-1.2.0.bundle")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-key", keys + "test-update.key", "-version", "1.2.0", "-dir", dir, "-o", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"signing 1.2.0 with key c923f0a53c54f689", "writing 100%", "wrote " + out} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
	data, _ := os.ReadFile(out)
	pub, _ := bundle.LoadPublicKeyFile(keys + "test-update.pub")
	b, err := bundle.Open(bytes.NewReader(data), int64(len(data)), []ed25519.PublicKey{pub})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.VerifyPayload(nil); err != nil {
		t.Fatal(err)
	}
	if got := b.Manifest.Created.Unix(); got != 1767225600 {
		t.Errorf("created = %d, want SOURCE_DATE_EPOCH", got)
	}
	// Reproducible.
	out2 := filepath.Join(t.TempDir(), "again.bundle")
	run([]string{"-key", keys + "test-update.key", "-version", "1.2.0", "-dir", dir, "-o", out2}, &stdout, &stderr)
	if again, _ := os.ReadFile(out2); !bytes.Equal(again, data) {
		t.Error("the same inputs gave a different bundle")
	}

	stdout.Reset()
	if code := run([]string{"-print-trust", keys + "test-update.pub," + keys + "wrong-update.key"}, &stdout, &stderr); code != 0 {
		t.Fatal(stderr.String())
	}
	if got := stdout.String(); got != "JCUzvaj8jsMwRWx0wSawn1s7Mqugz5ACdlk+4MG0/go=,I5COr7uvbyNLhTxwGMKfHVXNeMuGvS3+sI9MydVwvDI=\n" {
		t.Errorf("print-trust = %q", got)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-key", keys + "test-update.key", "-version", "291bc17-dirty", "-dir", dir, "-o", out}, 1, "pass VERSION=1.2.3"},
		{[]string{"-key", keys + "test-update.pub", "-version", "1.0.0", "-dir", dir, "-o", out}, 1, `PEM block is "PUBLIC KEY"`},
		{[]string{"-key", keys + "test-update.key", "-version", "1.0.0", "-dir", t.TempDir(), "-o", out}, 1, "no such file"},
		{[]string{"-version", "1.0.0"}, 2, "required"},
	} {
		stderr.Reset()
		if code := run(c.args, &stdout, &stderr); code != c.code || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%q: exit %d, %s", c.args, code, stderr.String())
		}
	}
}
