package tlscert

import (
	"context"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"unicode/utf8"

	"github.com/mholt/acmez/v3/acme"
)

// maxDetail bounds what a CA's own words add to an explanation.
const maxDetail = 300

// Explain says in words why an ACME certificate for host could not be
// had, and what to do about it. The CA's own detail follows, shortened.
func Explain(host string, err error) string {
	var p acme.Problem
	if errors.As(err, &p) {
		return explainProblem(host, p)
	}
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var ua x509.UnknownAuthorityError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "The certificate authority did not answer in time. The box tries again later; check that it can reach the ACME directory URL (outbound HTTPS)."
	case errors.As(err, &ua):
		return "The box does not trust the ACME server's own certificate. For a private ACME server, paste its root certificate under \"Trust also\" in the ACME settings."
	case errors.As(err, &dnsErr):
		return "The box could not look up the ACME server's name (" + dnsErr.Name + "). Check the DNS servers on the Network page."
	case errors.As(err, &opErr):
		return "The box could not connect to the ACME server. Check the directory URL, and that the box may make outbound HTTPS connections."
	}
	return "The certificate authority did not issue a certificate for " + host + ". The box tries again later. " + detail(err.Error())
}

func explainProblem(host string, p acme.Problem) string {
	// A failed challenge arrives as a compound problem or with the
	// challenge's problem in subproblems; the first specific one counts.
	t := p.Type
	d := p.Detail
	for _, sp := range p.Subproblems {
		if sp.Type != "" {
			t, d = sp.Type, sp.Detail
			break
		}
	}
	why := ""
	kind := strings.TrimPrefix(t, acme.ProblemTypeNamespace)
	if strings.Contains(strings.ToLower(d), "connect") && (kind == "tls" || kind == "unauthorized" || kind == "incorrectResponse") {
		kind = "connection" // some CAs file a refused connection under these
	}
	switch kind {
	case "connection":
		why = "The certificate authority could not connect to this box to check that it answers for " + host + ". Make sure " + host + " points at this box's public address, and that ports 80 (HTTP-01) and 443 (TLS-ALPN-01) reach it from the internet."
	case "dns":
		why = "The certificate authority could not find " + host + " in DNS. Create an A or AAAA record for it that points at this box."
	case "unauthorized", "incorrectResponse", "tls":
		why = "The certificate authority reached a server for " + host + ", but it did not answer the challenge the way this box set it up. Check that " + host + " points at this box and not at another server or a proxy in front of it."
	case "caa":
		why = "A CAA record in the DNS of " + host + " forbids this certificate authority from issuing for it. Add the CA to the CAA record, or use another CA."
	case "rateLimited":
		why = "The certificate authority's rate limit for " + host + " was reached. The box tries again later on its own; avoid forcing renewals meanwhile."
	case "rejectedIdentifier", "unsupportedIdentifier":
		why = "The certificate authority will not issue a certificate for " + host + " (for example, it is not a public name). Use a name in a public domain you control, or import a certificate."
	case "externalAccountRequired":
		why = "This certificate authority requires an account binding (EAB), which the box does not support yet. Use another CA or import a certificate."
	case "invalidContact", "unsupportedContact":
		why = "The certificate authority refused the contact e-mail address in the ACME settings. Correct it and save."
	case "userActionRequired":
		why = "The certificate authority wants you to accept new terms of service. Open the directory URL's terms, then save the ACME settings again."
	default:
		why = "The certificate authority refused to issue a certificate for " + host + ". The box tries again later."
	}
	if d != "" {
		why += " The CA said: " + detail(d)
	}
	return why
}

// detail shortens text to maxDetail bytes on a rune boundary and keeps it
// on one line.
func detail(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxDetail {
		return s
	}
	cut := maxDetail
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
