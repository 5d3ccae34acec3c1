package api

import (
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"imgward"
	"imgward/errors"
)

// auditEntryJSON is an entry of GET /v1/audit. leaf is 0 while the entry is
// not yet in the tree; prev is empty in hash version 2.
func auditEntryJSON(e *imgward.AuditEntry) map[string]any {
	return map[string]any{
		"seq": e.Seq, "time": e.Time.UTC().Format(time.RFC3339Nano), "actor": e.Actor, "action": e.Action,
		"object": e.Object, "result": e.Result, "reason": e.Reason,
		"prev": hex.EncodeToString(e.Prev), "hash": hex.EncodeToString(e.Hash), "leaf": e.Leaf,
	}
}

// auditCheckpoint answers the signed checkpoint of the audit tree, a C2SP
// signed note, as text.
func (s *Server) auditCheckpoint(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	b, err := s.cat.AuditCheckpoint(r.Context(), p)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

// auditKey answers the note verifier key of the checkpoints, as text.
func (s *Server) auditKey(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	k, err := s.cat.AuditVerifierKey(r.Context(), p)
	if err != nil {
		s.error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(k + "\n"))
}

// queryInt reads an optional non-negative integer query parameter.
func queryInt(r *http.Request, name string, required bool) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		if required {
			return 0, errors.E(errors.Invalid, errors.Msg(name+" is required"))
		}
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.E(errors.Invalid, errors.Msg(name+" must be a non-negative integer"))
	}
	return n, nil
}

func hashesJSON(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return out
}

// auditProof answers an inclusion proof of entry seq in the tree of size
// (default: the current tree).
func (s *Server) auditProof(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	seq, err := queryInt(r, "seq", true)
	if err != nil {
		s.error(w, r, err)
		return
	}
	size, err := queryInt(r, "size", false)
	if err != nil {
		s.error(w, r, err)
		return
	}
	pr, err := s.cat.AuditInclusion(r.Context(), p, seq, size)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"entry": auditEntryJSON(&pr.Entry), "leaf": pr.Entry.Leaf, "size": pr.Size,
		"root": base64.StdEncoding.EncodeToString(pr.Root[:]), "proof": hashesJSON(pr.Proof),
	})
}

// auditConsistency answers a consistency proof between the trees of sizes
// from and to (default: the current tree).
func (s *Server) auditConsistency(w http.ResponseWriter, r *http.Request, p imgward.Principal) {
	from, err := queryInt(r, "from", true)
	if err != nil {
		s.error(w, r, err)
		return
	}
	to, err := queryInt(r, "to", false)
	if err != nil {
		s.error(w, r, err)
		return
	}
	pr, err := s.cat.AuditConsistency(r.Context(), p, from, to)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"from": pr.From, "to": pr.To,
		"from_root": base64.StdEncoding.EncodeToString(pr.FromRoot[:]),
		"to_root":   base64.StdEncoding.EncodeToString(pr.ToRoot[:]),
		"proof":     hashesJSON(pr.Proof),
	})
}
