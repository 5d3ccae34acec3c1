package api

import (
	"net/http"
	"strconv"
	"time"

	"imgward"
	"imgward/errors"
	"imgward/fleet"
	"imgward/monitor"
	"imgward/snapshot"
)

// collectorRoutes are the only routes a user of the collector role may
// call: a leaked collector token must not act as a member of its project.
var collectorRoutes = map[string]bool{"POST /v1/snapshots": true, "GET /v1/whoami": true}

func (s *Server) detectRoutes() {
	s.handle("POST /v1/snapshots", s.postSnapshots)
	s.handle("GET /v1/images/{id}/state", s.imageState)
	s.handle("PUT /v1/images/{id}/role", s.putRole)
	s.handle("GET /v1/publishers", s.listPublishers)
	s.handle("GET /v1/publishers/{id}/state", s.publisherState)
	s.handle("PUT /v1/publishers/{id}/trust", s.putTrust)
	s.handle("GET /v1/trust", s.listTrust)
	s.handle("GET /v1/publishers/{id}/fleet", s.publisherFleet)
	s.handle("POST /v1/publishers/{id}/clear", s.clearPublisher)
	s.handle("POST /v1/baselines/build", s.buildBaselines)
	s.handle("GET /v1/baselines", s.listBaselines)
	s.handle("POST /v1/detect/run", s.runDetect)
	s.handle("GET /v1/events", s.listEvents)
	s.handle("GET /v1/verdicts", s.listVerdicts)
}

// postSnapshots takes an NDJSON batch; 200 only once it is durable.
func (s *Server) postSnapshots(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	if err := requireType(r, "application/x-ndjson"); err != nil {
		s.fail(w, r, errUnsupported)
		return
	}
	body := http.MaxBytesReader(w, r.Body, snapshot.MaxBatchBytes)
	res, replayed, err := s.mon.Ingest(r.Context(), p, r.Header.Get("Idempotency-Key"), body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		err = errors.E(errors.TooLarge, errors.Msg("request body is over 16 MiB"))
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeJSON(w, http.StatusOK, res)
}

func stateJSON(st fleet.State, cfg fleet.Config) map[string]any {
	num := make([]map[string]any, len(st.Numeric))
	for i, v := range st.Numeric {
		num[i] = map[string]any{"name": v.Name, "strategy": v.Strategy.String(), "q": v.Q,
			"weight": v.Weight, "value": v.Value, "coverage": v.Coverage}
	}
	sets := make([]map[string]any, len(st.Sets))
	for i, v := range st.Sets {
		vals := make([]map[string]any, len(v.Values))
		for j, sh := range v.Values {
			vals[j] = map[string]any{"value": sh.Value, "prevalence": sh.Prevalence}
		}
		sets[i] = map[string]any{"name": v.Name, "weight": v.Weight, "coverage": v.Coverage,
			"dominant": v.Dominant, "prevalence": v.Prevalence, "values": vals}
	}
	def := cfg.Default
	if def.Weight == 0 {
		def.Weight = 1
	}
	params := map[string]any{}
	for n, p := range cfg.Params {
		params[n] = map[string]any{"strategy": p.Strategy.String(), "q": p.Q, "weight": p.Weight}
	}
	return map[string]any{"id": st.ID, "instances": st.Instances, "weight": st.Weight,
		"numeric": num, "sets": sets,
		"config": map[string]any{"default": map[string]any{"strategy": def.Strategy.String(), "q": def.Q, "weight": def.Weight},
			"params": params}}
}

func (s *Server) imageState(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	st, err := s.mon.ImageState(r.Context(), p, imgward.ImageID(r.PathValue("id")))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, stateJSON(st, s.mon.Config().Fleet))
}

func (s *Server) publisherState(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	st, err := s.mon.PublisherState(r.Context(), p, imgward.ProjectID(r.PathValue("id")))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, stateJSON(st, s.mon.Config().Fleet))
}

func (s *Server) putRole(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	var body struct {
		Role *string `json:"role"`
	}
	if err := decode(w, r, "application/json", &body); err != nil {
		s.fail(w, r, err)
		return
	}
	if body.Role == nil {
		s.error(w, r, errors.E(errors.Invalid, errors.Msg(`the body needs "role"`)))
		return
	}
	id := r.PathValue("id")
	if err := s.mon.SetRole(r.Context(), p, imgward.ImageID(id), *body.Role); err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"image_id": id, "role": *body.Role})
}

func (s *Server) putTrust(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	var body struct {
		Trusted *bool `json:"trusted"`
	}
	if err := decode(w, r, "application/json", &body); err != nil {
		s.fail(w, r, err)
		return
	}
	if body.Trusted == nil {
		s.error(w, r, errors.E(errors.Invalid, errors.Msg(`the body needs "trusted"`)))
		return
	}
	id := r.PathValue("id")
	if err := s.mon.SetTrust(r.Context(), p, imgward.ProjectID(id), *body.Trusted); err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"project_id": id, "trusted": *body.Trusted})
}

// listTrust serves GET /v1/trust: the trusted publishers (admin).
func (s *Server) listTrust(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	ids, err := s.mon.Trusted(r.Context(), p)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if ids == nil {
		ids = []imgward.ProjectID{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"trusted": ids})
}

func verdictJSON(v *imgward.Verdict) map[string]any {
	return map[string]any{"kind": v.Kind, "subject": v.Subject, "score": v.Score, "threshold": v.Threshold,
		"uncapped": v.Uncapped, "cleared_score": v.ClearedScore,
		"instances": v.Instances, "explanation": rawJSON(v.Explanation), "state": v.State,
		"cleared_by": v.ClearedBy, "updated_at": v.UpdatedAt.Format(time.RFC3339Nano)}
}

// listPublishers serves GET /v1/publishers?risk=1, the ranking of judged
// publishers; a plain listing of profiles is not offered.
func (s *Server) listPublishers(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	if r.URL.Query().Get("risk") != "1" {
		s.error(w, r, errors.E(errors.Invalid, errors.Msg("only ?risk=1, the ranking, is supported")))
		return
	}
	vs, err := s.mon.Risk(r.Context(), p)
	if err != nil {
		s.error(w, r, err)
		return
	}
	list := jsonList(vs, verdictJSON)
	writeJSON(w, http.StatusOK, map[string]any{"publishers": list})
}

// listVerdicts serves GET /v1/verdicts?kind=K[&state=S].
func (s *Server) listVerdicts(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	q := r.URL.Query()
	vs, err := s.mon.Verdicts(r.Context(), p, imgward.VerdictKind(q.Get("kind")), imgward.VerdictState(q.Get("state")))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"verdicts": jsonList(vs, verdictJSON)})
}

func (s *Server) publisherFleet(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	ins, v, err := s.mon.Fleet(r.Context(), p, imgward.ProjectID(r.PathValue("id")))
	if err != nil {
		s.error(w, r, err)
		return
	}
	list := jsonList(ins, instanceJSON)
	out := map[string]any{"publisher": r.PathValue("id"), "instances": list, "verdict": nil}
	if v != nil {
		out["verdict"] = verdictJSON(v)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) clearPublisher(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	v, err := s.mon.Clear(r.Context(), p, imgward.ProjectID(r.PathValue("id")))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, verdictJSON(v))
}

func baselineJSON(b *imgward.Baseline) map[string]any {
	return map[string]any{"role": b.Role, "version": b.Version, "detector": b.Detector, "rows": b.Rows,
		"created_at": b.CreatedAt.Format(time.RFC3339Nano)}
}

func (s *Server) buildBaselines(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	res, err := s.mon.BuildBaselines(r.Context(), p)
	if err != nil {
		s.error(w, r, err)
		return
	}
	list := jsonList(res.Built, baselineJSON)
	writeJSON(w, http.StatusOK, map[string]any{"built": list, "skipped": res.Skipped})
}

func (s *Server) listBaselines(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	bs, err := s.mon.Baselines(r.Context(), p)
	if err != nil {
		s.error(w, r, err)
		return
	}
	list := jsonList(bs, baselineJSON)
	writeJSON(w, http.StatusOK, map[string]any{"baselines": list})
}

func (s *Server) runDetect(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	rep, err := s.mon.Run(r.Context(), p)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	q := r.URL.Query()
	var after int64
	var limit int
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
	es, err := s.mon.Events(r.Context(), p, imgward.ProjectID(q.Get("project")), after, limit)
	if err != nil {
		s.error(w, r, err)
		return
	}
	list := make([]monitor.EventJSON, len(es))
	for i := range es {
		list[i] = monitor.ToEventJSON(es[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": list})
}

// rawJSON embeds stored JSON as it is.
type rawJSON []byte

func (r rawJSON) MarshalJSON() ([]byte, error) {
	if len(r) == 0 {
		return []byte("null"), nil
	}
	return r, nil
}
