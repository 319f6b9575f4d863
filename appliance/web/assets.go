package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var assetFS embed.FS

type asset struct {
	name, url, ctype string
	body             []byte
}

// assets maps both the plain name and the hashed URL path to each asset.
var assets = func() map[string]*asset {
	m := map[string]*asset{}
	fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, _ := assetFS.ReadFile(p)
		sum := sha256.Sum256(body)
		name := strings.TrimPrefix(p, "assets/")
		ext := path.Ext(name)
		a := &asset{
			name:  name,
			url:   "/assets/" + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext,
			ctype: mime.TypeByExtension(ext),
			body:  body,
		}
		m[name] = a
		m[a.url] = a
		return nil
	})
	return m
}()

// assetURL returns the cache-busted URL of an embedded asset.
func assetURL(name string) string {
	if a, ok := assets[name]; ok {
		return a.url
	}
	panic("web: no asset " + name)
}

// AssetURL is the cache-busted URL of an embedded asset, for front ends.
func AssetURL(name string) string { return assetURL(name) }

var assetModTime = time.Unix(0, 0)

func serveAsset(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header(), "")
	a, ok := assets[r.URL.Path]
	if !ok || a.url != r.URL.Path {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	if a.ctype != "" {
		w.Header().Set("Content-Type", a.ctype)
	}
	http.ServeContent(w, r, a.name, assetModTime, bytes.NewReader(a.body))
}
