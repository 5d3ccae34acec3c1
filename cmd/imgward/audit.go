package main

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/tlog"

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
	summary: "the append-only audit log, a transparency log with signed checkpoints (admin)",
	commands: []command{
		{"list", auditListUsage, auditList},
		{"verify", auditVerifyUsage, auditVerify},
		{"checkpoint", auditCheckpointUsage, auditCheckpointCmd},
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
	return e.auditPageBy("seq", after, limit)
}

// auditPageBy reads a page of entries after a seq or a leaf.
func (e *env) auditPageBy(by string, after int64, limit int) ([]json.RawMessage, error) {
	var resp struct {
		Entries []json.RawMessage `json:"entries"`
	}
	ref := "/v1/audit?by=" + by + "&after=" + strconv.FormatInt(after, 10) + "&limit=" + strconv.Itoa(limit)
	err := e.api.call(e.ctx, "GET", ref, nil, &resp)
	return resp.Entries, err
}

const auditVerifyUsage = `usage: imgward audit verify [--checkpoint PATH] [--key FILE] [--output table|json]

Read the whole audit log in the order of its Merkle tree, page by page,
recompute every entry's hash and the tree, and check them against signed
checkpoints: the server's current one and, with --checkpoint, those kept
outside the server (a checkpoint file, or a directory that imgward audit
checkpoint --out or serve --checkpoint-dir fills). Truncation, edits (even
with every later hash recomputed), insertions and reordering of anything a
checkpoint covers are reported with the first differing entry (or the
range between two checkpoints it lies in). Exit status 0 when the log is
intact, 1 otherwise. Needs the admin role.

Flags:
  --checkpoint PATH  checkpoints kept outside the server: a file or a directory
  --key FILE         the verifier key of the checkpoints (default: verifier.key
                     beside them)
`

func auditVerify(e *env, args []string) error {
	fs := e.flags("audit verify")
	ckpt := fs.String("checkpoint", "", "")
	keyFile := fs.String("key", "", "")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var cps []audit.Checkpoint
	var vkey string
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		vkey = string(b)
	}
	if *ckpt != "" {
		var err error
		if cps, err = audit.LoadCheckpoints(*ckpt, vkey); err != nil {
			return fmt.Errorf("checkpoints: %v", errorText(err))
		}
		if vkey == "" {
			vkey = keyBeside(*ckpt)
		}
	}
	// The server's current checkpoint, which also integrates every entry
	// committed so far; checked with the kept key when there is one.
	signed, serverKey, err := e.auditCheckpoint()
	if err != nil {
		return err
	}
	if vkey == "" {
		vkey = serverKey
	}
	current, err := audit.OpenCheckpoint(signed, vkey)
	if err != nil {
		return fmt.Errorf("the server's checkpoint: %v", errorText(err))
	}
	cps = append(cps, current)
	var v audit.Verifier
	var after int64
	for {
		raws, err := e.auditPageBy("leaf", after, auditPage)
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
			after = ent.Leaf
		}
	}
	if err := v.Against(cps); err != nil {
		return fmt.Errorf("audit log broken: %v", err)
	}
	result := struct {
		Intact      bool  `json:"intact"`
		Entries     int64 `json:"entries"`
		Checkpoints int   `json:"checkpoints"`
	}{true, v.Checked, len(cps)}
	return e.emit(result, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "audit log intact: %d entries, consistent with %d checkpoints (largest: %d entries)\n",
			v.Checked, len(cps), cps[len(cps)-1].Size)
		return err
	})
}

// keyBeside reads the verifier.key beside a checkpoint file or in a
// checkpoint directory; "" if there is none.
func keyBeside(path string) string {
	dir := path
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		dir = filepath.Dir(path)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "verifier.key"))
	return string(b)
}

// auditCheckpoint fetches the server's signed checkpoint and verifier key.
func (e *env) auditCheckpoint() (signed []byte, vkey string, err error) {
	if signed, err = e.auditText("/v1/audit/checkpoint"); err != nil {
		return nil, "", err
	}
	k, err := e.auditText("/v1/audit/key")
	return signed, string(k), err
}

func (e *env) auditText(ref string) ([]byte, error) {
	resp, err := e.api.do(e.ctx, "GET", ref, nil, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, audit.MaxCheckpointSize+1))
	if err == nil && len(b) > audit.MaxCheckpointSize {
		err = fmt.Errorf("%s: answer too large", ref)
	}
	return b, err
}

const auditCheckpointUsage = `usage: imgward audit checkpoint --out DIR [--output table|json]

Fetch the audit log's signed checkpoint and append it to DIR, a directory
outside the server's data directory and out of reach of whoever can write
the database (another host, write-once storage): DIR/checkpoint.<size>, and
DIR/verifier.key on the first run. Before appending, check with a
consistency proof that the log still extends the largest checkpoint in DIR:
a log truncated or rewritten since then is refused, and the checkpoint not
saved. Needs the admin role.
`

func auditCheckpointCmd(e *env, args []string) error {
	fs := e.flags("audit checkpoint")
	out := fs.String("out", "", "")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return usageError("--out DIR is required")
	}
	signed, vkey, err := e.auditCheckpoint()
	if err != nil {
		return err
	}
	if kept := keyBeside(*out); kept != "" {
		vkey = kept // the key kept outside, not the server's word
	}
	c, err := audit.OpenCheckpoint(signed, vkey)
	if err != nil {
		return fmt.Errorf("the server's checkpoint: %v", errorText(err))
	}
	if _, err := os.Stat(*out); err == nil {
		old, ok, err := audit.LatestCheckpoint(*out)
		if err != nil {
			return fmt.Errorf("%s: %v", *out, errorText(err))
		}
		if ok {
			if err := e.checkConsistent(old, c); err != nil {
				return err
			}
		}
	}
	p, err := audit.SaveCheckpoint(*out, signed, vkey)
	if err != nil {
		return errors.New(errorText(err))
	}
	result := struct {
		Path string `json:"path"`
		Size int64  `json:"size"`
	}{p, c.Size}
	return e.emit(result, func(w io.Writer) error {
		_, err := fmt.Fprintf(w, "checkpoint of %d entries appended: %s\n", c.Size, p)
		return err
	})
}

// checkConsistent proves with the server's consistency proof that the tree
// of c extends the tree of old.
func (e *env) checkConsistent(old, c audit.Checkpoint) error {
	switch {
	case c.Size < old.Size:
		return fmt.Errorf("audit log broken: log truncated: checkpoint of %d entries kept, the server's tree has %d", old.Size, c.Size)
	case c.Size == old.Size:
		if c.Root != old.Root {
			return fmt.Errorf("audit log broken: the tree of %d entries differs from the checkpoint kept: the log was rewritten", c.Size)
		}
		return nil
	}
	var resp struct {
		Proof []string `json:"proof"`
	}
	ref := fmt.Sprintf("/v1/audit/consistency?from=%d&to=%d", old.Size, c.Size)
	if err := e.api.call(e.ctx, "GET", ref, nil, &resp); err != nil {
		return err
	}
	proof := make(tlog.TreeProof, len(resp.Proof))
	for i, s := range resp.Proof {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			return fmt.Errorf("bad consistency proof from the server")
		}
		copy(proof[i][:], b)
	}
	if err := tlog.CheckTree(proof, c.Size, c.Root, old.Size, old.Root); err != nil {
		return fmt.Errorf("audit log broken: the tree of %d entries does not extend the checkpoint of %d kept: the log was rewritten (%v)",
			c.Size, old.Size, err)
	}
	return nil
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
		Leaf   int64  `json:"leaf"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("bad audit entry from the server: %v", err)
	}
	e := &imgward.AuditEntry{Seq: j.Seq, Actor: j.Actor, Action: j.Action, Object: j.Object, Result: j.Result, Reason: j.Reason, Leaf: j.Leaf}
	var err error
	if e.Time, err = time.Parse(time.RFC3339Nano, j.Time); err != nil {
		return nil, fmt.Errorf("bad audit entry %d from the server: time: %v", j.Seq, err)
	}
	if e.Prev, err = hex.DecodeString(j.Prev); err != nil {
		return nil, fmt.Errorf("bad audit entry %d from the server: prev: %v", j.Seq, err)
	}
	if len(e.Prev) == 0 {
		e.Prev = nil // hash version 2
	}
	if e.Hash, err = hex.DecodeString(j.Hash); err != nil {
		return nil, fmt.Errorf("bad audit entry %d from the server: hash: %v", j.Seq, err)
	}
	return e, nil
}
