package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"imgward"
	"imgward/catalog"
	"imgward/errors"
	"imgward/identity"
)

func (s *Server) whoami(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	writeJSON(w, http.StatusOK, map[string]any{"user_id": p.UserID, "project_id": p.ProjectID, "role": p.Role})
}

func projectJSON(p *imgward.Project) map[string]any {
	return map[string]any{"id": p.ID, "name": p.Name, "created_at": p.CreatedAt.Format(time.RFC3339Nano)}
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	var body struct {
		Name string `json:"name"`
	}
	if err := decode(w, r, "application/json", &body); err != nil {
		s.fail(w, r, err)
		return
	}
	pr, err := s.cat.CreateProject(r.Context(), p, body.Name)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, projectJSON(pr))
}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	ps, err := s.cat.ListProjects(r.Context(), p)
	if err != nil {
		s.error(w, r, err)
		return
	}
	list := jsonList(ps, projectJSON)
	writeJSON(w, http.StatusOK, map[string]any{"projects": list})
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	pr, err := s.cat.Project(r.Context(), p, imgward.ProjectID(r.PathValue("id")))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, projectJSON(pr))
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	var body struct {
		Name      string   `json:"name"`
		ProjectID string   `json:"project_id"`
		Role      string   `json:"role"`
		Hosts     []string `json:"hosts"`
	}
	if err := decode(w, r, "application/json", &body); err != nil {
		s.fail(w, r, err)
		return
	}
	u, token, err := s.cat.CreateUser(r.Context(), p, body.Name, imgward.ProjectID(body.ProjectID), imgward.Role(body.Role), body.Hosts)
	if err != nil {
		s.error(w, r, err)
		return
	}
	hosts := u.Hosts
	if hosts == nil {
		hosts = []string{}
	}
	writeJSON(w, http.StatusCreated, map[string]any{
		"id": u.ID, "name": u.Name, "project_id": u.ProjectID, "role": u.Role, "hosts": hosts,
		"created_at": u.CreatedAt.Format(time.RFC3339Nano), "token": token,
	})
}

func publisherJSON(p *imgward.Publisher) map[string]any {
	return map[string]any{
		"project_id": p.ProjectID, "display_name": p.DisplayName, "description": p.Description,
		"contact": p.Contact, "verified": p.Verified, "updated_at": p.UpdatedAt.Format(time.RFC3339Nano),
	}
}

func (s *Server) getPublisher(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	pub, err := s.cat.Publisher(r.Context(), p, imgward.ProjectID(r.PathValue("id")))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, publisherJSON(pub))
}

func (s *Server) putPublisher(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	var body struct {
		ProjectID   string  `json:"project_id"`
		DisplayName *string `json:"display_name"`
		Description *string `json:"description"`
		Contact     *string `json:"contact"`
		Verified    *bool   `json:"verified"`
		UpdatedAt   string  `json:"updated_at"`
	}
	if err := decode(w, r, "application/json", &body); err != nil {
		s.fail(w, r, err)
		return
	}
	id := imgward.ProjectID(r.PathValue("id"))
	if body.ProjectID != "" && body.ProjectID != string(id) {
		s.error(w, r, errors.E(errors.Invalid, errors.Msg("project_id in the body does not match the path")))
		return
	}
	pub, err := s.cat.PutPublisher(r.Context(), p, id, catalog.PublisherUpdate{
		DisplayName: body.DisplayName, Description: body.Description, Contact: body.Contact, Verified: body.Verified,
	})
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, publisherJSON(pub))
}

func instanceJSON(in *imgward.Instance) map[string]any {
	m := map[string]any{
		"id": in.ID, "image_id": in.ImageID, "project_id": in.ProjectID, "user_id": in.UserID,
		"host": in.Host, "state": in.State, "created_at": in.CreatedAt.Format(time.RFC3339Nano),
		"terminated_at": nil,
	}
	if !in.TerminatedAt.IsZero() {
		m["terminated_at"] = in.TerminatedAt.Format(time.RFC3339Nano)
	}
	return m
}

// launchJSON is instanceJSON of a new instance, with its identity
// document: the same fields in the same (sorted) order as the map's, which
// encoding/json writes with less reflection and fewer allocations.
type launchJSON struct {
	CreatedAt    string                `json:"created_at"`
	Host         string                `json:"host"`
	ID           imgward.InstanceID    `json:"id"`
	Identity     string                `json:"identity,omitempty"`
	ImageID      imgward.ImageID       `json:"image_id"`
	ProjectID    imgward.ProjectID     `json:"project_id"`
	State        imgward.InstanceState `json:"state"`
	TerminatedAt *string               `json:"terminated_at"` // a new instance's is null
	UserID       imgward.UserID        `json:"user_id"`
}

// launchRoute is the route of a launch, which authenticates its caller
// itself: in the launch's own transaction where it can
// (catalog.LaunchWithToken), so that on PostgreSQL a launch is two round
// trips instead of three.
const launchRoute = "POST /v1/instances"

// maxLaunchBody bounds a launch's body, read before its caller is known.
const maxLaunchBody = 4 << 10

func (s *Server) launch(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ImageID string `json:"image_id"`
		Host    string `json:"host"`
	}
	// The body is read before the caller is known: the launch needs it to
	// authenticate in one read. So that an unknown caller cannot make the
	// node read and parse much, its bound is what a launch needs (an image
	// id and a host of at most 255 bytes), not maxJSONBody.
	derr := decodeLimit(w, r, "application/json", maxLaunchBody, &body)
	// Checked before the launch, so that no instance is left without the
	// identity document that its host needs.
	badHost := derr == nil && s.issuer != nil && !identity.ValidHost(body.Host)
	tok := token(r)
	var in *imgward.Instance
	var err error
	if derr == nil && !badHost && (s.keystone == nil || strings.HasPrefix(tok, catalog.TokenPrefix)) {
		in, err = s.cat.LaunchWithToken(r.Context(), tok, allowed(launchRoute), imgward.ImageID(body.ImageID), body.Host)
	} else {
		// The ordinary order: the caller first (an unknown one learns
		// nothing of its request), then the request.
		var p imgward.Principal
		if p, err = s.caller(r, launchRoute); err == nil {
			switch {
			case derr != nil:
				s.fail(w, r, derr)
				return
			case badHost:
				err = errors.E(errors.Invalid, errors.Msg("host must be a DNS name or an address"))
			default:
				in, err = s.cat.Launch(r.Context(), p, imgward.ImageID(body.ImageID), body.Host)
			}
		}
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	m := &launchJSON{CreatedAt: in.CreatedAt.Format(time.RFC3339Nano), Host: in.Host, ID: in.ID,
		ImageID: in.ImageID, ProjectID: in.ProjectID, State: in.State, UserID: in.UserID}
	if !in.TerminatedAt.IsZero() {
		t := in.TerminatedAt.Format(time.RFC3339Nano)
		m.TerminatedAt = &t
	}
	if s.issuer != nil {
		tok, err := s.issueIdentity(in)
		if err != nil {
			s.error(w, r, err)
			return
		}
		m.Identity = tok
		w.Header().Set("Cache-Control", "no-store")
	}
	w.Header().Set("Location", "/v1/instances/"+string(in.ID))
	writeJSON(w, http.StatusCreated, m)
}

func (s *Server) listInstances(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	q := r.URL.Query()
	ins, err := s.cat.Instances(r.Context(), p, imgward.InstanceFilter{
		ImageID: imgward.ImageID(q.Get("image_id")), Publisher: imgward.ProjectID(q.Get("publisher")),
		State: imgward.InstanceState(q.Get("state")),
	})
	if err != nil {
		s.error(w, r, err)
		return
	}
	list := jsonList(ins, instanceJSON)
	writeJSON(w, http.StatusOK, map[string]any{"instances": list})
}

func (s *Server) getInstance(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	in, err := s.cat.Instance(r.Context(), p, imgward.InstanceID(r.PathValue("id")))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, instanceJSON(in))
}

func (s *Server) terminate(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	in, err := s.cat.Terminate(r.Context(), p, imgward.InstanceID(r.PathValue("id")))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, instanceJSON(in))
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	q := r.URL.Query()
	var after int64
	limit := catalog.MaxAuditPage
	var err error
	if a := q.Get("after"); a != "" {
		if after, err = strconv.ParseInt(a, 10, 64); err != nil || after < 0 {
			s.error(w, r, errors.E(errors.Invalid, errors.Msg("after must be a non-negative integer")))
			return
		}
	}
	if l := q.Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 {
			s.error(w, r, errors.E(errors.Invalid, errors.Msg("limit must be a positive integer")))
			return
		}
	}
	var byLeaf bool
	switch q.Get("by") {
	case "", "seq":
	case "leaf":
		byLeaf = true
	default:
		s.error(w, r, errors.E(errors.Invalid, errors.Msg("by must be seq or leaf")))
		return
	}
	es, err := s.cat.Audit(r.Context(), p, after, limit, byLeaf)
	if err != nil {
		s.error(w, r, err)
		return
	}
	list := make([]map[string]any, len(es))
	for i := range es {
		list[i] = auditEntryJSON(&es[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": list})
}
