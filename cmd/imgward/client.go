package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

const (
	defaultURL = "http://127.0.0.1:7480"
	// callTimeout bounds a JSON call; transfers of image data have no
	// overall limit, only the transport's timeouts below.
	callTimeout = time.Minute
	// maxJSONResponse bounds a JSON response, maxErrorBody an error body.
	maxJSONResponse = 64 << 20
	maxErrorBody    = 64 << 10
	// maxPages bounds a listing, against a server whose next links loop.
	maxPages = 100000
)

// client talks to an imgward server: base URL from IMGWARD_URL, token from
// IMGWARD_TOKEN sent as X-Auth-Token.
type client struct {
	base  *url.URL
	err   error // a bad IMGWARD_URL, reported by every call
	token string
	hc    *http.Client
}

func newClient(getenv func(string) string) *client {
	c := &client{token: strings.TrimSpace(getenv("IMGWARD_TOKEN")), hc: &http.Client{Transport: transport()}}
	raw := getenv("IMGWARD_URL")
	if raw == "" {
		raw = defaultURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		c.err = withHint(&statusError{exitUsage, fmt.Sprintf("IMGWARD_URL %q is not an http or https URL", raw)},
			"set IMGWARD_URL to the server's address, such as "+defaultURL)
		return c
	}
	u.Path, u.RawPath = strings.TrimSuffix(u.Path, "/"), ""
	c.base = u
	if ca := getenv("IMGWARD_CACERT"); ca != "" {
		pool, err := caPool(ca)
		if err != nil {
			c.err = withHint(&statusError{exitUsage, err.Error()},
				"set IMGWARD_CACERT to a PEM file of the CA certificates that sign the server's")
			return c
		}
		// Only these CAs: a server of a private PKI is not checked against
		// the system's roots. ForceAttemptHTTP2 stays on, so HTTP/2 is used.
		t := c.hc.Transport.(*http.Transport)
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	// On a redirect net/http forwards custom headers such as X-Auth-Token,
	// even to another host; so redirects are reported, not followed.
	c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// maxCAFile bounds the PEM file IMGWARD_CACERT names.
const maxCAFile = 1 << 20

// caPool reads the PEM certificates of file into a pool.
func caPool(file string) (*x509.CertPool, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("IMGWARD_CACERT: %v", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCAFile+1))
	if err != nil {
		return nil, fmt.Errorf("IMGWARD_CACERT: %v", err)
	}
	if len(b) > maxCAFile {
		return nil, fmt.Errorf("IMGWARD_CACERT %s is over %d bytes", file, maxCAFile)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("IMGWARD_CACERT %s holds no PEM certificate", file)
	}
	return pool, nil
}

func transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 2 * time.Minute
	return t
}

// apiError is a non-2xx answer of the server.
type apiError struct {
	Status  int
	Title   string
	Message string
	hint    string
}

func (a *apiError) Error() string {
	if a.Message != "" {
		return a.Message
	}
	return fmt.Sprintf("%d %s", a.Status, a.Title)
}

// path joins escaped path segments: path("v2", "images", id).
func path(segs ...string) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// resolve turns a path and query, or a link the server returned (such as a
// listing's next), into a URL. A link to another origin is refused, since
// following it would send the token there.
func (c *client) resolve(ref string) (*url.URL, error) {
	r, err := url.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("bad link %q from the server", ref)
	}
	if r.Scheme != "" || r.Host != "" {
		if r.Scheme != c.base.Scheme || r.Host != c.base.Host {
			return nil, fmt.Errorf("the server linked to another origin (%s); not following", r.Redacted())
		}
		return r, nil
	}
	p, bp := r.EscapedPath(), c.base.EscapedPath()
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("bad link %q from the server", ref)
	}
	if !strings.HasPrefix(p, bp+"/") {
		p = bp + p
	}
	pu, err := url.Parse(p)
	if err != nil {
		return nil, fmt.Errorf("bad link %q from the server", ref)
	}
	u := *c.base
	u.Path, u.RawPath, u.RawQuery = pu.Path, pu.RawPath, r.RawQuery
	return &u, nil
}

// do sends a request and returns the response if its status is 2xx, or an
// *apiError. ref is as for resolve.
func (c *client) do(ctx context.Context, method, ref string, body io.Reader, header http.Header) (*http.Response, error) {
	if c.err != nil {
		return nil, c.err
	}
	u, err := c.resolve(ref)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	if s, ok := body.(sizedReader); ok && s.n >= 0 {
		req.ContentLength = s.n
		if s.n == 0 {
			req.Body = http.NoBody
		}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "imgward-cli/"+versionNumber())
	if c.token != "" {
		req.Header.Set("X-Auth-Token", c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportError(err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, c.errorFrom(resp)
	}
	return resp, nil
}

// errorFrom reads a non-2xx response's error body.
func (c *client) errorFrom(resp *http.Response) error {
	a := &apiError{Status: resp.StatusCode, Title: http.StatusText(resp.StatusCode)}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body struct {
		Error struct {
			Title   string `json:"title"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(b, &body) == nil && body.Error.Message != "" {
		a.Message = body.Error.Message
		if body.Error.Title != "" {
			a.Title = body.Error.Title
		}
	} else if s := strings.TrimSpace(string(b)); s != "" && len(s) < 200 {
		a.Message = fmt.Sprintf("%d %s: %s", a.Status, a.Title, s)
	}
	switch {
	case a.Status == http.StatusUnauthorized && c.token == "":
		a.hint = "IMGWARD_TOKEN is not set; set it to your token (imgward serve prints the first admin's)"
	case a.Status == http.StatusUnauthorized:
		a.hint = "set IMGWARD_TOKEN to a valid token"
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		a.Message = fmt.Sprintf("the server redirected to %s; set IMGWARD_URL to the final address", resp.Header.Get("Location"))
	}
	return a
}

// transportError explains a failure to talk to the server at all.
func (c *client) transportError(err error) error {
	where := c.base.Redacted()
	switch {
	case errors.Is(err, context.Canceled):
		return errors.New("interrupted")
	case errors.Is(err, syscall.ECONNREFUSED):
		return withHint(fmt.Errorf("cannot connect to %s: connection refused", where),
			"is imgward serve running at "+where+"? (IMGWARD_URL)")
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return withHint(fmt.Errorf("no answer from %s in time", where), "check IMGWARD_URL and the server's health")
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return withHint(fmt.Errorf("cannot resolve %s", dns.Name), "check IMGWARD_URL")
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return withHint(fmt.Errorf("cannot reach %s: %v", where, err), "check IMGWARD_URL")
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// call sends in as JSON (unless nil) and decodes the response into out
// (unless nil), within callTimeout.
func (c *client) call(ctx context.Context, method, ref string, in, out any) error {
	return c.callType(ctx, method, ref, "application/json", in, out)
}

func (c *client) callType(ctx context.Context, method, ref, ctype string, in, out any) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var body io.Reader
	h := http.Header{}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
		h.Set("Content-Type", ctype)
	}
	resp, err := c.do(ctx, method, ref, body, h)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	return decode(resp.Body, out)
}

// decode decodes one JSON value of bounded size, numbers as json.Number so
// that they print as the server wrote them.
func decode(r io.Reader, out any) error {
	d := json.NewDecoder(io.LimitReader(r, maxJSONResponse))
	d.UseNumber()
	if err := d.Decode(out); err != nil {
		return fmt.Errorf("bad response from the server: %v", err)
	}
	return nil
}

// list gets every page of a listing, following next links, and returns the
// items under key.
func (c *client) list(ctx context.Context, ref, key string) ([]json.RawMessage, error) {
	var all []json.RawMessage
	seen := map[string]bool{}
	for pages := 0; ref != ""; pages++ {
		if seen[ref] || pages == maxPages {
			return nil, fmt.Errorf("the server's next links loop at %q", ref)
		}
		seen[ref] = true
		var page map[string]json.RawMessage
		if err := c.call(ctx, "GET", ref, nil, &page); err != nil {
			return nil, err
		}
		var items []json.RawMessage
		if err := json.Unmarshal(page[key], &items); err != nil && page[key] != nil {
			return nil, fmt.Errorf("bad response from the server: %s: %v", key, err)
		}
		all = append(all, items...)
		ref = ""
		if next := page["next"]; next != nil && json.Unmarshal(next, &ref) != nil {
			return nil, fmt.Errorf("bad response from the server: next is not a string")
		}
	}
	if all == nil {
		all = []json.RawMessage{}
	}
	return all, nil
}

// whoami returns the caller's project.
func (c *client) whoami(ctx context.Context) (string, error) {
	var who struct {
		ProjectID string `json:"project_id"`
	}
	if err := c.call(ctx, "GET", "/v1/whoami", nil, &who); err != nil {
		return "", err
	}
	if who.ProjectID == "" {
		return "", errors.New("bad response from the server: whoami names no project")
	}
	return who.ProjectID, nil
}
