package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
)

//go:embed static
var staticFS embed.FS

// StaticPrefix is where Assets are served.
const StaticPrefix = "/ui/static/"

// assetVersion fingerprints each embedded file, so pages can link to it
// with ?v=<hash> and browsers may cache it for good.
var assetVersion = func() map[string]string {
	v := map[string]string{}
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		v[path.Base(p)] = hex.EncodeToString(sum[:6])
		return nil
	})
	return v
}()

// AssetURL returns the versioned URL of an embedded file, e.g.
// /ui/static/app.css?v=1a2b3c4d5e6f.
func AssetURL(name string) string {
	return StaticPrefix + name + "?v=" + assetVersion[name]
}

// Assets serves the embedded files under StaticPrefix. A request that names
// the current version is cached for a year; others are revalidated.
func Assets() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix(StaticPrefix, http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := path.Base(r.URL.Path)
		if v := r.URL.Query().Get("v"); v != "" && v == assetVersion[name] {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		files.ServeHTTP(w, r)
	})
}
