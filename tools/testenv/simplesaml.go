package testenv

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// simpleSAMLRoot is where Debian's simplesamlphp package installs the IdP.
const simpleSAMLRoot = "/usr/share/simplesamlphp/www"

// SAMLUser is an account of the test identity provider. Attrs are sent by
// their friendly names and arrive at the service provider as OIDs (an
// AttributeMap filter in the IdP's configuration, as Debian's name2oid map
// does): uid, mail, displayName, eduPersonAffiliation.
type SAMLUser struct {
	Username, Password string
	Attrs              map[string][]string
}

// SAMLServiceProvider is a service provider the IdP knows.
type SAMLServiceProvider struct{ EntityID, ACS string }

// SimpleSAML is a running SimpleSAMLphp identity provider.
type SimpleSAML struct {
	// Base is http://127.0.0.1:PORT; Metadata the IdP metadata URL.
	Base, Metadata string
	dir            string
}

// Log returns the IdP's own log file.
func (s *SimpleSAML) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "log", "simplesamlphp.log"))
	return string(b)
}

// OIDs of the attributes the test users carry, as the SP receives them.
const (
	OIDUID         = "urn:oid:0.9.2342.19200300.100.1.1"
	OIDMail        = "urn:oid:0.9.2342.19200300.100.1.3"
	OIDDisplayName = "urn:oid:2.16.840.1.113730.3.1.241"
	OIDAffiliation = "urn:oid:1.3.6.1.4.1.5923.1.1.1.1"
)

// StartSimpleSAML starts Debian's SimpleSAMLphp as an identity provider with
// PHP's built-in server on a free loopback port, from a configuration
// directory written for the test (nothing under /etc is used or changed),
// knowing sps and users. It stops when the test ends.
func StartSimpleSAML(t testing.TB, sps []SAMLServiceProvider, users []SAMLUser) *SimpleSAML {
	t.Helper()
	php := RequireCommand(t, "php")
	_, err := os.Stat(filepath.Join(simpleSAMLRoot, "saml2", "idp", "SSOService.php"))
	Require(t, "simplesamlphp", err == nil, fmt.Sprintf("%s is missing; install the simplesamlphp package (see `make deps`)", simpleSAMLRoot))
	dir := t.TempDir()
	for _, sub := range []string{"config", "cert", "log", "data", "tmp", "metadata", "sessions"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	writeIdPKey(t, filepath.Join(dir, "cert"))
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	q := phpQuote
	write("config/config.php", `<?php
$config = [
  'baseurlpath' => '/',
  'certdir' => `+q(dir+"/cert/")+`,
  'loggingdir' => `+q(dir+"/log/")+`,
  'datadir' => `+q(dir+"/data/")+`,
  'tempdir' => `+q(dir+"/tmp")+`,
  'metadatadir' => `+q(dir+"/metadata/")+`,
  'secretsalt' => `+q(randomHex(16))+`,
  'auth.adminpassword' => `+q(randomHex(16))+`,
  'technicalcontact_name' => 'Test',
  'technicalcontact_email' => 'test@example.org',
  'timezone' => 'UTC',
  'logging.level' => SimpleSAML\Logger::INFO,
  'logging.handler' => 'file',
  'logging.logfile' => 'simplesamlphp.log',
  'enable.saml20-idp' => true,
  'module.enable' => ['exampleauth' => true, 'core' => true, 'saml' => true],
  'session.cookie.secure' => false,
  'session.phpsession.savepath' => `+q(dir+"/sessions")+`,
  'store.type' => 'phpsession',
  'metadata.sources' => [['type' => 'flatfile']],
];
`)
	var ub strings.Builder
	for _, u := range users {
		fmt.Fprintf(&ub, "    %s => [", q(u.Username+":"+u.Password))
		names := make([]string, 0, len(u.Attrs))
		for n := range u.Attrs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			var vals []string
			for _, v := range u.Attrs[n] {
				vals = append(vals, q(v))
			}
			fmt.Fprintf(&ub, "%s => [%s], ", q(n), strings.Join(vals, ", "))
		}
		ub.WriteString("],\n")
	}
	write("config/authsources.php", "<?php\n$config = [\n  'admin' => ['core:AdminPassword'],\n  'example-userpass' => [\n    'exampleauth:UserPass',\n"+ub.String()+"  ],\n];\n")
	write("metadata/saml20-idp-hosted.php", `<?php
$metadata['__DYNAMIC:1__'] = [
  'host' => '__DEFAULT__',
  'privatekey' => 'idp.key',
  'certificate' => 'idp.crt',
  'auth' => 'example-userpass',
  'NameIDFormat' => 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',
  'authproc' => [100 => ['class' => 'core:AttributeMap',
    'uid' => '`+OIDUID+`', 'mail' => '`+OIDMail+`', 'displayName' => '`+OIDDisplayName+`', 'eduPersonAffiliation' => '`+OIDAffiliation+`']],
];
`)
	var sb strings.Builder
	sb.WriteString("<?php\n")
	for _, sp := range sps {
		fmt.Fprintf(&sb, "$metadata[%s] = ['AssertionConsumerService' => %s];\n", q(sp.EntityID), q(sp.ACS))
	}
	write("metadata/saml20-sp-remote.php", sb.String())

	cmd := exec.Command(php, "-S", "127.0.0.1:0", "-t", simpleSAMLRoot)
	cmd.Env = append(os.Environ(), "SIMPLESAMLPHP_CONFIG_DIR="+filepath.Join(dir, "config"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start php: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// PHP says where it listens once it does: no polling needed.
	started := regexp.MustCompile(`Development Server \((http://127\.0\.0\.1:\d+)\) started`)
	base := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		found := false
		for sc.Scan() {
			if m := started.FindStringSubmatch(sc.Text()); m != nil && !found {
				found = true
				base <- m[1]
			}
		}
		io.Copy(io.Discard, out)
		if !found {
			close(base)
		}
	}()
	select {
	case b, ok := <-base:
		if !ok {
			t.Fatalf("php -S exited before listening")
		}
		return &SimpleSAML{Base: b, Metadata: b + "/saml2/idp/metadata.php", dir: dir}
	case <-time.After(30 * time.Second):
		t.Fatalf("php -S did not start listening within 30 s")
	}
	return nil
}

// phpQuote writes s as a single-quoted PHP string.
func phpQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// writeIdPKey writes idp.key and idp.crt, a fresh RSA 2048 pair valid for
// a month.
func writeIdPKey(t testing.TB, dir string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: "simplesamlphp test idp"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(0, 1, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	pk, _ := x509.MarshalPKCS8PrivateKey(k)
	if err := os.WriteFile(filepath.Join(dir, "idp.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "idp.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
