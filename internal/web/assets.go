package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

//go:embed static
var staticFS embed.FS

// asset is one static file, compressed once at start.
type asset struct {
	name, hash, ctype string
	raw, gz, zst      []byte
}

// assets are served at /static/<version>/<name>, where the version is a
// hash of every asset's name and content: a URL names one content for
// ever and can be cached for a year, and the modules' relative imports
// ("./app.js") stay within one version.
type assets struct {
	byName  map[string]*asset
	version string
}

func loadAssets() (*assets, error) {
	a := &assets{byName: map[string]*asset{}}
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression))
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	err = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, err := fs.ReadFile(staticFS, p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(raw)
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			return fmt.Errorf("web: asset %s has no known type", name)
		}
		as := &asset{name: name, hash: hex.EncodeToString(sum[:6]), ctype: ct, raw: raw}
		if compressible(ct) {
			var b bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
			zw.Write(raw) //nolint:errcheck // writes to memory
			zw.Close()    //nolint:errcheck
			as.gz = b.Bytes()
			as.zst = enc.EncodeAll(raw, nil)
		}
		a.byName[name] = as
		return nil
	})
	if err != nil {
		return nil, err
	}
	v := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(a.byName)) {
		fmt.Fprintf(v, "%s\x00%s\x00", name, a.byName[name].hash)
	}
	a.version = hex.EncodeToString(v.Sum(nil)[:6])
	return a, nil
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || strings.Contains(ct, "javascript") || strings.Contains(ct, "json") || strings.Contains(ct, "svg")
}

func (a *assets) has(name string) bool { return a.byName[name] != nil }

// url is the address of an asset, for templates ({{asset "app.css"}}).
func (a *assets) url(name string) (string, error) {
	as := a.byName[name]
	if as == nil {
		return "", fmt.Errorf("web: no asset %q", name)
	}
	return "/static/" + a.version + "/" + as.name, nil
}

// ServeHTTP serves an asset, compressed as the client accepts. A page
// rendered by an older instance during a rolling deploy may ask for the
// previous version: it gets today's file, but not for a year.
func (a *assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	as := a.byName[r.PathValue("name")]
	if as == nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", as.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	if r.PathValue("version") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	body, coding := as.raw, ""
	if as.gz != nil {
		h.Set("Vary", "Accept-Encoding")
		switch enc := acceptEncoding(r.Header.Get("Accept-Encoding")); {
		case enc["zstd"]:
			body, coding = as.zst, "zstd"
		case enc["gzip"]:
			body, coding = as.gz, "gzip"
		}
	}
	if coding != "" {
		h.Set("Content-Encoding", coding)
	}
	// Each coding is its own representation, so each has its own tag.
	etag := `"` + as.hash + coding + `"`
	h.Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(body) //nolint:errcheck // the client went away
}

// acceptEncoding lists the codings a client accepts (q=0 refuses one).
func acceptEncoding(h string) map[string]bool {
	out := map[string]bool{}
	for _, part := range strings.Split(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := strings.TrimSpace(params)
		if q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000" {
			continue
		}
		out[strings.ToLower(strings.TrimSpace(name))] = true
	}
	return out
}
