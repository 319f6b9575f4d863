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
	"regexp"
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
// A JavaScript module's imports of sibling assets (from "./x.js") are
// rewritten to their hashed URLs, so every asset stays cacheable forever
// and a changed module changes the URL of each module importing it.
var assets = func() map[string]*asset {
	bodies := map[string][]byte{}
	fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, _ := assetFS.ReadFile(p)
		bodies[strings.TrimPrefix(p, "assets/")] = body
		return nil
	})
	m := map[string]*asset{}
	var add func(name string) *asset
	add = func(name string) *asset {
		if a := m[name]; a != nil {
			return a
		}
		body := bodies[name]
		if path.Ext(name) == ".js" {
			body = importRe.ReplaceAllFunc(body, func(imp []byte) []byte {
				sub := importRe.FindSubmatch(imp)
				dep := path.Join(path.Dir(name), string(sub[2]))
				if _, ok := bodies[dep]; !ok || dep == name {
					return imp
				}
				return []byte(string(sub[1]) + add(dep).url + string(sub[3]))
			})
		}
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		a := &asset{
			name:  name,
			url:   "/assets/" + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext,
			ctype: mime.TypeByExtension(ext),
			body:  body,
		}
		m[name] = a
		m[a.url] = a
		return a
	}
	for name := range bodies {
		add(name)
	}
	return m
}()

// importRe finds the relative imports of a module: from "./x.js".
var importRe = regexp.MustCompile(`(\bfrom ")\./([A-Za-z0-9_-]+\.js)(")`)

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
