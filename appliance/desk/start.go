package desk

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboardhq/switchboard/appliance/bus"
	"github.com/switchboardhq/switchboard/appliance/text"
)

// Purposes of keyed hashes made by the desk.
const (
	purposeCustomer = "desk-customer"
	purposeKey      = "desk-session-key"
	purposeLink     = "desk-support-link"
	purposeSOS      = "desk-sos-link"
	purposeCode     = "desk-sos-code"
)

// newToken returns a 128-bit random token, URL-safe.
func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Service) keyed(purpose, secret string) []byte {
	if s.hash == nil {
		panic("desk: no Hasher set (WithHasher)")
	}
	return s.hash(purpose, []byte(secret))
}

// bindCustomer gives ss a new customer token (the customer's browser
// carries it) and stores its keyed hash.
func (s *Service) bindCustomer(tx *bolt.Tx, ss *Session) (string, error) {
	tok := newToken()
	h := s.keyed(purposeCustomer, tok)
	ss.CustomerHash = h
	return tok, root(tx, bCustomerToken).Put(h, idKey(ss.ID))
}

// SessionByCustomer returns the session the customer token belongs to.
func (s *Service) SessionByCustomer(ctx context.Context, token string) (Session, error) {
	var ss Session
	if token == "" || len(token) > 64 {
		return ss, fmt.Errorf("customer token: %w", ErrNotFound)
	}
	h := s.keyed(purposeCustomer, token)
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		id := root(tx, bCustomerToken).Get(h)
		if id == nil {
			return fmt.Errorf("customer token: %w", ErrNotFound)
		}
		return get(tx, bSessionsData, beUint(id), &ss)
	})
	return ss, err
}

// CheckCustomer validates what a customer typed against the site's survey.
func CheckCustomer(site Site, c *Customer) error {
	var fe FieldErrors
	trim := func(field, v string, max int, required bool) string {
		v = strings.TrimSpace(v)
		switch {
		case required && v == "":
			fe.add(field, "Please fill this in.")
		case utf8.RuneCountInString(v) > max:
			fe.add(field, fmt.Sprintf("Please keep this under %d characters.", max))
		case text.HasBidiControl(v):
			fe.add(field, text.BidiMessage)
		}
		return v
	}
	c.Name = trim("name", c.Name, 100, site.AskName)
	c.Company = trim("company", c.Company, 100, false)
	c.CompanyCode = trim("company_code", c.CompanyCode, 64, false)
	c.Description = trim("description", c.Description, 2000, false)
	answers := make([]Answer, 0, len(site.Custom))
	for i, f := range site.Custom {
		v := ""
		for _, a := range c.Custom {
			if a.Label == f.Label {
				v = a.Value
			}
		}
		answers = append(answers, Answer{Label: f.Label, Value: trim(fmt.Sprintf("custom_%d", i), v, f.MaxLen, f.Required)})
	}
	c.Custom = answers
	return fe.err()
}

// StartWithTechnician starts a session in technician tech's personal queue
// (the customer clicked its name on the public site). It returns the
// session and the customer's token.
func (s *Service) StartWithTechnician(ctx context.Context, site Site, tech uint64, c Customer) (Session, string, error) {
	if err := CheckCustomer(site, &c); err != nil {
		return Session{}, "", err
	}
	return s.start(ctx, Session{Status: Ready, Method: MethodTechList, Queue: Queue{QueueTechnician, tech}, Site: site.ID, Customer: c, AgreementRequired: site.Agreement != ""}, func(tx *bolt.Tx) error {
		var t Technician
		if err := get(tx, bTechs, tech, &t); err != nil {
			return err
		}
		if t.Availability != Available {
			return fmt.Errorf("technician %d is %s: %w", tech, t.Availability, ErrState)
		}
		return nil
	})
}

// StartSurvey starts a session from the issue survey: in the channel of the
// issue type, or in a technician's queue in technician mode.
func (s *Service) StartSurvey(ctx context.Context, site Site, issueType, tech uint64, c Customer) (Session, string, error) {
	if err := CheckCustomer(site, &c); err != nil {
		return Session{}, "", err
	}
	if site.SurveyMode == SurveyTechnician {
		ss, tok, err := s.StartWithTechnician(ctx, site, tech, c)
		if err == nil {
			ss, err = s.setMethod(ctx, ss.ID, MethodSurvey)
		}
		return ss, tok, err
	}
	ss := Session{Status: Ready, Method: MethodSurvey, Site: site.ID, IssueType: issueType, Customer: c, AgreementRequired: site.Agreement != ""}
	return s.start(ctx, ss, nil, func(tx *bolt.Tx, ss *Session) error {
		if issueType == 0 {
			// No issue type chosen (or none configured): the default
			// channel catches the request.
			chans, err := all[Channel](tx, bChannels)
			if err != nil {
				return err
			}
			for _, c := range chans {
				if c.Default {
					ss.Queue = Queue{QueueChannel, c.ID}
					return nil
				}
			}
			return &FieldError{"issue_type", "Choose one of the listed issues."}
		}
		var it IssueType
		if err := get(tx, bIssues, issueType, &it); err != nil {
			return &FieldError{"issue_type", "Choose one of the listed issues."}
		}
		ss.Queue = Queue{QueueChannel, it.Channel}
		return nil
	})
}

func (s *Service) setMethod(ctx context.Context, id uint64, m Method) (Session, error) {
	var ss Session
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		if err := get(tx, bSessionsData, id, &ss); err != nil {
			return err
		}
		ss.Method = m
		return put(tx, bSessionsData, id, ss)
	})
	return ss, err
}

// start stores a new session after check (if any) and prepare (which may
// set the queue) pass, binds the customer, and publishes it.
func (s *Service) start(ctx context.Context, ss Session, check func(*bolt.Tx) error, prepare ...func(*bolt.Tx, *Session) error) (Session, string, error) {
	var (
		tok  string
		done Session
	)
	// A burst of customers shares one commit; the function may run again,
	// so it starts from the caller's session each time.
	err := s.db.Batch(ctx, func(tx *bolt.Tx) error {
		work := ss
		if check != nil {
			if err := check(tx); err != nil {
				return err
			}
		}
		for _, p := range prepare {
			if err := p(tx, &work); err != nil {
				return err
			}
		}
		if err := s.newSession(tx, &work); err != nil {
			return err
		}
		t, err := s.bindCustomer(tx, &work)
		if err != nil {
			return err
		}
		if err := saveSession(tx, work, nil); err != nil {
			return err
		}
		tok, done = t, work
		return nil
	})
	if err != nil {
		return Session{}, "", err
	}
	s.publish(bus.Kind("session."+string(done.Status)), done, sessionSummary(done))
	return done, tok, nil
}
