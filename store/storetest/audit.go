package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/mod/sumdb/tlog"

	"imgward"
	"imgward/audit"
	"imgward/errors"
)

func testAudit(t *testing.T, s imgward.Store) {
	zone := time.FixedZone("UTC+2", 2*3600)
	given := time.Date(2025, 6, 1, 12, 0, 0, 123456789, zone)
	entries := []*imgward.AuditEntry{
		{Actor: "system", Action: "store.test", Object: "image/1", Result: imgward.ResultOK},
		{Time: given, Actor: string(userID(1)), Action: "member.update", Object: "image/1/member/2",
			Result: imgward.ResultDenied, Reason: "not the owner"},
		{Time: given.Add(time.Second), Actor: "system", Action: "a", Object: "", Result: imgward.ResultOK},
	}
	before := time.Now()
	update(t, s, func(tx imgward.Tx) error { return tx.AppendAudit(ctx(t), entries[0]) })
	after := time.Now()
	// Two appends in one transaction chain to each other.
	update(t, s, func(tx imgward.Tx) error {
		if err := tx.AppendAudit(ctx(t), entries[1]); err != nil {
			return err
		}
		return tx.AppendAudit(ctx(t), entries[2])
	})

	e0 := entries[0]
	if e0.Time.Location() != time.UTC || e0.Time.Nanosecond()%1000 != 0 ||
		e0.Time.Before(before.Truncate(time.Microsecond)) || e0.Time.After(after) {
		t.Errorf("AppendAudit set Time to %v, want now (%v..%v), UTC, in microseconds", e0.Time, before, after)
	}
	if want := given.UTC().Truncate(time.Microsecond); !entries[1].Time.Equal(want) || entries[1].Time.Location() != time.UTC {
		t.Errorf("AppendAudit kept Time %v, want %v", entries[1].Time, want)
	}
	for i, e := range entries {
		if e.Seq != int64(i+1) || e.Prev != nil || !bytes.Equal(e.Hash, audit.HashV2(e)) || e.Leaf != 0 {
			t.Errorf("entry %d: Seq %d, Prev %x, Hash %x, Leaf %d: not sealed in version 2", i, e.Seq, e.Prev, e.Hash, e.Leaf)
		}
	}

	got := VerifyAudit(t, s)
	for i := range entries {
		entries[i].Leaf = int64(i + 1) // VerifyAudit integrated them
	}
	want := []imgward.AuditEntry{*entries[0], *entries[1], *entries[2]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListAudit (-want +got):\n%s", diff)
	}
	view(t, s, func(tx imgward.Tx) error {
		for _, tt := range []struct {
			after int64
			limit int
			want  []imgward.AuditEntry
		}{
			{1, 1, want[1:2]},
			{1, 0, want[1:]},
			{0, 2, want[:2]},
			{3, 0, []imgward.AuditEntry{}},
		} {
			got, err := tx.ListAudit(ctx(t), tt.after, tt.limit)
			if err != nil {
				return err
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ListAudit(%d, %d) (-want +got):\n%s", tt.after, tt.limit, diff)
			}
		}
		return nil
	})

	// An append rolled back leaves nothing; the next one takes a later Seq
	// (PostgreSQL's sequence may skip the rolled back one) and the next
	// leaf: the tree has no gap.
	errAbort := errors.New("abort")
	err := s.Update(ctx(t), func(tx imgward.Tx) error {
		if err := tx.AppendAudit(ctx(t), &imgward.AuditEntry{Actor: "system", Action: "lost"}); err != nil {
			return err
		}
		return errAbort
	})
	if err != errAbort {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	e := &imgward.AuditEntry{Actor: "system", Action: "kept"}
	update(t, s, func(tx imgward.Tx) error { return tx.AppendAudit(ctx(t), e) })
	if e.Seq < 4 {
		t.Errorf("append after a rolled back one got Seq %d, want 4 or more", e.Seq)
	}
	if all := VerifyAudit(t, s); len(all) != 4 || all[3].Seq != e.Seq || all[3].Leaf != 4 {
		t.Errorf("after a rolled back append the log is %+v, want 4 entries, the last %d at leaf 4", all, e.Seq)
	}
}

// Integrate integrates every pending entry of s's audit log into its tree
// and returns the tree's size.
func Integrate(t *testing.T, s imgward.Store) int64 {
	t.Helper()
	var n int64
	for {
		var added int
		update(t, s, func(tx imgward.Tx) error {
			var err error
			n, added, err = tx.IntegrateAudit(ctx(t), 5)
			return err
		})
		if added == 0 {
			return n
		}
	}
}

// VerifyAudit integrates s's audit log, reads it whole in leaf order, a
// page at a time, checks it with audit.Verifier, checks that the tree the
// store keeps has the root the verifier computes, and returns the log.
func VerifyAudit(t *testing.T, s imgward.Store) []imgward.AuditEntry {
	t.Helper()
	all, err := CheckAudit(t, s, nil)
	if err != nil {
		t.Fatalf("audit log does not verify: %v", err)
	}
	return all
}

// CheckAudit integrates s's audit log, reads it in leaf order and checks it
// against cps; it also checks that the store's own tree agrees.
func CheckAudit(t *testing.T, s imgward.Store, cps []audit.Checkpoint) ([]imgward.AuditEntry, error) {
	t.Helper()
	n := Integrate(t, s)
	var v audit.Verifier
	var all []imgward.AuditEntry
	var verr error
	view(t, s, func(tx imgward.Tx) error {
		for after := int64(0); ; {
			page, err := tx.ListAuditLeaves(ctx(t), after, 7)
			if err != nil {
				return err
			}
			if len(page) == 0 {
				break
			}
			for i := range page {
				if verr = v.Next(&page[i]); verr != nil {
					return nil
				}
			}
			all = append(all, page...)
			after = page[len(page)-1].Leaf
		}
		if v.Checked != n {
			t.Errorf("tree of %d leaves, %d entries read in leaf order", n, v.Checked)
			return nil
		}
		if verr = v.Against(cps); verr != nil {
			return nil
		}
		mine, err := v.Root(n)
		if err != nil {
			return err
		}
		stored, err := StoreRoot(t, tx, n)
		if err != nil {
			return err
		}
		if stored != mine {
			t.Errorf("the store's tree of %d has root %x, the entries hash to %x", n, stored, mine)
		}
		return nil
	})
	return all, verr
}

// StoreRoot returns the root of the store's audit tree of size n.
func StoreRoot(t *testing.T, tx imgward.Tx, n int64) (tlog.Hash, error) {
	return tlog.TreeHash(n, tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		bs, err := tx.AuditHashes(ctx(t), indexes)
		hs := make([]tlog.Hash, len(bs))
		for i, b := range bs {
			copy(hs[i][:], b)
		}
		return hs, err
	}))
}

// AppendConcurrently appends each entries from each of goroutines
// goroutines at once, each append in its own hot-path write (UpdateHot), as
// the services append, the goroutines spread over stores (several stores on
// one database stand for several nodes). It checks that the Seqs handed back
// are each handed once and, on a log that was empty, are 1..n.
func AppendConcurrently(t *testing.T, stores []imgward.Store, goroutines, each int) {
	t.Helper()
	var empty bool
	view(t, stores[0], func(tx imgward.Tx) error {
		es, err := tx.ListAudit(ctx(t), 0, 1)
		empty = len(es) == 0
		return err
	})
	var mu sync.Mutex
	seqs := map[int64]int{}
	var wg sync.WaitGroup
	for g := range goroutines {
		s := stores[g%len(stores)]
		wg.Go(func() {
			for i := range each {
				e := &imgward.AuditEntry{Actor: "system", Action: "store.append",
					Object: fmt.Sprintf("goroutine/%d/%d", g, i), Result: imgward.ResultOK}
				if err := imgward.UpdateHot(ctx(t), s, func(tx imgward.Tx) error { return tx.AppendAudit(ctx(t), e) }); err != nil {
					t.Errorf("goroutine %d: AppendAudit: %v", g, err)
					return
				}
				mu.Lock()
				seqs[e.Seq]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for seq, n := range seqs {
		if n != 1 {
			t.Errorf("Seq %d was handed out %d times, want once", seq, n)
		}
	}
	for seq := int64(1); empty && seq <= int64(goroutines*each); seq++ {
		if seqs[seq] != 1 {
			t.Errorf("Seq %d was handed out %d times, want once", seq, seqs[seq])
		}
	}
}
