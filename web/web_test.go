package web_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"imgward/web"
)

// api stands in for the API behind Mount: it answers what its path says,
// so that the test can tell what reached it and what Mount served.
func api() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/big":
			w.Write([]byte(strings.Repeat("x", 17<<20)))
		case "/v1/denied":
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":{}}`))
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"path":"` + r.URL.Path + `"}`))
		}
	})
}

func TestMount(t *testing.T) {
	srv := httptest.NewServer(web.Mount(api()))
	defer srv.Close()
	// get asks as a browser does, HTML first, unless path ends in "#api".
	get := func(method, path, inm string) (*http.Response, string) {
		t.Helper()
		path, api := strings.CutSuffix(path, "#api")
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if api {
			req.Header.Set("Accept", "application/json")
		} else {
			req.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
		}
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for _, tt := range []struct {
		name, method, path string
		code               int
		ctype, body        string
	}{
		{"page", "GET", "/", 200, "text/html; charset=utf-8", `<script src="/ui/app.js"`},
		{"script", "GET", "/ui/app.js", 200, "text/javascript; charset=utf-8", "sessionStorage"},
		{"style", "GET", "/ui/style.css", 200, "text/css; charset=utf-8", ":root"},
		{"no such asset", "GET", "/ui/nothing.js", 404, "", ""},
		{"no escape from static", "GET", "/ui/../web.go", 404, "", ""},
		{"post to the page", "POST", "/", 405, "", ""},
		{"api passes through", "GET", "/v1/whoami", 200, "application/json", `"path":"/v1/whoami"`},
		// OpenStack clients discover versions at / (Glance answers 300).
		{"a client's / is the API's", "GET", "/#api", 200, "application/json", `"path":"/"`},
	} {
		resp, body := get(tt.method, tt.path, "")
		if resp.StatusCode != tt.code || (tt.ctype != "" && resp.Header.Get("Content-Type") != tt.ctype) || !strings.Contains(body, tt.body) {
			t.Errorf("%s: %d %q %.60q; want %d %q %q", tt.name, resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.code, tt.ctype, tt.body)
		}
	}

	// The page allows only its own script: no inline script, no other origin.
	resp, _ := get("GET", "/", "")
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	tag := resp.Header.Get("ETag")
	if resp, _ := get("GET", "/", tag); resp.StatusCode != 304 {
		t.Errorf("page again with its ETag: %d, want 304", resp.StatusCode)
	}

	// API reads get an ETag only when the client sends If-None-Match, and
	// a 304 while the answer is the same.
	if resp, _ := get("GET", "/v1/a", ""); resp.Header.Get("ETag") != "" {
		t.Error("an API read without If-None-Match got an ETag: it was buffered for nothing")
	}
	resp, body := get("GET", "/v1/a", `"none"`)
	tag = resp.Header.Get("ETag")
	if resp.StatusCode != 200 || tag == "" || !strings.Contains(body, "/v1/a") {
		t.Fatalf("API read: %d ETag %q %q", resp.StatusCode, tag, body)
	}
	if resp, body := get("GET", "/v1/a", tag); resp.StatusCode != 304 || body != "" {
		t.Errorf("API read with its ETag: %d %q, want 304 and no body", resp.StatusCode, body)
	}
	if resp, _ := get("GET", "/v1/b", tag); resp.StatusCode != 200 {
		t.Errorf("another answer with the first one's ETag: %d, want 200", resp.StatusCode)
	}
	if resp, _ := get("GET", "/v1/denied", `"x"`); resp.StatusCode != 403 || resp.Header.Get("ETag") != "" {
		t.Errorf("a refusal: %d ETag %q, want 403 without ETag", resp.StatusCode, resp.Header.Get("ETag"))
	}
	// Beyond the buffer's bound the answer streams through whole, untagged.
	if resp, body := get("GET", "/v1/big", `"x"`); resp.StatusCode != 200 || len(body) != 17<<20 || resp.Header.Get("ETag") != "" {
		t.Errorf("a large answer: %d, %d bytes, ETag %q", resp.StatusCode, len(body), resp.Header.Get("ETag"))
	}
	// Image data is never buffered.
	if resp, _ := get("GET", "/v2/images/x/file", `"x"`); resp.Header.Get("ETag") != "" {
		t.Error("image data got an ETag")
	}
}
