package desk

import (
	"context"
	"encoding/binary"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Survey modes of a public site.
const (
	SurveyTechnician = "technician" // the customer picks a technician
	SurveyIssue      = "issue"      // the customer picks an issue type
)

// Limits of the issue survey's custom fields.
const (
	MaxCustomFields   = 20
	MaxCustomFieldLen = 1024
	MaxCustomTotal    = 10 << 10
	MaxAgreement      = 20 << 10
)

// Site is a public site: the page customers open on one or more hostnames.
// Schedules, announcements, SAML and iOS profiles join it later.
type Site struct {
	ID        uint64   `json:"id"`
	Name      string   `json:"name"`
	Hostnames []string `json:"hostnames"`
	// Start methods shown on the site.
	TechList   bool   `json:"tech_list"`
	SessionKey bool   `json:"session_key"`
	Survey     bool   `json:"survey"`
	SOSCall    bool   `json:"sos_call"`
	SurveyMode string `json:"survey_mode"`
	// Standard survey fields.
	AskName        bool          `json:"ask_name"`
	AskCompany     bool          `json:"ask_company"`
	AskCompanyCode bool          `json:"ask_company_code"`
	AskDescription bool          `json:"ask_description"`
	Custom         []CustomField `json:"custom,omitempty"`
	// Agreement is shown to the customer before a session starts.
	Agreement string `json:"agreement,omitempty"`
	// Welcome is shown on the home page, under its heading.
	Welcome string `json:"welcome,omitempty"`
	// Language is the language of the site's own texts (Welcome,
	// Agreement, the closed message, its important messages) and the
	// one customers get when their browser asks for none the box has;
	// "" is English. Texts holds the same texts in other languages.
	Language string               `json:"language,omitempty"`
	Texts    map[string]SiteTexts `json:"texts,omitempty"`
	// PortalLogin is the site's portal login (SAML): PortalOff, PortalOptional
	// or PortalRequired. With PortalRequired every start method first
	// passes it; the session key too if PortalKey.
	PortalLogin string `json:"portal_login,omitempty"`
	PortalKey   bool   `json:"portal_key,omitempty"`
	// Hours are the opening hours; nil: always open.
	Hours *Hours `json:"hours,omitempty"`
	// Branding is the site's look; the logo itself is kept apart
	// (SetSiteLogo), and SaveSite keeps its version.
	Branding Branding `json:"branding,omitempty"`
}

// Portal login modes of a site.
const (
	PortalOff      = ""
	PortalOptional = "optional"
	PortalRequired = "required"
)

// NeedsPortalLogin reports whether a customer must sign in to the portal
// before the start method m (the session key only if PortalKey).
func (st Site) NeedsPortalLogin(m Method) bool {
	return st.PortalLogin == PortalRequired && (m != MethodKey || st.PortalKey)
}

// CustomField is a survey field an administrator adds.
type CustomField struct {
	Label    string `json:"label"`
	Required bool   `json:"required"`
	MaxLen   int    `json:"max_len"`
}

var hostLabelRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// CheckHostname reports whether h is a valid DNS host name (lower-cased).
func CheckHostname(h string) error {
	if len(h) == 0 || len(h) > 253 {
		return fmt.Errorf("%q is not a host name", h)
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if !hostLabelRe.MatchString(l) {
			return fmt.Errorf("%q is not a host name: each dot-separated part uses letters, digits and inner dashes", h)
		}
	}
	if allDigits(labels[len(labels)-1]) {
		return fmt.Errorf("%q looks like an IP address; use a host name", h)
	}
	return nil
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func (st *Site) normalize() error {
	st.Name = strings.TrimSpace(st.Name)
	st.Agreement = strings.TrimSpace(st.Agreement)
	var fe FieldErrors
	switch st.PortalLogin {
	case PortalOff, PortalOptional, PortalRequired:
	default:
		fe.add("portal_login", "Choose off, optional or required.")
	}
	if st.Hours != nil {
		if _, err := st.Hours.check(); err != nil {
			fe = append(fe, err)
		}
	}
	st.Branding.normalize(&fe)
	st.normalizeTexts(&fe)
	checkName(&fe, "name", st.Name)
	seen := map[string]bool{}
	var hosts []string
	for _, h := range st.Hostnames {
		h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		if h == "" {
			continue
		}
		if err := CheckHostname(h); err != nil {
			fe.add("hostnames", err.Error()+".")
			break
		}
		if seen[h] {
			fe.add("hostnames", fmt.Sprintf("%s is listed twice.", h))
			break
		}
		seen[h] = true
		hosts = append(hosts, h)
	}
	if len(hosts) == 0 && len(fe) == 0 {
		fe.add("hostnames", "Give at least one host name, such as support.example.com.")
	}
	st.Hostnames = hosts
	switch st.SurveyMode {
	case "":
		st.SurveyMode = SurveyIssue
	case SurveyIssue, SurveyTechnician:
	default:
		fe.add("survey_mode", "Choose technician or issue type.")
	}
	if len(st.Custom) > MaxCustomFields {
		fe.add("custom", fmt.Sprintf("Use at most %d custom fields.", MaxCustomFields))
	}
	total := 0
	for i := range st.Custom {
		f := &st.Custom[i]
		f.Label = strings.TrimSpace(f.Label)
		if f.Label == "" || utf8.RuneCountInString(f.Label) > MaxNameLen {
			fe.add("custom", fmt.Sprintf("Custom field %d needs a label of 1 to %d characters.", i+1, MaxNameLen))
		}
		if f.MaxLen < 1 || f.MaxLen > MaxCustomFieldLen {
			fe.add("custom", fmt.Sprintf("Custom field %q: its maximum length must be 1 to %d.", f.Label, MaxCustomFieldLen))
		}
		total += f.MaxLen
	}
	if total > MaxCustomTotal {
		fe.add("custom", fmt.Sprintf("All custom fields together may hold at most %d characters (these add up to %d).", MaxCustomTotal, total))
	}
	if len(st.Agreement) > MaxAgreement {
		fe.add("agreement", fmt.Sprintf("Use at most %d KiB of text.", MaxAgreement>>10))
	}
	return fe.err()
}

// Sites returns every public site.
func (s *Service) Sites(ctx context.Context) ([]Site, error) {
	var out []Site
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = all[Site](tx, bSites)
		return err
	})
	return out, err
}

// Site returns site id.
func (s *Service) Site(ctx context.Context, id uint64) (Site, error) {
	var st Site
	err := s.db.View(ctx, func(tx *bolt.Tx) error { return get(tx, bSites, id, &st) })
	return st, err
}

// SiteByHost returns the site serving host name h.
func (s *Service) SiteByHost(ctx context.Context, h string) (Site, error) {
	var st Site
	h = strings.TrimSuffix(strings.ToLower(h), ".")
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		id := root(tx, bHostnames).Get([]byte(h))
		if id == nil {
			return fmt.Errorf("site for %q: %w", h, ErrNotFound)
		}
		return get(tx, bSites, beUint(id), &st)
	})
	return st, err
}

func beUint(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// SaveSite creates (ID 0) or replaces a public site. A host name belongs to
// one site only.
func (s *Service) SaveSite(ctx context.Context, a Actor, st Site) (Site, error) {
	if err := Authorize(a, ActManageSites, Scope{}); err != nil {
		return st, err
	}
	if err := st.normalize(); err != nil {
		return st, err
	}
	err := s.updatePublic(ctx, func(tx *bolt.Tx) error {
		sites, err := all[Site](tx, bSites)
		if err != nil {
			return err
		}
		var before *Site
		for _, o := range sites {
			if o.ID == st.ID {
				o := o
				before = &o
				continue
			}
			if strings.EqualFold(o.Name, st.Name) {
				return FieldErrors{{"name", "Another site already has this name."}}
			}
		}
		if st.ID != 0 && before == nil {
			return fmt.Errorf("site %d: %w", st.ID, ErrNotFound)
		}
		if before != nil {
			st.Branding.Logo = before.Branding.Logo // changed only by SetSiteLogo
		} else {
			st.Branding.Logo = 0
		}
		hosts := root(tx, bHostnames)
		for _, h := range st.Hostnames {
			if owner := hosts.Get([]byte(h)); owner != nil && beUint(owner) != st.ID {
				return FieldErrors{{"hostnames", fmt.Sprintf("%s already belongs to another site.", h)}}
			}
		}
		if before == nil {
			if st.ID, err = nextID(tx, bSites); err != nil {
				return err
			}
		} else {
			for _, h := range before.Hostnames {
				if err := hosts.Delete([]byte(h)); err != nil {
					return err
				}
			}
		}
		for _, h := range st.Hostnames {
			if err := hosts.Put([]byte(h), idKey(st.ID)); err != nil {
				return err
			}
		}
		if err := put(tx, bSites, st.ID, st); err != nil {
			return err
		}
		if before == nil {
			return s.audit(tx, a, "create", "site", st.ID, st.Name, nil, st)
		}
		return s.audit(tx, a, "update", "site", st.ID, st.Name, before, st)
	})
	return st, err
}

// DeleteSite deletes site id and frees its host names.
func (s *Service) DeleteSite(ctx context.Context, a Actor, id uint64) error {
	if err := Authorize(a, ActManageSites, Scope{}); err != nil {
		return err
	}
	return s.updatePublic(ctx, func(tx *bolt.Tx) error {
		var st Site
		if err := get(tx, bSites, id, &st); err != nil {
			return err
		}
		for _, h := range st.Hostnames {
			if err := root(tx, bHostnames).Delete([]byte(h)); err != nil {
				return err
			}
		}
		if err := root(tx, bSites).Delete(idKey(id)); err != nil {
			return err
		}
		if err := root(tx, bSiteLogos).Delete(idKey(id)); err != nil {
			return err
		}
		// Its iOS profiles go with it: private ones may hold secrets.
		if err := s.deleteSiteProfiles(tx, a, id); err != nil {
			return err
		}
		return s.audit(tx, a, "delete", "site", id, st.Name, st, nil)
	})
}
