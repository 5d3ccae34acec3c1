package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"imgward"
	"imgward/audit"
	"imgward/server"
	"imgward/store/storetest"
)

// auditServer starts imgward on SQLite and returns the admin, the data
// directory and a connection to the database for the attacker.
func auditServer(t *testing.T) (user, string, *sql.DB) {
	t.Helper()
	data := t.TempDir()
	svc, err := server.Open(context.Background(), server.Config{
		DataDir: data, Store: "sqlite", Sync: "normal",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(svc.Handler)
	t.Cleanup(func() { srv.Close(); svc.Close() })
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "imgward.db")+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return user{t, srv.URL, svc.AdminToken}, data, db
}

func dbExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestAuditCheckpoints runs imgward audit checkpoint and verify against a
// real server whose database an attacker then edits.
func TestAuditCheckpoints(t *testing.T) {
	admin, _, _ := auditServer(t)
	out := filepath.Join(t.TempDir(), "checkpoints")
	// A checkpoint after each action, so that the first differing entry is
	// named exactly.
	for i := range 6 {
		admin.ok("project", "create", fmt.Sprintf("p%d", i))
		admin.ok("audit", "checkpoint", "--out", out)
	}
	if got := admin.ok("audit", "verify", "--checkpoint", out); !strings.HasPrefix(got, "audit log intact: ") {
		t.Fatalf("audit verify: %q", got)
	}
	// A checkpoint directory inside the data directory is refused.
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	outside := filepath.Join(t.TempDir(), "ckpt")
	svc, err := server.Open(context.Background(), server.Config{DataDir: t.TempDir(), Store: "sqlite", Logger: quiet,
		Audit: server.Audit{CheckpointDir: outside}})
	if err != nil {
		t.Fatalf("a checkpoint dir outside the data dir: %v", err)
	}
	svc.Close()
	// serve --checkpoint-dir saved one at start, which verifies.
	if cps, err := audit.LoadCheckpoints(outside, ""); err != nil || len(cps) != 1 {
		t.Errorf("checkpoints saved by the server: %v, %v; want one", cps, err)
	}
	inside := t.TempDir()
	if _, err := server.Open(context.Background(), server.Config{DataDir: inside, Store: "sqlite", Logger: quiet,
		Audit: server.Audit{CheckpointDir: filepath.Join(inside, "ckpt")}}); err == nil ||
		!strings.Contains(err.Error(), "outside the data directory") {
		t.Errorf("a checkpoint dir inside the data dir: %v, want refused", err)
	}

	// A checkpoint directory that does not verify is refused.
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "checkpoint.1"), []byte("imgward/audit\n1\nAAAA\n\n— imgward/audit AAAAAA==\n"), 0o600)
	os.WriteFile(filepath.Join(other, "verifier.key"), []byte(mustRead(t, filepath.Join(out, "verifier.key"))), 0o600)
	admin.fails(exitError, "does not verify", "audit", "verify", "--checkpoint", other)
}

// TestAuditAttacks edits a real server's database as an attacker would,
// each attack on a fresh server with a checkpoint kept after every action:
// imgward audit verify --checkpoint names the first differing entry, and
// imgward audit checkpoint refuses to extend the kept checkpoints.
func TestAuditAttacks(t *testing.T) {
	// rebuild has the server rebuild its tree from the tampered entries,
	// so that the database agrees with itself.
	rebuild := func(t *testing.T, db *sql.DB) {
		storetest.ForgetAuditTree(t, db, storetest.AuditSchema{Batches: true})
	}
	reseal := func(t *testing.T, db *sql.DB, seq int64, edit func(*imgward.AuditEntry)) {
		e := imgward.AuditEntry{Seq: seq}
		var us int64
		if err := db.QueryRow(`SELECT time, actor, action, object, result, reason FROM audit_log WHERE seq = $1`, seq).
			Scan(&us, &e.Actor, &e.Action, &e.Object, &e.Result, &e.Reason); err != nil {
			t.Fatal(err)
		}
		e.Time = time.UnixMicro(us).UTC()
		edit(&e)
		audit.Seal(&e)
		dbExec(t, db, `UPDATE audit_log SET object = $1, hash = $2 WHERE seq = $3`, e.Object, e.Hash, seq)
	}
	for _, tt := range []struct {
		name       string
		tamper     func(t *testing.T, db *sql.DB)
		verify     string // what audit verify --checkpoint says
		checkpoint string // what audit checkpoint --out says after one more action
	}{
		{"rewrite entry 3", func(t *testing.T, db *sql.DB) {
			reseal(t, db, 3, func(e *imgward.AuditEntry) { e.Object = "project/nothing-to-see" })
			rebuild(t, db)
		}, "entry 3 (leaf 3): differs from checkpoint of 3 entries", "does not extend the checkpoint"},
		{"delete the last entry", func(t *testing.T, db *sql.DB) {
			dbExec(t, db, `DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)`)
			rebuild(t, db)
		}, "log truncated", "the log was rewritten"},
		{"delete the last 3", func(t *testing.T, db *sql.DB) {
			dbExec(t, db, `DELETE FROM audit_log WHERE seq > (SELECT MAX(seq) - 3 FROM audit_log)`)
			rebuild(t, db)
		}, "log truncated", "log truncated"},
		{"delete all", func(t *testing.T, db *sql.DB) {
			dbExec(t, db, `DELETE FROM audit_log`)
			rebuild(t, db)
		}, "the log has 0: the first missing entry is leaf 1", "log truncated"},
		{"reorder entries 3 and 5", func(t *testing.T, db *sql.DB) {
			dbExec(t, db, `UPDATE audit_log SET seq = -5 WHERE seq = 5`)
			dbExec(t, db, `UPDATE audit_log SET seq = 5 WHERE seq = 3`)
			dbExec(t, db, `UPDATE audit_log SET seq = 3 WHERE seq = -5`)
			reseal(t, db, 3, func(*imgward.AuditEntry) {})
			reseal(t, db, 5, func(*imgward.AuditEntry) {})
			rebuild(t, db)
		}, "entry 3 (leaf 3): differs from checkpoint of 3 entries", "does not extend the checkpoint"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			admin, _, db := auditServer(t)
			out := filepath.Join(t.TempDir(), "checkpoints")
			for i := range 6 {
				admin.ok("project", "create", fmt.Sprintf("p%d", i))
				admin.ok("audit", "checkpoint", "--out", out)
			}
			admin.ok("audit", "verify", "--checkpoint", out)
			tt.tamper(t, db)
			admin.fails(exitError, tt.verify, "audit", "verify", "--checkpoint", out)
			admin.ok("project", "create", "after")
			admin.fails(exitError, tt.checkpoint, "audit", "checkpoint", "--out", out)
		})
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestAuditProofs checks the proofs of the API against a signed checkpoint,
// over real HTTP.
func TestAuditProofs(t *testing.T) {
	admin, _, _ := auditServer(t)
	for i := range 9 {
		admin.ok("project", "create", fmt.Sprintf("p%d", i))
	}
	get := func(ref string, out any) int {
		req, _ := http.NewRequest("GET", admin.url+ref, nil)
		req.Header.Set("X-Auth-Token", admin.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if s, ok := out.(*string); ok {
			*s = string(b)
		} else if resp.StatusCode == 200 {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s: %v", ref, err)
			}
		}
		return resp.StatusCode
	}
	var signed, vkey string
	get("/v1/audit/checkpoint", &signed)
	get("/v1/audit/key", &vkey)
	c, err := audit.OpenCheckpoint([]byte(signed), vkey)
	if err != nil || c.Size < 9 {
		t.Fatalf("checkpoint %+v, %v", c, err)
	}
	hashes := func(ss []string) []tlog.Hash {
		hs := make([]tlog.Hash, len(ss))
		for i, s := range ss {
			b, _ := base64.StdEncoding.DecodeString(s)
			copy(hs[i][:], b)
		}
		return hs
	}
	for seq := int64(1); seq <= c.Size; seq++ {
		var pr struct {
			Entry json.RawMessage `json:"entry"`
			Leaf  int64           `json:"leaf"`
			Size  int64           `json:"size"`
			Proof []string        `json:"proof"`
		}
		if code := get(fmt.Sprintf("/v1/audit/proof?seq=%d&size=%d", seq, c.Size), &pr); code != 200 {
			t.Fatalf("proof of %d: %d", seq, code)
		}
		e, err := auditEntry(pr.Entry)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(fmt.Sprintf("%x", audit.Hash(e)), fmt.Sprintf("%x", e.Hash)) {
			t.Errorf("entry %d: hash does not match its fields", seq)
		}
		leaf := tlog.RecordHash(audit.LeafData(e))
		if err := tlog.CheckRecord(hashes(pr.Proof), c.Size, c.Root, pr.Leaf-1, leaf); err != nil {
			t.Errorf("inclusion proof of entry %d: %v", seq, err)
		}
		// The proof does not prove another entry.
		other := tlog.RecordHash([]byte("forged"))
		if tlog.CheckRecord(hashes(pr.Proof), c.Size, c.Root, pr.Leaf-1, other) == nil {
			t.Errorf("inclusion proof of entry %d proves a forged leaf", seq)
		}
	}
	for from := int64(1); from < c.Size; from++ {
		var pr struct {
			FromRoot string   `json:"from_root"`
			Proof    []string `json:"proof"`
		}
		if code := get(fmt.Sprintf("/v1/audit/consistency?from=%d&to=%d", from, c.Size), &pr); code != 200 {
			t.Fatalf("consistency %d..%d: %d", from, c.Size, code)
		}
		old := hashes([]string{pr.FromRoot})[0]
		if err := tlog.CheckTree(hashes(pr.Proof), c.Size, c.Root, from, old); err != nil {
			t.Errorf("consistency proof %d..%d: %v", from, c.Size, err)
		}
	}
	for _, tt := range []struct {
		ref  string
		code int
	}{
		{"/v1/audit/proof", 400},
		{"/v1/audit/proof?seq=-1", 400},
		{"/v1/audit/proof?seq=x", 400},
		{"/v1/audit/proof?seq=100000", 404},
		{fmt.Sprintf("/v1/audit/proof?seq=1&size=%d", c.Size+1000), 400},
		{"/v1/audit/consistency?from=0", 400},
		{"/v1/audit/consistency?from=3&to=2", 400},
		{fmt.Sprintf("/v1/audit/consistency?from=1&to=%d", c.Size+1000), 400},
		{"/v1/audit?by=time", 400},
	} {
		var s string
		if code := get(tt.ref, &s); code != tt.code {
			t.Errorf("GET %s: %d %s, want %d", tt.ref, code, s, tt.code)
		}
	}
	// Only an admin.
	bob := user{t, admin.url, "not-a-token"}
	for _, ref := range []string{"/v1/audit/checkpoint", "/v1/audit/key", "/v1/audit/proof?seq=1", "/v1/audit/consistency?from=1"} {
		req, _ := http.NewRequest("GET", bob.url+ref, nil)
		req.Header.Set("X-Auth-Token", bob.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 && resp.StatusCode != 403 {
			t.Errorf("GET %s without admin: %d", ref, resp.StatusCode)
		}
	}
}
