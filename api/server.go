// Package api is imgward's HTTP face: the Glance v2 images and members API
// under /v2, so that OpenStack clients work unchanged, and imgward's own
// endpoints under /v1 (docs/API.md). It authenticates each request, bounds
// every body, and is the only place where error kinds become status codes.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"imgward"
	"imgward/broker"
	"imgward/catalog"
	"imgward/errors"
	"imgward/identity"
	"imgward/keystone"
	"imgward/monitor"
)

// maxJSONBody bounds every JSON request body.
const maxJSONBody = 1 << 20

// Server routes HTTP requests to the catalog.
type Server struct {
	cat     *catalog.Service
	mon     *monitor.Service // nil: the detection routes are not served
	log     *slog.Logger
	mux     *http.ServeMux
	ready   func(context.Context) error
	metrics *metrics
	broker  *broker.Broker   // protect.go
	issuer  *identity.Issuer // protect.go
	now     func() time.Time
	upload  UploadLimits // upload.go

	keystone *keystone.Validator // keystone.go; nil: imgward's tokens only
	roles    KeystoneRoles
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithMonitor serves the detection routes (api/detect.go) over m.
func WithMonitor(m *monitor.Service) Option { return func(s *Server) { s.mon = m } }

// WithReadiness sets the check behind /readyz, such as a store ping.
func WithReadiness(f func(context.Context) error) Option { return func(s *Server) { s.ready = f } }

// WithRegistry registers the server's metrics in reg and serves reg on
// /metrics; without it the server keeps a registry of its own.
func WithRegistry(reg *prometheus.Registry) Option {
	return func(s *Server) { s.metrics = newMetrics(reg) }
}

// New returns the HTTP handler of imgward over a catalog.
func New(cat *catalog.Service, opts ...Option) *Server {
	s := &Server{cat: cat, log: slog.Default(), mux: http.NewServeMux(), now: time.Now,
		upload: UploadLimits{}.withDefaults()}
	for _, o := range opts {
		o(s)
	}
	if s.metrics == nil {
		s.metrics = newMetrics(prometheus.NewRegistry())
	}
	s.routes()
	return s
}

// handlerFunc is an authenticated handler.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p imgward.Principal)

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	s.mux.HandleFunc("GET /readyz", s.readyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))

	s.mux.HandleFunc("GET /{$}", s.versions)
	s.mux.HandleFunc("GET /versions", s.versions)
	s.mux.HandleFunc("GET /v2", s.versions)
	s.mux.HandleFunc("GET /v2/{$}", s.versions)
	s.handle("GET /v2/info/import", s.importInfo)
	s.handle("GET /v2/info/stores", s.storesInfo)
	s.handle("GET /v2/schemas/{name}", s.schema)
	s.handle("PUT /v2/images/{id}/tags/{tag}", s.addTag)
	s.handle("DELETE /v2/images/{id}/tags/{tag}", s.removeTag)
	s.handle("POST /v2/images", s.createImage)
	s.handle("GET /v2/images", s.listImages)
	s.handle("GET /v2/images/{id}", s.getImage)
	s.handle("PATCH /v2/images/{id}", s.updateImage)
	s.handle("DELETE /v2/images/{id}", s.deleteImage)
	s.handle("PUT /v2/images/{id}/file", s.uploadImage)
	s.handle("GET /v2/images/{id}/file", s.downloadImage)
	s.handle("POST /v2/images/{id}/members", s.addMember)
	s.handle("GET /v2/images/{id}/members", s.listMembers)
	s.handle("GET /v2/images/{id}/members/{member}", s.getMember)
	s.handle("PUT /v2/images/{id}/members/{member}", s.updateMember)
	s.handle("DELETE /v2/images/{id}/members/{member}", s.removeMember)

	s.handle("GET /v1/whoami", s.whoami)
	s.handle("POST /v1/projects", s.createProject)
	s.handle("GET /v1/projects", s.listProjects)
	s.handle("GET /v1/projects/{id}", s.getProject)
	s.handle("POST /v1/users", s.createUser)
	s.handle("GET /v1/users", s.listUsers)
	s.handle("POST /v1/users/{id}/disable", s.disableUser)
	s.handle("POST /v1/users/{id}/enable", s.enableUser)
	s.handle("POST /v1/users/{id}/tokens", s.createToken)
	s.handle("GET /v1/users/{id}/tokens", s.listTokens)
	s.handle("DELETE /v1/users/{id}/tokens/{token}", s.revokeToken)
	s.handle("GET /v1/publishers/{id}", s.getPublisher)
	s.handle("PUT /v1/publishers/{id}", s.putPublisher)
	s.handleSelf("POST /v1/instances", s.launch) // launchRoute (v1.go)
	s.handle("GET /v1/instances", s.listInstances)
	s.handle("GET /v1/instances/{id}", s.getInstance)
	s.handle("DELETE /v1/instances/{id}", s.terminate)
	s.handle("GET /v1/audit", s.listAudit)
	s.handle("GET /v1/audit/checkpoint", s.auditCheckpoint)
	s.handle("GET /v1/audit/key", s.auditKey)
	s.handle("GET /v1/audit/proof", s.auditProof)
	s.handle("GET /v1/audit/consistency", s.auditConsistency)
	if s.mon != nil {
		s.detectRoutes()
	}
	s.mux.HandleFunc("POST /v1/keys/release", s.release)
	s.handle("POST /v1/images/{id}/key", s.ownerKey)
	s.mux.HandleFunc("GET /v1/identity/keys", s.identityKeys)
	s.handle("POST /v1/keys/rotate", s.rotateKeys)
	s.handle("POST /v1/identity/rotate", s.rotateIdentity)
	s.handle("GET /v1/flags", s.listFlags)
	s.handle("POST /v1/flags/{id}/clear", s.clearFlag)
	s.paidRoutes()
	s.mux.HandleFunc("GET /v1/openapi.json", s.openapi)
}

// handle registers an authenticated route.
func (s *Server) handle(pattern string, h handlerFunc) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		p, err := s.caller(r, pattern)
		if err != nil {
			s.error(w, r, err)
			return
		}
		h(w, r, p)
	})
}

// handleSelf registers a route that authenticates its caller itself, as
// handle's routes are, only later (the launch: v1.go).
func (s *Server) handleSelf(pattern string, h http.HandlerFunc) {
	s.mux.HandleFunc(pattern, h)
}

// caller authenticates the caller of r, which may call the route pattern
// if its role allows.
func (s *Server) caller(r *http.Request, pattern string) (imgward.Principal, error) {
	p, err := s.authenticate(r.Context(), token(r))
	if err != nil {
		return imgward.Principal{}, err
	}
	return p, allowed(pattern)(p)
}

// allowed returns the role rule of the route pattern.
func allowed(pattern string) func(imgward.Principal) error {
	return func(p imgward.Principal) error {
		if p.Role == imgward.RoleCollector && !collectorRoutes[pattern] {
			return errors.E(errors.Permission, errors.Msg("a collector may only post snapshots"))
		}
		return nil
	}
}

// token takes the token from X-Auth-Token, as OpenStack clients send it, or
// from an Authorization: Bearer header.
func token(r *http.Request) string {
	if t := r.Header.Get("X-Auth-Token"); t != "" {
		return t
	}
	a := r.Header.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

// ServeHTTP implements http.Handler: routing, method and path errors as
// JSON, metrics and a log line per request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w, code: 200}
	unversioned(r)
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		// The mux answers 404 or 405 in plain text; answer in JSON instead.
		code := 404
		if h != nil {
			rec := &probeWriter{header: http.Header{}}
			h.ServeHTTP(rec, r)
			code = rec.code
			if allow := rec.header.Get("Allow"); allow != "" {
				rw.Header().Set("Allow", allow)
			}
		}
		writeError(rw, code, http.StatusText(code), "no route for "+r.Method+" "+r.URL.Path)
	} else {
		s.mux.ServeHTTP(rw, r)
	}
	d := time.Since(start)
	s.metrics.observe(pattern, r.Method, rw.code, d)
	s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rw.code, "duration", d)
}

// unversioned serves Glance's v2 paths also without /v2, as the current
// version: openstackclient and glanceclient given an endpoint without a
// version and a token of their own (admin_token, --os-image-url) skip
// version discovery and append /images to the endpoint.
func unversioned(r *http.Request) {
	p := r.URL.Path
	for _, prefix := range []string{"/images", "/schemas/", "/info/"} {
		if p == prefix || strings.HasPrefix(p, prefix+"/") || strings.HasSuffix(prefix, "/") && strings.HasPrefix(p, prefix) {
			r.URL.Path = "/v2" + p
			if r.URL.RawPath != "" {
				r.URL.RawPath = "/v2" + r.URL.RawPath
			}
			return
		}
	}
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.ready != nil {
		if err := s.ready(r.Context()); err != nil {
			s.log.Warn("not ready", "err", err)
			writeError(w, 503, "Service Unavailable", "not ready")
			return
		}
	}
	writeJSON(w, 200, map[string]string{"status": "ready"})
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// probeWriter captures the status the mux would send for an unmatched route.
type probeWriter struct {
	header http.Header
	code   int
}

func (w *probeWriter) Header() http.Header         { return w.header }
func (w *probeWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *probeWriter) WriteHeader(code int)        { w.code = code }
