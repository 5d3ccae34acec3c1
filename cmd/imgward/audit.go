package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"imgward"
	"imgward/audit"
)

var auditNoun = noun{
	name:    "audit",
	summary: "the append-only, hash-chained audit log (admin)",
	commands: []command{
		{"list", auditListUsage, auditList},
		{"verify", auditVerifyUsage, auditVerify},
	},
}

// auditPage is how many entries audit verify asks for at a time: the
// server's largest page.
const auditPage = 1000

const auditListUsage = `usage: imgward audit list [--after N] [--limit N] [--output table|json]

List audit log entries in order, from the one after sequence number N.
Needs the admin role.

Flags:
  --after N   start after entry N (default 0: from the first)
  --limit N   at most N entries (default and most: 1000)
`

func auditList(e *env, args []string) error {
	fs := e.flags("audit list")
	after := fs.Int64("after", 0, "")
	limit := fs.Int("limit", auditPage, "")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *after < 0 || *limit < 1 {
		return usageError("--after must be 0 or more, --limit 1 or more")
	}
	raws, err := e.auditPage(*after, *limit)
	if err != nil {
		return err
	}
	return e.emitList(raws, []string{"SEQ", "TIME", "ACTOR", "ACTION", "OBJECT", "RESULT", "REASON"}, func(o object) []string {
		return []string{o.s("seq"), o.s("time"), o.s("actor"), o.s("action"), o.s("object"), o.s("result"), o.s("reason")}
	})
}

func (e *env) auditPage(after int64, limit int) ([]json.RawMessage, error) {
	var resp struct {
		Entries []json.RawMessage `json:"entries"`
	}
	ref := "/v1/audit?after=" + strconv.FormatInt(after, 10) + "&limit=" + strconv.Itoa(limit)
	err := e.api.call(e.ctx, "GET", ref, nil, &resp)
	return resp.Entries, err
}

const auditVerifyUsage = `usage: imgward audit verify [--output table|json]

Read the whole audit log, page by page, and check its hash chain: that no
entry was edited, deleted, inserted or reordered. Exit status 0 when the
log is intact, 1 with the first broken entry otherwise. Needs the admin
role.
`

func auditVerify(e *env, args []string) error {
	if _, err := parse(e.flags("audit verify"), args); err != nil {
		return err
	}
	var v audit.Verifier
	var after int64
	for {
		raws, err := e.auditPage(after, auditPage)
		if err != nil {
			return err
		}
		if len(raws) == 0 {
			break
		}
		for _, raw := range raws {
			ent, err := auditEntry(raw)
			if err != nil {
				return err
			}
			if err := v.Next(ent); err != nil {
				return fmt.Errorf("audit log broken: %v", err)
			}
			after = ent.Seq
		}
	}
	result := struct {
		Intact  bool  `json:"intact"`
		Entries int64 `json:"entries"`
	}{true, v.Checked}
	return e.emit(result, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "audit log intact: %d entries\n", v.Checked)
		return err
	})
}

// auditEntry decodes an entry of GET /v1/audit.
func auditEntry(raw json.RawMessage) (*imgward.AuditEntry, error) {
	var j struct {
		Seq    int64  `json:"seq"`
		Time   string `json:"time"`
		Actor  string `json:"actor"`
		Action string `json:"action"`
		Object string `json:"object"`
		Result string `json:"result"`
		Reason string `json:"reason"`
		Prev   string `json:"prev"`
		Hash   string `json:"hash"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("bad audit entry from the server: %v", err)
	}
	e := &imgward.AuditEntry{Seq: j.Seq, Actor: j.Actor, Action: j.Action, Object: j.Object, Result: j.Result, Reason: j.Reason}
	var err error
	if e.Time, err = time.Parse(time.RFC3339Nano, j.Time); err != nil {
		return nil, fmt.Errorf("bad audit entry %d from the server: time: %v", j.Seq, err)
	}
	if e.Prev, err = hex.DecodeString(j.Prev); err != nil {
		return nil, fmt.Errorf("bad audit entry %d from the server: prev: %v", j.Seq, err)
	}
	if e.Hash, err = hex.DecodeString(j.Hash); err != nil {
		return nil, fmt.Errorf("bad audit entry %d from the server: hash: %v", j.Seq, err)
	}
	return e, nil
}
