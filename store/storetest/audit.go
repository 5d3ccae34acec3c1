package storetest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

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
	prev := audit.Genesis
	for i, e := range entries {
		if e.Seq != int64(i+1) || !bytes.Equal(e.Prev, prev) || !bytes.Equal(e.Hash, audit.Hash(e)) {
			t.Errorf("entry %d: Seq %d, Prev %x, Hash %x: not sealed in a chain", i, e.Seq, e.Prev, e.Hash)
		}
		prev = e.Hash
	}

	got := VerifyAudit(t, s)
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

	// An append rolled back leaves no gap: the next one takes its Seq.
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
	if e.Seq != 4 {
		t.Errorf("append after a rolled back one got Seq %d, want 4", e.Seq)
	}
	VerifyAudit(t, s)
}

// VerifyAudit reads the whole audit log of s, a page at a time, checks it
// with audit.Verifier and returns it.
func VerifyAudit(t *testing.T, s imgward.Store) []imgward.AuditEntry {
	t.Helper()
	var v audit.Verifier
	var all []imgward.AuditEntry
	view(t, s, func(tx imgward.Tx) error {
		for after := int64(0); ; {
			page, err := tx.ListAudit(ctx(t), after, 7)
			if err != nil {
				return err
			}
			if len(page) == 0 {
				return nil
			}
			for i := range page {
				if err := v.Next(&page[i]); err != nil {
					t.Fatalf("audit log does not verify: %v", err)
				}
			}
			all = append(all, page...)
			after = page[len(page)-1].Seq
		}
	})
	return all
}

// AppendConcurrently appends each entries from each of goroutines
// goroutines at once, each append in its own Update, the goroutines spread
// over stores (several stores on one database stand for several nodes). It
// checks that the Seqs handed back are 1..n, each once.
func AppendConcurrently(t *testing.T, stores []imgward.Store, goroutines, each int) {
	t.Helper()
	var mu sync.Mutex
	seqs := map[int64]int{}
	var wg sync.WaitGroup
	for g := range goroutines {
		s := stores[g%len(stores)]
		wg.Go(func() {
			for i := range each {
				e := &imgward.AuditEntry{Actor: "system", Action: "store.append",
					Object: fmt.Sprintf("goroutine/%d/%d", g, i), Result: imgward.ResultOK}
				if err := s.Update(ctx(t), func(tx imgward.Tx) error { return tx.AppendAudit(ctx(t), e) }); err != nil {
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
	for seq := int64(1); seq <= int64(goroutines*each); seq++ {
		if seqs[seq] != 1 {
			t.Errorf("Seq %d was handed out %d times, want once", seq, seqs[seq])
		}
	}
}
