package api

import (
	"net/http"
	"time"

	"imgward"
	"imgward/broker"
	"imgward/errors"
	"imgward/identity"
)

// The endpoints of image protection: the key broker, the identity keys,
// their rotation, and the flags of suspect images.

// WithBroker serves POST /v1/keys/release with b.
func WithBroker(b *broker.Broker) Option { return func(s *Server) { s.broker = b } }

// WithIdentity signs an identity document for every launch with iss and
// publishes its keys on GET /v1/identity/keys.
func WithIdentity(iss *identity.Issuer) Option { return func(s *Server) { s.issuer = iss } }

// WithClock sets the clock that identity documents are issued by, for tests.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// release needs no token: the identity document is the credential, as an
// EC2 instance identity is, and it is accepted once. The hypervisor host
// that calls holds no user's token.
func (s *Server) release(w http.ResponseWriter, r *http.Request) {
	if s.broker == nil {
		s.error(w, r, errors.E(errors.NotExist, errors.Msg("this server has no key broker")))
		return
	}
	body, err := readBody(w, r, "application/json")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// The shape hosts send is read without reflection; any other body is
	// decoded as every other body is, with the same errors.
	req, ok := broker.DecodeRequest(body)
	if !ok {
		if err := decodeBody(body, &req); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	rel, err := s.broker.Release(r.Context(), req)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, rel)
}

// ownerKey gives the owner of a LUKS image its data key, wrapped to the
// caller's ephemeral key: the owner encrypts the disk before uploading it.
func (s *Server) ownerKey(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	if s.broker == nil {
		s.error(w, r, errors.E(errors.NotExist, errors.Msg("this server has no key broker")))
		return
	}
	var req broker.OwnerRequest
	if err := decode(w, r, "application/json", &req); err != nil {
		s.fail(w, r, err)
		return
	}
	rel, err := s.broker.OwnerRelease(r.Context(), p, imgward.ImageID(r.PathValue("id")), req)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, rel)
}

// identityKeys serves the public keys of identity documents without a
// token: they are public, and verifiers such as hypervisor hosts hold none.
func (s *Server) identityKeys(w http.ResponseWriter, r *http.Request) {
	if s.issuer == nil {
		s.error(w, r, errors.E(errors.NotExist, errors.Msg("this server issues no identity documents")))
		return
	}
	w.Header().Set("Cache-Control", "max-age=300")
	writeJSON(w, http.StatusOK, s.issuer.Keys())
}

// issueIdentity signs the identity document of a new instance.
func (s *Server) issueIdentity(in *imgward.Instance) (string, error) {
	d := &identity.Document{InstanceID: in.ID, ImageID: in.ImageID, ProjectID: in.ProjectID,
		UserID: in.UserID, Host: in.Host}
	return s.issuer.Issue(d, s.now())
}

func flagJSON(f *imgward.Flag) map[string]any {
	m := map[string]any{"image_id": f.ImageID, "derived_from": nil, "fraction": f.Fraction,
		"reason": f.Reason, "created_at": f.CreatedAt.Format(time.RFC3339Nano),
		"cleared_by": nil, "cleared_at": nil}
	if f.DerivedFrom != "" {
		m["derived_from"] = f.DerivedFrom
	}
	if f.Cleared() {
		m["cleared_by"], m["cleared_at"] = f.ClearedBy, f.ClearedAt.Format(time.RFC3339Nano)
	}
	return m
}

func (s *Server) listFlags(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	fs, err := s.cat.Flags(r.Context(), p, r.URL.Query().Get("all") == "true")
	if err != nil {
		s.error(w, r, err)
		return
	}
	list := jsonList(fs, flagJSON)
	writeJSON(w, http.StatusOK, map[string]any{"flags": list})
}

func (s *Server) clearFlag(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	f, err := s.cat.ClearFlag(r.Context(), p, imgward.ImageID(r.PathValue("id")))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, flagJSON(f))
}

// Rotation: the master key of image data keys, and the signing key of
// identity documents. Both are admin operations, audited by the catalog.

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
