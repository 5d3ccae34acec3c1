package api

import (
	"net/http"
	"time"

	"imgward"
	"imgward/catalog"
	"imgward/errors"
)

// The lifecycle of users and tokens: list, disable and enable users; issue,
// list and revoke their tokens. All of it needs the admin role.

func userJSON(u *imgward.User) map[string]any {
	hosts := u.Hosts
	if hosts == nil {
		hosts = []string{}
	}
	return map[string]any{
		"id": u.ID, "name": u.Name, "project_id": u.ProjectID, "role": u.Role, "hosts": hosts,
		"disabled": u.Disabled, "created_at": u.CreatedAt.Format(time.RFC3339Nano),
	}
}

// optTime renders a time that may be unset as null.
func optTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(time.RFC3339Nano)
}

// tokenJSON never holds the secret nor its hash: only the id that names it.
func tokenJSON(k *imgward.Token) map[string]any {
	return map[string]any{
		"id": k.ID, "user_id": k.UserID, "created_at": k.CreatedAt.Format(time.RFC3339Nano),
		"expires_at": optTime(k.ExpiresAt), "revoked_at": optTime(k.RevokedAt),
	}
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	us, err := s.cat.ListUsers(r.Context(), p, imgward.ProjectID(r.URL.Query().Get("project_id")))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": jsonList(us, userJSON)})
}

func (s *Server) disableUser(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	s.setUserDisabled(w, r, p, true)
}

func (s *Server) enableUser(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	s.setUserDisabled(w, r, p, false)
}

func (s *Server) setUserDisabled(w http.ResponseWriter, r *http.Request, p imgward.Principal, disabled bool) {
	u, err := s.cat.SetUserDisabled(r.Context(), p, imgward.UserID(r.PathValue("id")), disabled)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userJSON(u))
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	var body struct {
		// ExpiresIn is the token's lifetime in seconds; 0 or absent: none.
		ExpiresIn int64 `json:"expires_in"`
	}
	if r.ContentLength != 0 {
		if err := decode(w, r, "application/json", &body); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if body.ExpiresIn < 0 || body.ExpiresIn > int64(catalog.MaxTokenTTL/time.Second) {
		s.fail(w, r, errors.E("api.createToken", errors.Invalid, errors.Msg("expires_in must be 0 to 315360000 seconds")))
		return
	}
	k, token, err := s.cat.CreateToken(r.Context(), p, imgward.UserID(r.PathValue("id")), time.Duration(body.ExpiresIn)*time.Second)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := tokenJSON(k)
	out["token"] = token
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	ks, err := s.cat.ListTokens(r.Context(), p, imgward.UserID(r.PathValue("id")))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": jsonList(ks, tokenJSON)})
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	k, err := s.cat.RevokeToken(r.Context(), p, imgward.UserID(r.PathValue("id")), r.PathValue("token"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tokenJSON(k))
}
