// Command mkbundle signs an update bundle from the image build's outputs:
//
//	mkbundle -key FILE -version V -dir out/switchboard-V -o out/switchboard-V.bundle
//
// The directory must hold root.squashfs, uki-a.efi and uki-b.efi. The
// creation time is SOURCE_DATE_EPOCH when set, so the same inputs give the
// same bundle. With -print-trust FILE it prints instead the base64 public key
// to compile into applianced (see appliance/update).
package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/image/bundle"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mkbundle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyPath := fs.String("key", "", "Ed25519 private key (PEM PKCS #8, from openssl genpkey -algorithm ed25519)")
	version := fs.String("version", "", "version of the image, MAJOR.MINOR.PATCH")
	dir := fs.String("dir", "", "build output directory holding "+strings.Join(bundle.Payloads, ", "))
	out := fs.String("o", "", "bundle file to write")
	trust := fs.String("print-trust", "", "print the trusted-key value for a public (or private) key FILE[,FILE...] and exit")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return 2
	}
	if *trust != "" {
		var vals []string
		for _, p := range strings.Split(*trust, ",") {
			pub, err := bundle.LoadPublicKeyFile(p)
			if err != nil {
				fmt.Fprintln(stderr, "mkbundle:", err)
				return 1
			}
			vals = append(vals, base64.StdEncoding.EncodeToString(pub))
		}
		fmt.Fprintln(stdout, strings.Join(vals, ","))
		return 0
	}
	if *keyPath == "" || *version == "" || *dir == "" || *out == "" {
		fmt.Fprintln(stderr, "mkbundle: -key, -version, -dir and -o are required")
		fs.PrintDefaults()
		return 2
	}
	if err := build(*keyPath, *version, *dir, *out, stdout); err != nil {
		fmt.Fprintln(stderr, "mkbundle:", err)
		return 1
	}
	return 0
}

func build(keyPath, version, dir, out string, stdout io.Writer) error {
	if _, err := bundle.ParseVersion(version); err != nil {
		return fmt.Errorf("%w (pass VERSION=1.2.3)", err)
	}
	key, err := bundle.LoadPrivateKeyFile(keyPath)
	if err != nil {
		return err
	}
	created := time.Now()
	if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("SOURCE_DATE_EPOCH=%q: %w", s, err)
		}
		created = time.Unix(sec, 0)
	}
	files := map[string]string{}
	var total int64
	for _, name := range bundle.Payloads {
		files[name] = filepath.Join(dir, name)
		st, err := os.Stat(files[name])
		if err != nil {
			return err
		}
		total += st.Size()
	}
	id := bundle.KeyID(key.Public().(ed25519.PublicKey))
	fmt.Fprintf(stdout, "mkbundle: signing %s with key %s\n", version, id)

	f, err := os.CreateTemp(filepath.Dir(out), ".mkbundle-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	pw := &progressWriter{w: f, total: total, out: stdout, step: -1}
	if err := bundle.Write(pw, version, created, key, files); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "mkbundle: wrote %s (%d bytes, version %s, key %s)\n", out, pw.n, version, id)
	return nil
}

// progressWriter prints "writing N%" every 10 percent of the payload bytes.
type progressWriter struct {
	w     io.Writer
	n     int64
	total int64
	out   io.Writer
	step  int64
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	if p.total > 0 {
		pct := min(p.n*100/p.total, 100)
		if pct/10 > p.step {
			p.step = pct / 10
			fmt.Fprintf(p.out, "mkbundle: writing %d%%\n", pct)
		}
	}
	return n, err
}
