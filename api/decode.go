package api

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"strconv"

	"imgward/errors"
)

// requireType checks the request's media type.
func requireType(r *http.Request, want string) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != want {
		return errors.E("api.decode", errors.Invalid, errors.Msg("Content-Type must be "+want))
	}
	return nil
}

// decode reads a bounded JSON body of the given media type into v, with
// numbers kept as json.Number and unknown fields rejected where v is a
// struct, so that a typo is an error and not a silent no-op.
func decode(w http.ResponseWriter, r *http.Request, mediaType string, v any) error {
	return decodeLimit(w, r, mediaType, maxJSONBody, v)
}

// decodeLimit is decode with a bound of its own, for a route whose body is
// read before its caller is known (the launch: v1.go).
func decodeLimit(w http.ResponseWriter, r *http.Request, mediaType string, limit int64, v any) error {
	body, err := readBodyLimit(w, r, mediaType, limit)
	if err != nil {
		return err
	}
	return decodeBody(body, v)
}

// readBody checks the media type and reads the body, bounded.
func readBody(w http.ResponseWriter, r *http.Request, mediaType string) ([]byte, error) {
	return readBodyLimit(w, r, mediaType, maxJSONBody)
}

// readBodyLimit is readBody with limit bytes at most, a whole number of
// KiB.
func readBodyLimit(w http.ResponseWriter, r *http.Request, mediaType string, limit int64) ([]byte, error) {
	const op = "api.decode"
	if err := requireType(r, mediaType); err != nil {
		return nil, errUnsupported
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errors.E(op, errors.TooLarge, errors.Msg("request body is over "+sizeText(limit)))
		}
		return nil, errors.E(op, errors.Invalid, errors.Msg("could not read the request body"))
	}
	return body, nil
}

// decodeBody decodes a JSON body into v as decode does.
func decodeBody(body []byte, v any) error {
	const op = "api.decode"
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if _, isMap := v.(*map[string]any); !isMap {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return errors.E(op, errors.Invalid, errors.Msg("malformed JSON: "+err.Error()))
	}
	if dec.More() {
		return errors.E(op, errors.Invalid, errors.Msg("malformed JSON: trailing data"))
	}
	return nil
}

// errUnsupported is a wrong Content-Type; it maps to 415.
var errUnsupported = errors.E("api.decode", errors.Invalid, errors.Msg("unsupported media type"))

// fail writes err, with 415 for a wrong media type.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if err == errUnsupported {
		writeError(w, http.StatusUnsupportedMediaType, http.StatusText(http.StatusUnsupportedMediaType),
			"unsupported Content-Type "+r.Header.Get("Content-Type"))
		return
	}
	s.error(w, r, err)
}

// sizeText writes n bytes, a whole number of KiB, as "1 MiB" or "4 KiB".
func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return strconv.FormatInt(n>>20, 10) + " MiB"
	}
	return strconv.FormatInt(n>>10, 10) + " KiB"
}
