package samlsp

import (
	"context"
	"encoding/json"
	"time"

	"github.com/switchboardhq/switchboard/appliance/store"
	bolt "go.etcd.io/bbolt"
)

// IdentityTTL is how long a customer's portal sign-in lasts in the browser.
const IdentityTTL = time.Hour

// Identity is a customer browser signed in through a site's portal login.
type Identity struct {
	Provider string `json:"provider"`
	// IdP is the IdP's entity ID, By the name the site shows for it.
	IdP        string              `json:"idp"`
	By         string              `json:"by"`
	NameID     string              `json:"name_id"`
	Attributes map[string][]string `json:"attributes"`
	Expires    time.Time           `json:"expires"`
}

// Attr returns the first value of attribute name, or "".
func (id Identity) Attr(name string) string {
	if v := id.Attributes[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Issue keeps res as a portal identity and returns the browser's token
// for it (only its keyed hash is stored).
func (s *Service) Issue(ctx context.Context, res Result, by string) (string, error) {
	id := Identity{Provider: res.Provider, IdP: res.IdP, By: by, NameID: res.NameID, Attributes: res.Attributes, Expires: s.clock().Add(IdentityTTL)}
	raw, err := json.Marshal(id)
	if err != nil {
		return "", err
	}
	tok := randomToken()
	err = s.db.Update(ctx, func(tx *bolt.Tx) error {
		b := bucket(tx, "identities")
		if b.Stats().KeyN >= MaxIdentities && s.pruneIdentities(b) < 1 {
			return ErrBusy
		}
		return b.Put(s.hash("identity", tok), raw)
	})
	return tok, err
}

// Identity returns the live identity of token for provider key.
func (s *Service) Identity(ctx context.Context, key, token string) (Identity, error) {
	var id Identity
	if token == "" {
		return id, store.ErrNotFound
	}
	err := s.db.View(ctx, func(tx *bolt.Tx) error {
		v := bucket(tx, "identities").Get(s.hash("identity", token))
		if v == nil {
			return store.ErrNotFound
		}
		return json.Unmarshal(v, &id)
	})
	if err == nil && (id.Provider != key || s.clock().After(id.Expires)) {
		return Identity{}, store.ErrNotFound
	}
	return id, err
}

// Forget ends the identity of token (the customer signs out of the portal).
func (s *Service) Forget(ctx context.Context, token string) error {
	return s.db.Update(ctx, func(tx *bolt.Tx) error { return bucket(tx, "identities").Delete(s.hash("identity", token)) })
}

func (s *Service) pruneIdentities(b *bolt.Bucket) int {
	return pruneExpired(b, s.clock(), func(id Identity) time.Time { return id.Expires })
}
