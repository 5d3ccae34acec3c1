package api

import (
	"net/http"

	"imgward"
	"imgward/errors"
)

func memberJSON(m *imgward.Member) map[string]any {
	return map[string]any{
		"image_id": m.ImageID, "member_id": m.MemberID, "status": m.Status,
		"created_at": m.CreatedAt.UTC().Format(glanceTime), "updated_at": m.UpdatedAt.UTC().Format(glanceTime),
		"schema": "/v2/schemas/member",
	}
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	var body struct {
		Member string `json:"member"`
	}
	if err := decode(w, r, "application/json", &body); err != nil {
		s.fail(w, r, err)
		return
	}
	m, err := s.cat.AddMember(r.Context(), p, imgward.ImageID(r.PathValue("id")), imgward.ProjectID(body.Member))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, memberJSON(m))
}

func (s *Server) listMembers(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	ms, err := s.cat.Members(r.Context(), p, imgward.ImageID(r.PathValue("id")))
	if err != nil {
		s.error(w, r, err)
		return
	}
	list := jsonList(ms, memberJSON)
	writeJSON(w, http.StatusOK, map[string]any{"members": list, "schema": "/v2/schemas/members"})
}

func (s *Server) getMember(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	m, err := s.cat.Member(r.Context(), p, imgward.ImageID(r.PathValue("id")), imgward.ProjectID(r.PathValue("member")))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, memberJSON(m))
}

func (s *Server) updateMember(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	// Other fields are ignored, as Glance does: openstacksdk's
	// update_member also sends "member", which the path already names.
	var body map[string]any
	if err := decode(w, r, "application/json", &body); err != nil {
		s.fail(w, r, err)
		return
	}
	st, ok := body["status"].(string)
	if !ok {
		s.error(w, r, errors.E(errors.Invalid, errors.Msg("status must be pending, accepted or rejected")))
		return
	}
	m, err := s.cat.UpdateMember(r.Context(), p, imgward.ImageID(r.PathValue("id")),
		imgward.ProjectID(r.PathValue("member")), imgward.MemberStatus(st))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, memberJSON(m))
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	if err := s.cat.RemoveMember(r.Context(), p, imgward.ImageID(r.PathValue("id")), imgward.ProjectID(r.PathValue("member"))); err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
