package storetest

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"imgward"
	"imgward/audit"
)

// AuditUpgrade returns the check of migration 0015 for a store of schema:
// db holds the schema before it (migrations up to 0014), with a log as the
// stores wrote it then: version 1 entries, then version 2 ones, gaps in the
// seqs, two entries whose leaves are out of seq order, a leaf in every
// integrated entry, pending entries without one, and one row of audit_tree
// per hash (more than one row's worth after the migration). Once open has
// migrated it, every entry must keep its leaf, the log must verify against
// a checkpoint taken before, new entries must be integrated after the old
// ones, and an edit of an old entry must still be found.
func AuditUpgrade(schema AuditSchema) func(t *testing.T, db *sql.DB, open func() imgward.Store) {
	return func(t *testing.T, db *sql.DB, open func() imgward.Store) {
		const last = 60 // seqs 1..last, but for the gaps
		gap := map[int64]bool{6: true, 20: true}
		// Pending: past every leaf; on PostgreSQL also below one, as an
		// append that committed late leaves it.
		pending := map[int64]bool{59: true, 60: true}
		if schema.Sequence {
			pending[33] = true
		}
		var order []int64 // seqs in leaf order
		for seq := int64(1); seq <= last; seq++ {
			if !gap[seq] && !pending[seq] {
				order = append(order, seq)
			}
		}
		order[29], order[30] = order[30], order[29] // committed out of order
		leafOf := map[int64]int64{}
		for i, seq := range order {
			leafOf[seq] = int64(i + 1)
		}

		entries := map[int64]*imgward.AuditEntry{}
		prev := audit.Genesis
		for seq := int64(1); seq <= last; seq++ {
			if gap[seq] {
				continue
			}
			e := &imgward.AuditEntry{Seq: seq, Time: time.Unix(1e9+seq, 0).UTC(), Actor: "system", Action: "old",
				Object: fmt.Sprintf("image/%d", seq), Result: imgward.ResultOK}
			if seq <= 3 {
				audit.SealV1(e, prev)
				prev = e.Hash
			} else {
				audit.Seal(e)
			}
			entries[seq] = e
			var leaf any
			if l, ok := leafOf[seq]; ok {
				leaf = l
			}
			mustExec(t, db, `INSERT INTO audit_log (seq, time, actor, action, object, result, reason, prev, hash, leaf)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				e.Seq, e.Time.UnixMicro(), e.Actor, e.Action, e.Object, e.Result, e.Reason, append([]byte{}, e.Prev...), e.Hash, leaf)
		}
		if schema.Sequence {
			mustExec(t, db, `SELECT setval('audit_log_seq', $1, false)`, last+1)
		}
		// The tree as the integrator of 0014 stored it, a row a hash.
		var tree []tlog.Hash
		r := tlog.HashReaderFunc(func(xs []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(xs))
			for i, x := range xs {
				out[i] = tree[x]
			}
			return out, nil
		})
		for n, seq := range order {
			hs, err := tlog.StoredHashes(int64(n), entries[seq].Hash, r)
			if err != nil {
				t.Fatal(err)
			}
			tree = append(tree, hs...)
		}
		for x, h := range tree {
			mustExec(t, db, `INSERT INTO audit_tree (idx, hash) VALUES ($1, $2)`, x, h[:])
		}
		root, err := tlog.TreeHash(int64(len(order)), r)
		if err != nil {
			t.Fatal(err)
		}
		before := audit.Checkpoint{Origin: audit.DefaultOrigin, Size: int64(len(order)), Root: root}

		s := open()
		// Only the old tree, before anything is integrated.
		view(t, s, func(tx imgward.Tx) error {
			n, err := tx.AuditTreeSize(ctx(t))
			if err != nil {
				return err
			}
			stored, err := StoreRoot(t, tx, n)
			if n != before.Size || stored != before.Root || err != nil {
				t.Errorf("migrated tree: size %d, root %x (%v); want %d, %x", n, stored, err, before.Size, before.Root)
			}
			es, err := tx.ListAudit(ctx(t), 0, 0)
			for _, e := range es {
				if e.Leaf != leafOf[e.Seq] {
					t.Errorf("entry %d: leaf %d after the migration, want %d", e.Seq, e.Leaf, leafOf[e.Seq])
				}
			}
			if len(es) != len(entries) {
				t.Errorf("%d entries after the migration, want %d", len(es), len(entries))
			}
			return err
		})
		e := &imgward.AuditEntry{Actor: "system", Action: "new", Result: imgward.ResultOK}
		update(t, s, func(tx imgward.Tx) error { return tx.AppendAudit(ctx(t), e) })
		all, err := CheckAudit(t, s, []audit.Checkpoint{before})
		if err != nil {
			t.Fatalf("migrated log against the checkpoint taken before: %v", err)
		}
		if want := len(entries) + 1; len(all) != want || all[want-1].Seq != e.Seq || all[want-1].Prev != nil {
			t.Errorf("migrated log: %d entries, the last %+v; want %d, the last seq %d", len(all), all[len(all)-1], want, e.Seq)
		}
		for i, x := range all[len(order):] {
			if x.Seq != e.Seq && !pending[x.Seq] || x.Leaf != int64(len(order)+i+1) {
				t.Errorf("after the old leaves: entry %d at leaf %d, want a pending one or the new one", x.Seq, x.Leaf)
			}
		}
		after := checkpoint(t, s)
		mustExec(t, db, `UPDATE audit_log SET object = 'image/x' WHERE seq = 40`)
		if _, err := CheckAudit(t, s, []audit.Checkpoint{before, after}); err == nil ||
			!strings.Contains(err.Error(), "entry 40: hash mismatch") {
			t.Errorf("old entry 40 edited after the migration: %v, want it named", err)
		}
	}
}
