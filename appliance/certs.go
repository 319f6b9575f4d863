package appliance

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/switchboardhq/switchboard/appliance/store"
	"github.com/switchboardhq/switchboard/appliance/tlscert"
)

// selfSignedValidity is how long the box's own certificate lasts; it is
// made anew when it nears the end.
const selfSignedValidity = 825 * 24 * time.Hour

// loadCertificates loads the box's default certificate from the store, or
// makes a self-signed one on first start (never at image build time).
func loadCertificates(ctx context.Context, db *store.DB, now func() time.Time, log *slog.Logger) (*tlscert.Manager, error) {
	m := tlscert.NewManager()
	pemBundle, err := db.Blob(ctx, "tls", "default")
	if err == nil {
		certPEM, keyPEM := splitPEM(pemBundle)
		c, perr := tlscert.ParsePair(certPEM, keyPEM)
		if perr == nil && now().Add(30*24*time.Hour).Before(c.Leaf.NotAfter) {
			m.SetDefault(c)
			return m, nil
		}
		log.Warn("replacing the self-signed certificate", "err", perr)
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	hosts, ips := tlscert.LocalNames()
	certPEM, keyPEM, err := tlscert.SelfSigned(hosts, ips, now(), selfSignedValidity)
	if err != nil {
		return nil, err
	}
	c, err := tlscert.ParsePair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	if err := db.PutBlob(ctx, "tls", "default", append(certPEM, keyPEM...)); err != nil {
		return nil, err
	}
	log.Info("made a self-signed certificate", "hosts", hosts)
	m.SetDefault(c)
	return m, nil
}

// splitPEM separates the certificate blocks from the key block of a bundle.
func splitPEM(b []byte) (certPEM, keyPEM []byte) {
	i := bytes.Index(b, []byte("-----BEGIN PRIVATE KEY-----"))
	if i < 0 {
		return b, nil
	}
	return b[:i], b[i:]
}
