package desk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/switchboardhq/switchboard/appliance/text"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboardhq/switchboard/appliance/bus"
)

// Remote-control token lifetimes: a downloaded support app must connect
// within ClientTokenLifetime; a native technician tool within
// ViewerTokenLifetime.
const (
	ClientTokenLifetime = 2 * time.Hour
	ViewerTokenLifetime = 5 * time.Minute
)

// Roles a remote-control token is for (the values of wire.RoleClient and
// wire.RoleTechnician).
const (
	RemoteClient     uint8 = 1
	RemoteTechnician uint8 = 2
)

const purposeRemote = "desk-remote-token"

// remoteRecord is a remote-control token as stored, under its keyed hash.
type remoteRecord struct {
	Session    uint64    `json:"session"`
	Role       uint8     `json:"role"`
	Technician uint64    `json:"technician,omitempty"`
	Expires    time.Time `json:"expires"`
}

// Device is what the customer's support app reported about its machine.
type Device struct {
	OS        string   `json:"os"`
	Version   string   `json:"version,omitempty"`
	Hostname  string   `json:"hostname,omitempty"`
	User      string   `json:"user,omitempty"`
	Addresses []string `json:"addresses,omitempty"`
	Screens   []string `json:"screens,omitempty"` // "1920×1080"
	Capture   bool     `json:"capture"`
	Note      string   `json:"note,omitempty"`
	// Transport is how the app reached the box: "quic", or "tcp" (TLS on
	// the HTTPS port, its network blocking UDP).
	Transport string    `json:"transport,omitempty"`
	Connected bool      `json:"connected"`
	Since     time.Time `json:"since"`
	// Consents holds the customer's answers per technician (user id) by
	// kind ("view", "control"), while the app is connected.
	Consents map[uint64]map[string]bool `json:"consents,omitempty"`
}

// RemoteGrant is what a redeemed remote-control token admits.
type RemoteGrant struct {
	Session    uint64
	Technician uint64 // 0 for the customer's app
	Name       string // the technician's public name
	Rights     Rights // what the technician may do (its permissions now)
}

// Errors redeeming remote-control tokens. Unknown, used and expired tokens
// get the same answer.
var (
	ErrBadRemoteToken = errors.New("this link is not valid any more (unknown, used or expired): download the support app again from the session page")
	ErrOtherDevice    = errors.New("this support session is already connected from another computer")
	ErrSessionEnded   = errors.New("this support session has ended")
)

// IssueClientToken makes a one-time token for the support app the customer
// of session id downloads. The session must be open.
func (s *Service) IssueClientToken(ctx context.Context, id uint64) (string, error) {
	return s.issueRemote(ctx, remoteRecord{Session: id, Role: RemoteClient, Expires: s.now().UTC().Add(ClientTokenLifetime)}, nil)
}

// IssueViewerToken makes a one-time token with which a's native tool views
// session id. a must be working in the session.
func (s *Service) IssueViewerToken(ctx context.Context, a Actor, id uint64) (string, error) {
	return s.issueRemote(ctx, remoteRecord{Session: id, Role: RemoteTechnician, Technician: a.UserID, Expires: s.now().UTC().Add(ViewerTokenLifetime)},
		func(ss Session) error {
			if ss.Status != Active || !InSession(a.UserID, ss) {
				return ErrForbidden
			}
			return nil
		})
}

func (s *Service) issueRemote(ctx context.Context, r remoteRecord, check func(Session) error) (string, error) {
	tok := newToken() + newToken()
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		var ss Session
		if err := get(tx, bSessionsData, r.Session, &ss); err != nil {
			return err
		}
		if !ss.Open() {
			return ErrSessionEnded
		}
		if check != nil {
			if err := check(ss); err != nil {
				return err
			}
		}
		v, _ := json.Marshal(r)
		return root(tx, bRemote).Put(s.keyed(purposeRemote, tok), v)
	})
	if err != nil {
		return "", err
	}
	return tok, nil
}

// InSession reports whether technician user owns or collaborates on ss.
func InSession(user uint64, ss Session) bool {
	return user != 0 && (ss.Owner == user || slices.Contains(ss.Collaborators, user))
}

// RedeemRemoteToken spends token tok for role from device (the app's own
// device id). A token works once; the first support app binds the session
// to its device, and later downloads must come from the same device.
func (s *Service) RedeemRemoteToken(ctx context.Context, tok string, role uint8, device string) (RemoteGrant, error) {
	h := s.keyed(purposeRemote, tok)
	now := s.now().UTC()
	var g RemoteGrant
	// refused is the answer when the token is spent but admits nothing:
	// the transaction still commits, so the token cannot be tried again.
	var refused error
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		raw := root(tx, bRemote).Get(h)
		if raw == nil {
			refused = ErrBadRemoteToken
			return nil
		}
		if err := root(tx, bRemote).Delete(h); err != nil {
			return err
		}
		var r remoteRecord
		if err := json.Unmarshal(raw, &r); err != nil || r.Role != role || !now.Before(r.Expires) {
			refused = ErrBadRemoteToken
			return nil
		}
		var ss Session
		if err := get(tx, bSessionsData, r.Session, &ss); err != nil {
			refused = ErrBadRemoteToken
			return nil
		}
		if !ss.Open() {
			refused = ErrSessionEnded
			return nil
		}
		g.Session = ss.ID
		if role == RemoteTechnician {
			perms, _, err := permsOf(tx, r.Technician)
			if err != nil || ss.Status != Active || !InSession(r.Technician, ss) {
				refused = ErrForbidden
				return nil
			}
			g.Technician = r.Technician
			g.Rights = Rights{View: true, Control: perms[PermControl], Files: perms[PermFileTransfer]}
			return nil
		}
		dh := s.keyed(purposeRemote+"-device", device)
		if ss.DeviceHash != nil && !slices.Equal(ss.DeviceHash, dh) {
			refused = ErrOtherDevice
			return nil
		}
		if ss.DeviceHash == nil {
			ss.DeviceHash = dh
			return put(tx, bSessionsData, ss.ID, ss)
		}
		return nil
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		return RemoteGrant{}, err
	}
	if g.Technician != 0 {
		if t, err := s.Technician(ctx, g.Technician); err == nil {
			g.Name = t.PublicName
		}
	}
	return g, nil
}

// DeviceUp records that session id's support app is connected and what it
// reported, and tells the technicians.
func (s *Service) DeviceUp(ctx context.Context, id uint64, d Device) (Session, error) {
	d.Connected = true
	d.Since = s.now().UTC()
	return s.change(ctx, id, bus.SessionDevice, func(tx *bolt.Tx, ss *Session) (TrailEntry, error) {
		if ss.Device != nil {
			d.Consents = ss.Device.Consents
		}
		ss.Device = &d
		return TrailEntry{Event: "app-connected", Actor: "customer", Note: deviceLine(d)}, nil
	})
}

// DeviceDown records that session id's support app went away and why.
func (s *Service) DeviceDown(ctx context.Context, id uint64, reason string) (Session, error) {
	return s.change(ctx, id, bus.SessionDevice, func(tx *bolt.Tx, ss *Session) (TrailEntry, error) {
		if ss.Device == nil || !ss.Device.Connected {
			return TrailEntry{}, ErrState
		}
		ss.Device.Connected = false
		ss.Device.Consents = nil
		return TrailEntry{Event: "app-disconnected", Actor: "customer", Note: clip(reason, 200)}, nil
	})
}

// Consent records the customer's answer about technician tech (a user id)
// to their request for what: the trail names whom each answer was for.
func (s *Service) Consent(ctx context.Context, id, tech uint64, what string, granted bool) (Session, error) {
	name := s.techName(ctx, tech)
	return s.change(ctx, id, bus.SessionDevice, func(tx *bolt.Tx, ss *Session) (TrailEntry, error) {
		if ss.Device == nil {
			return TrailEntry{}, ErrState
		}
		if ss.Device.Consents == nil {
			ss.Device.Consents = map[uint64]map[string]bool{}
		}
		if ss.Device.Consents[tech] == nil {
			if len(ss.Device.Consents) >= maxConsentTechs {
				return TrailEntry{}, ErrState
			}
			ss.Device.Consents[tech] = map[string]bool{}
		}
		ss.Device.Consents[tech][what] = granted
		ev := "consent-denied"
		if granted {
			ev = "consent-granted"
		}
		return TrailEntry{Event: ev, Actor: "customer", Note: clip(what, 16), For: name, ForID: tech}, nil
	})
}

// maxConsentTechs bounds the technicians a session keeps answers about.
const maxConsentTechs = 64

// techName is technician id's private name, for trail entries ("" if gone).
func (s *Service) techName(ctx context.Context, id uint64) string {
	if t, err := s.Technician(ctx, id); err == nil {
		return t.PrivateName
	}
	return ""
}

// Watching records that technician tech started (joined) or stopped
// watching session id's screen page.
func (s *Service) Watching(ctx context.Context, id, tech uint64, joined bool) error {
	name := s.techName(ctx, tech)
	ev := "viewer-left"
	if joined {
		ev = "viewer-joined"
	}
	return s.noisy(ctx, id, TrailEntry{Event: ev, Actor: name, ActorID: tech})
}

// FileRecord is a file that went between the customer and a technician.
type FileRecord struct {
	ToCustomer bool   `json:"to_customer"`
	Name       string `json:"name"`
	Size       uint64 `json:"size"`
	SHA256     string `json:"sha256"` // hex
}

// FileTransferred records a file that went through whole: to the customer
// from technician tech, or from the customer (tech 0) to the technicians.
func (s *Service) FileTransferred(ctx context.Context, id, tech uint64, f FileRecord) error {
	te := TrailEntry{Event: "file", Actor: "customer", File: &f}
	if tech != 0 {
		te.Actor, te.ActorID = s.techName(ctx, tech), tech
	}
	f.Name = clip(f.Name, 255)
	_, err := s.change(ctx, id, bus.SessionDevice, func(*bolt.Tx, *Session) (TrailEntry, error) { return te, nil })
	return err
}

// ClipboardUsed records clipboard text that went through: its size, never
// the text; to the customer from technician tech, or from the customer.
func (s *Service) ClipboardUsed(ctx context.Context, id, tech uint64, toCustomer bool, size int) error {
	te := TrailEntry{Event: "clipboard", Actor: "customer", Note: fmt.Sprintf("%d", size)}
	if toCustomer {
		te.Actor, te.ActorID = s.techName(ctx, tech), tech
	}
	return s.noisy(ctx, id, te)
}

// MaxNoisyTrail bounds the trail entries of kinds the support app or a
// browser can repeat at will (the app connecting, answers, files, viewers
// joining and leaving, clipboard use): past it they are counted in the
// session instead of listed.
const MaxNoisyTrail = 500

// noisyEvents are those kinds.
var noisyEvents = map[string]bool{"app-connected": true, "app-disconnected": true, "consent-granted": true,
	"consent-denied": true, "file": true, "viewer-joined": true, "viewer-left": true, "clipboard": true}

// noisy appends te to session id's trail unless the session already holds
// MaxNoisyTrail such entries.
func (s *Service) noisy(ctx context.Context, id uint64, te TrailEntry) error {
	var ss Session
	listed := false
	err := s.db.Update(ctx, func(tx *bolt.Tx) error {
		listed = false
		if err := get(tx, bSessionsData, id, &ss); err != nil {
			return err
		}
		if ss.NoisyTrail >= MaxNoisyTrail {
			ss.TrailSkipped++
			return put(tx, bSessionsData, id, ss)
		}
		ss.NoisyTrail++
		te.At = s.now().UTC()
		ss.Trail = append(ss.Trail, te)
		listed = true
		return put(tx, bSessionsData, id, ss)
	})
	if err == nil && listed {
		s.publish(bus.SessionDevice, ss, sessionSummary(ss))
	}
	return err
}

func deviceLine(d Device) string {
	parts := []string{}
	for _, p := range []string{d.Hostname, d.OS, d.Version} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	if d.Transport == "tcp" {
		parts = append(parts, "over TCP (UDP blocked)")
	}
	return clip(strings.Join(parts, ", "), 300)
}

func clip(s string, n int) string { return text.Clip(s, n) }

// pruneRemote deletes expired remote-control tokens.
func pruneRemote(tx *bolt.Tx, now time.Time) [][2][]byte {
	var dead [][2][]byte
	root(tx, bRemote).ForEach(func(k, v []byte) error {
		var r remoteRecord
		if json.Unmarshal(v, &r) != nil || now.After(r.Expires) {
			dead = append(dead, [2][]byte{bRemote, k})
		}
		return nil
	})
	return dead
}
