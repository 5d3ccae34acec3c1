package api

import (
	_ "embed"
	"net/http"
)

// openAPIDoc describes the /v1 endpoints (OpenAPI 3.1). The test in
// openapi_test.go keeps it and the routes of routes() in step.
//
//go:embed openapi.json
var openAPIDoc []byte

// openapi serves the document without a token: it is public, and a client
// reads it before it has one.
func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Cache-Control", "max-age=300")
	w.Write(openAPIDoc)
}
