package api

import (
	"encoding/json"
	"net/http"

	"imgward/errors"
)

// status maps an error kind to an HTTP status code. This is the only place
// in imgward where that happens.
func status(k errors.Kind) int {
	switch k {
	case errors.Invalid:
		return http.StatusBadRequest
	case errors.Unauthenticated:
		return http.StatusUnauthorized
	case errors.Permission:
		return http.StatusForbidden
	case errors.NotExist:
		return http.StatusNotFound
	case errors.Exist, errors.Conflict:
		return http.StatusConflict
	case errors.TooLarge:
		return http.StatusRequestEntityTooLarge
	case errors.Unavailable:
		return http.StatusServiceUnavailable
	case errors.Mismatch:
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// error writes err as a JSON error body. The client sees the error's
// client message, or the status text: never the wrapped internals, which
// go to the log.
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	code := status(errors.KindOf(err))
	msg := errors.Message(err)
	if msg == "" || code == http.StatusInternalServerError {
		msg = http.StatusText(code)
	}
	if code >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="imgward"`)
	}
	writeError(w, code, http.StatusText(code), msg)
}

func writeError(w http.ResponseWriter, code int, title, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "title": title, "message": msg}})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// jsonList renders each element of xs with render, for a listing's body.
func jsonList[T any](xs []T, render func(*T) map[string]any) []map[string]any {
	list := make([]map[string]any, len(xs))
	for i := range xs {
		list[i] = render(&xs[i])
	}
	return list
}
