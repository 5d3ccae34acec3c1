package storetest

import (
	"fmt"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"imgward"
	"imgward/errors"
)

// testAuditTree grows the audit tree by integrations of many sizes, so that
// its stored hashes fill rows of the store's table and extend a partial one
// again and again, and checks the tree of every size against the one the
// entries make, each leaf's place in both listings, and that a hash past
// the tree is missing, not made up.
func testAuditTree(t *testing.T, s imgward.Store) {
	const n = 300
	var mem []tlog.Hash // the stored hashes the entries make, in memory
	r := tlog.HashReaderFunc(func(xs []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(xs))
		for i, x := range xs {
			out[i] = mem[x]
		}
		return out, nil
	})
	sizes := []int{1, 2, 61, 64, 65, 7, 100}
	for i, seq := 0, int64(0); seq < n; i++ {
		k := min(sizes[i%len(sizes)], n-int(seq))
		var es []*imgward.AuditEntry
		update(t, s, func(tx imgward.Tx) error {
			es = es[:0]
			for j := range k {
				e := &imgward.AuditEntry{Actor: "system", Action: "store.tree", Object: fmt.Sprintf("image/%d/%d", i, j)}
				if err := tx.AppendAudit(ctx(t), e); err != nil {
					return err
				}
				es = append(es, e)
			}
			return nil
		})
		for _, e := range es {
			hs, err := tlog.StoredHashes(seq, e.Hash, r)
			if err != nil {
				t.Fatal(err)
			}
			mem = append(mem, hs...)
			seq++
		}
		var size int64
		var added int
		update(t, s, func(tx imgward.Tx) error {
			var err error
			size, added, err = tx.IntegrateAudit(ctx(t), k)
			return err
		})
		if size != seq || added != k {
			t.Fatalf("integration %d: size %d, added %d; want %d, %d", i, size, added, seq, k)
		}
	}
	view(t, s, func(tx imgward.Tx) error {
		for size := int64(1); size <= n; size++ {
			want, err := tlog.TreeHash(size, r)
			if err != nil {
				return err
			}
			got, err := StoreRoot(t, tx, size)
			if err != nil || got != want {
				t.Errorf("the store's tree of %d: root %x (%v), want %x", size, got, err, want)
			}
		}
		bySeq, err := tx.ListAudit(ctx(t), 0, 0)
		if err != nil {
			return err
		}
		byLeaf, err := tx.ListAuditLeaves(ctx(t), 150, 0)
		if err != nil {
			return err
		}
		for i, e := range bySeq {
			if e.Seq != int64(i+1) || e.Leaf != e.Seq {
				t.Errorf("ListAudit: entry %d of %d at leaf %d, want seq %d at leaf %d", i, e.Seq, e.Leaf, i+1, i+1)
			}
		}
		for i, e := range byLeaf {
			if e.Leaf != int64(151+i) || e.Seq != e.Leaf {
				t.Errorf("ListAuditLeaves after 150: entry %d at leaf %d, want leaf %d", e.Seq, e.Leaf, 151+i)
			}
		}
		if len(bySeq) != n || len(byLeaf) != n-150 {
			t.Errorf("%d entries by seq, %d by leaf after 150; want %d, %d", len(bySeq), len(byLeaf), n, n-150)
		}
		for _, x := range []int64{int64(len(mem)), -1} {
			if _, err := tx.AuditHashes(ctx(t), []int64{0, x}); !errors.Is(errors.NotExist, err) {
				t.Errorf("AuditHashes(%d), past the tree: error %v, want NotExist", x, err)
			}
		}
		return nil
	})
}
