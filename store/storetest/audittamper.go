package storetest

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"imgward"
	"imgward/audit"
)

// AuditSchema says how a store keeps its audit log, for the tests that
// tamper with its tables.
type AuditSchema struct {
	// Sequence: entries are numbered from the audit_log_seq sequence
	// (PostgreSQL), which the test sets after inserting old entries.
	Sequence bool
	// Batches: the leaves are rows of audit_batches (SQLite), not a
	// column of audit_log.
	Batches bool
}

// AuditTamper runs the attacks on the audit log that a checkpoint kept
// outside the database must reveal, each on a fresh store: open returns a
// store and a second connection to its database, through which the test
// tampers as an attacker with the database would. Every attack must be
// detected, and the first differing entry named.
func AuditTamper(t *testing.T, schema AuditSchema, open func(t *testing.T) (imgward.Store, *sql.DB)) {
	const n = 30
	// rebuild makes the store forget its tree and build it again from the
	// (tampered) entries, so that the store's own hashes agree with them:
	// only the checkpoints outside can tell.
	rebuild := func(t *testing.T, db *sql.DB) {
		ForgetAuditTree(t, db, schema)
	}
	// reseal recomputes entry seq's hash as an attacker would, after an
	// edit, through the store's own code.
	reseal := func(t *testing.T, s imgward.Store, db *sql.DB, seq int64) {
		var e imgward.AuditEntry
		view(t, s, func(tx imgward.Tx) error {
			es, err := tx.ListAudit(ctx(t), seq-1, 1)
			if err == nil && len(es) == 1 {
				e = es[0]
			}
			return err
		})
		audit.Seal(&e)
		mustExec(t, db, `UPDATE audit_log SET hash = $1 WHERE seq = $2`, e.Hash, seq)
	}
	tests := []struct {
		name   string
		every  bool // a checkpoint at every size, not only at n
		tamper func(t *testing.T, s imgward.Store, db *sql.DB)
		want   string
	}{
		{"delete the last entry", false, func(t *testing.T, s imgward.Store, db *sql.DB) {
			mustExec(t, db, `DELETE FROM audit_log WHERE seq = $1`, n)
			rebuild(t, db)
		}, "log truncated: checkpoint of 30 entries, the log has 29: the first missing entry is leaf 30"},
		{"delete the last 10", false, func(t *testing.T, s imgward.Store, db *sql.DB) {
			mustExec(t, db, `DELETE FROM audit_log WHERE seq > $1`, n-10)
			rebuild(t, db)
		}, "the log has 20: the first missing entry is leaf 21"},
		{"delete all", false, func(t *testing.T, s imgward.Store, db *sql.DB) {
			mustExec(t, db, `DELETE FROM audit_log`)
			rebuild(t, db)
		}, "the log has 0: the first missing entry is leaf 1"},
		{"edit an entry", false, func(t *testing.T, s imgward.Store, db *sql.DB) {
			mustExec(t, db, `UPDATE audit_log SET actor = 'someone-else' WHERE seq = 12`)
		}, "entry 12: hash mismatch: the entry was edited"},
		{"edit and recompute every hash", true, func(t *testing.T, s imgward.Store, db *sql.DB) {
			mustExec(t, db, `UPDATE audit_log SET reason = 'nothing happened' WHERE seq = 12`)
			reseal(t, s, db, 12)
			rebuild(t, db)
		}, "entry 12 (leaf 12): differs from checkpoint of 12 entries"},
		{"edit and recompute, one checkpoint", false, func(t *testing.T, s imgward.Store, db *sql.DB) {
			mustExec(t, db, `UPDATE audit_log SET reason = 'nothing happened' WHERE seq = 12`)
			reseal(t, s, db, 12)
			rebuild(t, db)
		}, "the first differing entry is among leaves 1..30"},
		{"delete an entry inside", true, func(t *testing.T, s imgward.Store, db *sql.DB) {
			mustExec(t, db, `DELETE FROM audit_log WHERE seq = 7`)
			rebuild(t, db)
		}, "entry 8 (leaf 7): differs from checkpoint of 7 entries"},
		{"swap two entries", true, func(t *testing.T, s imgward.Store, db *sql.DB) {
			// Swap the seqs of 5 and 9, reseal both: the integrator then
			// puts them in each other's leaf.
			mustExec(t, db, `UPDATE audit_log SET seq = -9 WHERE seq = 9`)
			mustExec(t, db, `UPDATE audit_log SET seq = 9 WHERE seq = 5`)
			mustExec(t, db, `UPDATE audit_log SET seq = 5 WHERE seq = -9`)
			reseal(t, s, db, 5)
			reseal(t, s, db, 9)
			rebuild(t, db)
		}, "entry 5 (leaf 5): differs from checkpoint of 5 entries"},
		{"swap leaves", false, func(t *testing.T, s imgward.Store, db *sql.DB) {
			if schema.Batches {
				// Leaves 1..5 and 6..10 (Integrate adds 5 at a time).
				mustExec(t, db, `UPDATE audit_batches SET first_leaf = -1 WHERE first_leaf = 1`)
				mustExec(t, db, `UPDATE audit_batches SET first_leaf = 1 WHERE first_leaf = 6`)
				mustExec(t, db, `UPDATE audit_batches SET first_leaf = 6 WHERE first_leaf = -1`)
				return
			}
			mustExec(t, db, `UPDATE audit_log SET leaf = -1 WHERE leaf = 3`)
			mustExec(t, db, `UPDATE audit_log SET leaf = 3 WHERE leaf = 4`)
			mustExec(t, db, `UPDATE audit_log SET leaf = 4 WHERE leaf = -1`)
		}, "the first differing entry is among leaves 1..30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, db := open(t)
			var cps []audit.Checkpoint
			for i := range n {
				e := &imgward.AuditEntry{Time: time.Unix(int64(1e9+i), 0), Actor: "system", Action: "store.tamper",
					Object: fmt.Sprintf("image/%d", i), Result: imgward.ResultOK}
				update(t, s, func(tx imgward.Tx) error { return tx.AppendAudit(ctx(t), e) })
				if tt.every || i == n-1 {
					cps = append(cps, checkpoint(t, s))
				}
			}
			if _, err := CheckAudit(t, s, cps); err != nil {
				t.Fatalf("untampered log: %v", err)
			}
			tt.tamper(t, s, db)
			_, err := CheckAudit(t, s, cps)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("after the attack, the check says %v; want an error containing %q", err, tt.want)
			}
		})
	}

	// Migration: a log of version 1 entries, as stores wrote before the
	// tree, is integrated and verifies, followed by version 2 entries; an
	// edit of an old entry is still found.
	t.Run("version 1 entries", func(t *testing.T) {
		s, db := open(t)
		prev := audit.Genesis
		for i := int64(1); i <= 5; i++ {
			e := &imgward.AuditEntry{Seq: i, Time: time.Unix(1e9+i, 0).UTC(), Actor: "system", Action: "old",
				Object: fmt.Sprintf("image/%d", i), Result: imgward.ResultOK}
			audit.SealV1(e, prev)
			prev = e.Hash
			mustExec(t, db, `INSERT INTO audit_log (seq, time, actor, action, object, result, reason, prev, hash)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				e.Seq, e.Time.UnixMicro(), e.Actor, e.Action, e.Object, e.Result, e.Reason, e.Prev, e.Hash)
		}
		if schema.Sequence {
			// PostgreSQL's sequence started before these rows existed.
			mustExec(t, db, `SELECT setval('audit_log_seq', 6, false)`)
		}
		e := &imgward.AuditEntry{Actor: "system", Action: "new", Result: imgward.ResultOK}
		update(t, s, func(tx imgward.Tx) error { return tx.AppendAudit(ctx(t), e) })
		all := VerifyAudit(t, s)
		if len(all) != 6 || all[5].Seq != 6 || all[5].Prev != nil || all[0].Prev == nil {
			t.Fatalf("log after migration: %+v; want 5 version 1 entries, then entry 6 in version 2", all)
		}
		cps := []audit.Checkpoint{checkpoint(t, s)}
		mustExec(t, db, `UPDATE audit_log SET object = 'image/x' WHERE seq = 3`)
		if _, err := CheckAudit(t, s, cps); err == nil || !strings.Contains(err.Error(), "entry 3: hash mismatch") {
			t.Errorf("edited version 1 entry: %v, want entry 3 named", err)
		}
	})
}

// checkpoint integrates s's log and returns its checkpoint, as the server
// would sign it.
func checkpoint(t *testing.T, s imgward.Store) audit.Checkpoint {
	t.Helper()
	n := Integrate(t, s)
	c := audit.Checkpoint{Origin: audit.DefaultOrigin, Size: n}
	view(t, s, func(tx imgward.Tx) error {
		var err error
		c.Root, err = StoreRoot(t, tx, n)
		return err
	})
	return c
}

// ForgetAuditTree makes the store of db forget its audit tree, as an
// attacker would after an edit, so that its next integration builds the
// tree again from the entries as they are.
func ForgetAuditTree(t *testing.T, db *sql.DB, schema AuditSchema) {
	t.Helper()
	if schema.Batches {
		mustExec(t, db, `DELETE FROM audit_batches`)
	} else {
		mustExec(t, db, `UPDATE audit_log SET leaf = NULL`)
	}
	mustExec(t, db, `DELETE FROM audit_tree`)
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.ExecContext(t.Context(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
