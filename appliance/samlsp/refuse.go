package samlsp

import (
	"encoding/xml"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/crewjam/saml"
)

// Refusals of an answer, besides Precheck's.
var (
	ErrBinding        = errors.New("answers are taken only by HTTP POST (the redirect and artifact bindings are off)")
	ErrNoRequest      = errors.New("the answer does not match a sign-in started here, or was already used")
	ErrOtherProvider  = errors.New("the answer belongs to a sign-in started for another site")
	ErrRequestExpired = errors.New("the sign-in took longer than 10 minutes")
	ErrOtherBrowser   = errors.New("the answer arrived in another browser than the one that started the sign-in")
	ErrSignature      = errors.New("the identity provider's signature does not verify with the pinned certificate")
	ErrSHA1           = errors.New("the answer is signed with SHA-1, which is refused")
	ErrAudience       = errors.New("the assertion was issued for another service (audience)")
	ErrDestination    = errors.New("the answer was addressed to another URL (destination or recipient)")
	ErrExpired        = errors.New("the assertion has expired or is not valid yet; check that the clocks of the box and the identity provider agree")
	ErrIssuer         = errors.New("the answer was issued by another identity provider than the one set up")
	ErrStatus         = errors.New("the identity provider did not sign the person in")
	ErrRefused        = errors.New("the answer was refused")
)

// Refusal is a refused answer: Why is one of the errors above, in words
// fit for a page and the admin's list; the answer itself is never kept.
type Refusal struct{ Why error }

func (r *Refusal) Error() string       { return "saml answer refused: " + r.Why.Error() }
func (r *Refusal) Unwrap() []error     { return []error{r.Why, ErrRefused} }
func refuse(why error) error           { return &Refusal{Why: why} }
func xmlMarshal(v any) ([]byte, error) { return xml.MarshalIndent(v, "", "  ") }

// Reason is the sentence for err: a Refusal's reason, or a generic one for
// anything else (whose text may hold details of the answer, so it is not
// shown or kept).
func Reason(err error) string {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Why.Error()
	}
	if errors.Is(err, ErrNotConfigured) || errors.Is(err, ErrBusy) || errors.Is(err, ErrMetadata) {
		return err.Error()
	}
	return "the answer could not be checked"
}

const statusPrefix = "urn:oasis:names:tc:SAML:2.0:status:"

// topStatuses are SAML core's top-level status codes (§3.2.2.2).
var topStatuses = []string{"Requester", "Responder", "VersionMismatch"}

// crewjamReason turns crewjam's error into one of ours. Its errors carry
// parts of the answer (destinations, issuers, whole documents in
// InvalidResponseError), so only the class survives.
func crewjamReason(err error) error {
	var bad saml.ErrBadStatus
	switch {
	case errors.As(err, &bad):
		// The status is read before any signature is checked: only the
		// standard codes are named.
		if strings.HasPrefix(bad.Status, statusPrefix) && slices.Contains(topStatuses, strings.TrimPrefix(bad.Status, statusPrefix)) {
			return fmt.Errorf("%w (status %s)", ErrStatus, strings.TrimPrefix(bad.Status, statusPrefix))
		}
		return fmt.Errorf("%w (an unknown status)", ErrStatus)
	case errors.Is(err, saml.ErrUnsupported) && errors.Is(err, saml.ErrInvalidSignature):
		return ErrSHA1
	case errors.Is(err, saml.ErrAudienceMismatch):
		return ErrAudience
	case errors.Is(err, saml.ErrDestinationMismatch):
		return ErrDestination
	case errors.Is(err, saml.ErrExpired), errors.Is(err, saml.ErrNotYetValid):
		return ErrExpired
	case errors.Is(err, saml.ErrIssuerMismatch):
		return ErrIssuer
	case errors.Is(err, saml.ErrRequestIDMismatch):
		return ErrNoRequest
	case errors.Is(err, saml.ErrInvalidSignature), errors.Is(err, saml.ErrUntrustedCertificate), errors.Is(err, saml.ErrCertificateNotValidNow):
		return ErrSignature
	case errors.Is(err, saml.ErrMissingElement), errors.Is(err, saml.ErrMalformedMessage):
		return ErrShape
	}
	return ErrMalformed
}
