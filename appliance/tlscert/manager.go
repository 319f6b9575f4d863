package tlscert

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrHostnameTaken is returned by Manager.Set when a hostname is already
// served by a certificate registered under another name.
var ErrHostnameTaken = errors.New("hostname already claimed")

// ErrNoCertificate is returned by Manager.GetCertificate when no certificate
// matches and no default is set.
var ErrNoCertificate = errors.New("no certificate configured")

// Manager picks the certificate for each TLS handshake by server name. It
// holds a default certificate (the box's own, self-signed or imported) and
// named certificates, each serving a set of exact hostnames and wildcards
// such as "*.example.com" (a public site's certificate). Lookups take no
// lock; a Manager is safe for concurrent use.
type Manager struct {
	mu    sync.Mutex // serializes writers; readers only load state
	state atomic.Pointer[managerState]
}

// managerState is never modified once stored; writers replace it.
type managerState struct {
	def    *tls.Certificate
	byHost map[string]named    // "site.example.com" or "*.example.com"
	byName map[string][]string // name → its hostnames
	// dynamic answers for names whose certificate an ACME client keeps,
	// and for its TLS-ALPN-01 challenges.
	dynamic func(*tls.ClientHelloInfo) (*tls.Certificate, error)
}

type named struct {
	name string
	cert *tls.Certificate // nil: only what dynamic gives, then the default
	// dynamic: ask the ACME client first; cert (or the default) serves
	// until it has one.
	dynamic bool
}

// ACMETLS1 is the ALPN protocol of the TLS-ALPN-01 challenge (RFC 8737).
const ACMETLS1 = "acme-tls/1"

// NewManager returns a Manager with no certificates.
func NewManager() *Manager {
	m := &Manager{}
	m.state.Store(&managerState{byHost: map[string]named{}, byName: map[string][]string{}})
	return m
}

// SetDefault sets the certificate served when no named certificate matches
// the server name, or when the client sends none (for example when it
// connects to an IP address). A nil cert removes the default.
func (m *Manager) SetDefault(cert *tls.Certificate) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := *m.state.Load()
	st.def = cert
	m.state.Store(&st)
}

// Set registers cert under name for hostnames, which are exact names
// ("support.example.com") or wildcards covering one label
// ("*.example.com"). It replaces what name served before. It returns an
// error wrapping ErrHostnameTaken if another name already serves one of the
// hostnames, and leaves the Manager unchanged on any error.
func (m *Manager) Set(name string, hostnames []string, cert *tls.Certificate) error {
	if cert == nil {
		return fmt.Errorf("tlscert: set %q: nil certificate", name)
	}
	return m.set(name, hostnames, named{name: name, cert: cert})
}

// SetDynamic registers name for hostnames like Set, but their certificate
// comes from the function set with SetDynamicSource (an ACME client); until
// it has one, fallback serves, or the default when fallback is nil.
func (m *Manager) SetDynamic(name string, hostnames []string, fallback *tls.Certificate) error {
	return m.set(name, hostnames, named{name: name, cert: fallback, dynamic: true})
}

// SetDynamicSource sets the function that gives the certificates of names
// registered with SetDynamic and answers TLS-ALPN-01 challenges.
func (m *Manager) SetDynamicSource(get func(*tls.ClientHelloInfo) (*tls.Certificate, error)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := *m.state.Load()
	st.dynamic = get
	m.state.Store(&st)
}

func (m *Manager) set(name string, hostnames []string, entry named) error {
	if name == "" {
		return errors.New("tlscert: set: empty certificate name")
	}
	if len(hostnames) == 0 {
		return fmt.Errorf("tlscert: set %q: no hostnames", name)
	}
	var hosts []string
	seen := map[string]bool{}
	for _, h := range hostnames {
		n, err := normalizePattern(h)
		if err != nil {
			return fmt.Errorf("tlscert: set %q: %w", name, err)
		}
		if !seen[n] {
			seen[n] = true
			hosts = append(hosts, n)
		}
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.state.Load()
	for _, h := range hosts {
		if owner, ok := old.byHost[h]; ok && owner.name != name {
			return fmt.Errorf("tlscert: set %q: hostname %q served by %q: %w", name, h, owner.name, ErrHostnameTaken)
		}
	}
	st := old.without(name)
	for _, h := range hosts {
		st.byHost[h] = entry
	}
	st.byName[name] = hosts
	m.state.Store(st)
	return nil
}

// Remove unregisters the certificate registered under name and frees its
// hostnames. Removing an unknown name does nothing.
func (m *Manager) Remove(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.state.Load()
	if _, ok := old.byName[name]; !ok {
		return
	}
	m.state.Store(old.without(name))
}

// without returns a copy of st with name's certificate removed.
func (st *managerState) without(name string) *managerState {
	n := &managerState{def: st.def, byHost: maps.Clone(st.byHost), byName: maps.Clone(st.byName), dynamic: st.dynamic}
	for _, h := range n.byName[name] {
		delete(n.byHost, h)
	}
	delete(n.byName, name)
	return n
}

// GetCertificate returns the certificate for the server name the client
// asked for: an exact hostname match first, then a wildcard match, then the
// default. Names are compared case-insensitively. It has the signature of
// tls.Config.GetCertificate and returns an error wrapping ErrNoCertificate
// when nothing matches and there is no default.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	st := m.state.Load()
	if st.dynamic != nil && len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == ACMETLS1 {
		return st.dynamic(hello) // a CA validating a TLS-ALPN-01 challenge
	}
	sni := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if sni != "" {
		e, ok := st.byHost[sni]
		if i := strings.IndexByte(sni, '.'); !ok && i > 0 {
			e, ok = st.byHost["*"+sni[i:]]
		}
		if ok && e.dynamic && st.dynamic != nil {
			if c, err := st.dynamic(hello); err == nil && c != nil {
				return c, nil
			}
		}
		if ok && e.cert != nil {
			return e.cert, nil
		}
	}
	if st.def == nil {
		return nil, fmt.Errorf("tlscert: server name %q: %w", sni, ErrNoCertificate)
	}
	return st.def, nil
}

// normalizePattern lower-cases a hostname or wildcard and checks that it is
// something a client can send as a server name.
func normalizePattern(h string) (string, error) {
	n := strings.ToLower(strings.TrimSuffix(h, "."))
	if net.ParseIP(n) != nil {
		return "", fmt.Errorf("hostname %q is an IP address, which clients do not send as a server name; use the default certificate", h)
	}
	rest := n
	if strings.HasPrefix(n, "*.") {
		rest = n[2:]
	}
	if rest == "" || len(n) > 253 {
		return "", fmt.Errorf("invalid hostname %q", h)
	}
	for label := range strings.SplitSeq(rest, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", fmt.Errorf("invalid hostname %q", h)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return "", fmt.Errorf("invalid hostname %q: use the ASCII (punycode) form, and a wildcard only as the whole first label", h)
			}
		}
	}
	return n, nil
}

// Pin returns the hex SHA-256 of the leaf certificate served for host (an
// IP address gets the default certificate), which the support app pins.
func (m *Manager) Pin(host string) (string, error) {
	sni := host
	if net.ParseIP(host) != nil {
		sni = ""
	}
	cert, err := m.GetCertificate(&tls.ClientHelloInfo{ServerName: sni})
	if err != nil || cert == nil || len(cert.Certificate) == 0 {
		return "", fmt.Errorf("no certificate for %q: %v", host, err)
	}
	sum := sha256.Sum256(cert.Certificate[0])
	return hex.EncodeToString(sum[:]), nil
}
