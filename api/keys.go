package api

import (
	"net/http"

	"imgward"
	"imgward/errors"
)

// The rotation endpoints: the master key of image data keys, and the
// signing key of identity documents. Both are admin operations, audited by
// the catalog.

// rotateKeysRequest is the body of POST /v1/keys/rotate; it may be absent.
type rotateKeysRequest struct {
	RetireBelow bool `json:"retire_below"`
}

// rotateKeysResponse is the answer of POST /v1/keys/rotate.
type rotateKeysResponse struct {
	KeyID     imgward.KeyID `json:"key_id"`
	Version   uint32        `json:"version"`
	Rewrapped int           `json:"rewrapped"`
	Retired   []uint32      `json:"retired"`
}

func (s *Server) rotateKeys(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	var req rotateKeysRequest
	// An empty body asks for a plain rotation: "imgward key rotate" and
	// curl -X POST need not send {}.
	if r.ContentLength != 0 {
		if err := decode(w, r, "application/json", &req); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	rot, err := s.cat.RotateKeys(r.Context(), p, req.RetireBelow)
	if err != nil {
		s.error(w, r, err)
		return
	}
	resp := rotateKeysResponse{KeyID: rot.KeyID, Version: rot.Version, Rewrapped: rot.Rewrapped, Retired: rot.Retired}
	if resp.Retired == nil {
		resp.Retired = []uint32{}
	}
	writeJSON(w, http.StatusOK, resp)
}

// rotateIdentityResponse is the answer of POST /v1/identity/rotate.
type rotateIdentityResponse struct {
	KeyID string `json:"kid"`
}

func (s *Server) rotateIdentity(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	if s.issuer == nil {
		s.error(w, r, errors.E(errors.NotExist, errors.Msg("this server issues no identity documents")))
		return
	}
	kid, err := s.cat.RotateIdentity(r.Context(), p, s.issuer.Rotate)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rotateIdentityResponse{KeyID: kid})
}
