// Package web is the operator dashboard: a page and a small hand-written
// script, embedded in the binary and served at / by imgward serve. The
// script reads the same /v1 and /v2 API as every client, with the token the
// user signs in with (kept in the browser's session storage, never in a
// URL), so a member sees on the dashboard exactly what the API lets it see.
//
// Mount also gives the API's JSON reads an ETag, so that the dashboard's
// polling costs a 304 and no rendering while nothing changed.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// assets are the files under static/, with their ETags, read once.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

var assets = func() map[string]asset {
	m := map[string]asset{}
	types := map[string]string{".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
		".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
	_ = fs.WalkDir(static, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(name)
		if err != nil {
			return err
		}
		ct := "application/octet-stream"
		if i := strings.LastIndexByte(name, '.'); i >= 0 && types[name[i:]] != "" {
			ct = types[name[i:]]
		}
		m[strings.TrimPrefix(name, "static/")] = asset{b, ct, etagOf(b)}
		return nil
	})
	return m
}()

func etagOf(b []byte) string {
	h := sha256.Sum256(b)
	return `"` + base64.RawURLEncoding.EncodeToString(h[:12]) + `"`
}

// maxETagBody bounds the API answers Mount buffers to compute an ETag;
// larger ones pass through unbuffered.
const maxETagBody = 16 << 20

// Mount returns a handler that serves the dashboard at / and /ui/, and
// passes every other request to api.
func Mount(api http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/" && wantsHTML(r) || strings.HasPrefix(r.URL.Path, "/ui/"):
			serveAsset(w, r)
		case r.Method == http.MethodGet && r.Header.Get("If-None-Match") != "" && etagged(r.URL.Path):
			serveETag(api, w, r)
		default:
			api.ServeHTTP(w, r)
		}
	})
}

// wantsHTML says whether a request for / comes from a browser, which
// asks for HTML first: it gets the dashboard. Every other client gets the
// API's answer, Glance's version discovery (300 with JSON), which
// OpenStack clients ask for with Accept: application/json or */*.
func wantsHTML(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		media, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		switch strings.ToLower(strings.TrimSpace(media)) {
		case "text/html", "application/xhtml+xml":
			return true
		}
	}
	return false
}

// etagged says whether a GET of path is a small JSON or text read: image
// data (…/file) streams and is never buffered.
func etagged(path string) bool {
	return (strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/v2/")) && !strings.HasSuffix(path, "/file")
}

func serveAsset(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/ui/")
	if r.URL.Path == "/" {
		name = "index.html"
	}
	a, ok := assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	// The page runs only its own script and style, and talks only to
	// this origin: a token in session storage is as safe as the page.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Method == http.MethodHead {
		return
	}
	w.Write(a.body)
}

// serveETag runs a GET through api into a buffer and answers 304 when
// the body is the one the client holds. Only 200 answers get an ETag.
func serveETag(api http.Handler, w http.ResponseWriter, r *http.Request) {
	rec := &recorder{w: w, header: http.Header{}, code: http.StatusOK}
	api.ServeHTTP(rec, r)
	if rec.over {
		return // already streamed through to w
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	if rec.code == http.StatusOK {
		tag := etagOf(rec.buf.Bytes())
		w.Header().Set("ETag", tag)
		w.Header().Set("Cache-Control", "no-cache")
		if r.Header.Get("If-None-Match") == tag {
			w.Header().Del("Content-Length")
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.WriteHeader(rec.code)
	w.Write(rec.buf.Bytes())
}

// recorder buffers an answer up to maxETagBody; beyond it, it writes
// what it holds to the real writer and passes the rest through.
type recorder struct {
	w      http.ResponseWriter
	header http.Header
	code   int
	buf    bytes.Buffer
	over   bool
}

func (r *recorder) Header() http.Header  { return r.header }
func (r *recorder) WriteHeader(code int) { r.code = code }
func (r *recorder) Write(b []byte) (int, error) {
	if r.over {
		return r.w.Write(b)
	}
	if r.buf.Len()+len(b) <= maxETagBody || r.w == nil {
		return r.buf.Write(b)
	}
	r.over = true
	for k, v := range r.header {
		r.w.Header()[k] = v
	}
	r.w.WriteHeader(r.code)
	if _, err := r.w.Write(r.buf.Bytes()); err != nil {
		return 0, err
	}
	return r.w.Write(b)
}
