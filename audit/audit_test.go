package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"imgward"
	"imgward/kms/local"
)

func entry(seq int64) *imgward.AuditEntry {
	return &imgward.AuditEntry{Seq: seq, Time: time.Date(2025, 6, 1, 12, 0, 0, 123456000, time.UTC), Actor: "user-1",
		Action: "member.update", Object: "image/1/member/2", Result: "denied", Reason: "not the owner"}
}

// TestHashV1KnownAnswer pins the version 1 hash to what the code before
// version 2 computed (run from the main branch's audit.Seal), so that old
// entries keep verifying; version 2 hashes the sequence number.
func TestHashV1KnownAnswer(t *testing.T) {
	e := entry(42)
	SealV1(e, Genesis)
	const want = "04273d9dfeb8b3c6f18697924db92935420f7c2c443f9b0ff374924831199f44"
	if got := hex.EncodeToString(e.Hash); got != want {
		t.Errorf("HashV1 = %s, want %s", got, want)
	}
	// Version 1 ignored the sequence number (the constant-8 bug)...
	other := entry(43)
	SealV1(other, Genesis)
	if !bytes.Equal(other.Hash, e.Hash) {
		t.Errorf("HashV1 now depends on Seq: old entries would not verify")
	}
	// ...version 2 does not.
	a, b := entry(42), entry(43)
	Seal(a)
	Seal(b)
	if bytes.Equal(a.Hash, b.Hash) || a.Prev != nil || bytes.Equal(a.Hash, e.Hash) {
		t.Errorf("HashV2 of entries 42 and 43: %x, %x: want distinct, and distinct from version 1", a.Hash, b.Hash)
	}
}

func TestVerifierTree(t *testing.T) {
	// Two version 1 entries, then version 2: the tree is over the hashes.
	var es []*imgward.AuditEntry
	prev := Genesis
	for i := int64(1); i <= 7; i++ {
		e := entry(i)
		if i <= 2 {
			SealV1(e, prev)
			prev = e.Hash
		} else {
			Seal(e)
		}
		e.Leaf = i
		es = append(es, e)
	}
	var v Verifier
	for _, e := range es {
		if err := v.Next(e); err != nil {
			t.Fatal(err)
		}
	}
	// The root computed independently, by RFC 6962's recursion.
	var leaves [][]byte
	for _, e := range es {
		h := tlog.RecordHash(e.Hash)
		leaves = append(leaves, h[:])
	}
	want := rfc6962Root(leaves)
	got, err := v.Root(7)
	if err != nil || !bytes.Equal(got[:], want) {
		t.Fatalf("Root(7) = %x, %v; want %x", got, err, want)
	}
	for _, tt := range []struct {
		name string
		es   func() []*imgward.AuditEntry
		want string
	}{
		{"v1 after v2", func() []*imgward.AuditEntry {
			x := *es[0]
			x.Leaf = 4
			return []*imgward.AuditEntry{es[0], es[1], es[2], &x}
		}, "version 1 entry after version 2"},
		{"v1 chain broken", func() []*imgward.AuditEntry {
			x := *es[1]
			x.Leaf = 1
			return []*imgward.AuditEntry{&x}
		}, "expected entry 1"},
		{"wrong leaf", func() []*imgward.AuditEntry { return []*imgward.AuditEntry{es[0], es[2]} }, "at leaf 3, expected leaf 2"},
		{"edited", func() []*imgward.AuditEntry {
			x := *es[3]
			x.Reason = "fine"
			return []*imgward.AuditEntry{es[0], es[1], es[2], &x}
		}, "entry 4: hash mismatch"},
	} {
		var v Verifier
		var err error
		for _, e := range tt.es() {
			if err = v.Next(e); err != nil {
				break
			}
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}

// rfc6962Root is RFC 6962's MTH, written from the RFC.
func rfc6962Root(leaves [][]byte) []byte {
	if len(leaves) == 1 {
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	h := sha256.New()
	h.Write([]byte{1})
	h.Write(rfc6962Root(leaves[:k]))
	h.Write(rfc6962Root(leaves[k:]))
	return h.Sum(nil)
}

func TestCheckpointSignAndOpen(t *testing.T) {
	ctx := context.Background()
	ks, err := local.Open(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	if err := ks.CreateKey(ctx, "imgward-audit"); err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(ctx, ks, "imgward-audit", DefaultOrigin)
	if err != nil {
		t.Fatal(err)
	}
	c := Checkpoint{Origin: DefaultOrigin, Size: 5, Root: tlog.RecordHash([]byte("x"))}
	signed, err := SignCheckpoint(ctx, s, c)
	if err != nil {
		t.Fatal(err)
	}
	got, err := OpenCheckpoint(signed, s.VerifierKey())
	if err != nil || got != c {
		t.Fatalf("OpenCheckpoint = %+v, %v; want %+v", got, err, c)
	}
	dir := t.TempDir()
	if _, err := SaveCheckpoint(dir, signed, s.VerifierKey()); err != nil {
		t.Fatal(err)
	}
	if _, err := SaveCheckpoint(dir, signed, s.VerifierKey()); err != nil {
		t.Errorf("saving the same checkpoint again: %v", err)
	}
	// Another tree of the same size is a rewrite.
	forged, _ := SignCheckpoint(ctx, s, Checkpoint{Origin: DefaultOrigin, Size: 5, Root: tlog.RecordHash([]byte("y"))})
	if _, err := SaveCheckpoint(dir, forged, s.VerifierKey()); err == nil || !strings.Contains(err.Error(), "rewritten") {
		t.Errorf("a second tree of size 5: %v, want refused", err)
	}
	// Another key's checkpoints do not go in that directory.
	if err := ks.CreateKey(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	o, _ := NewSigner(ctx, ks, "other", DefaultOrigin)
	os, _ := SignCheckpoint(ctx, o, Checkpoint{Origin: DefaultOrigin, Size: 6})
	if _, err := SaveCheckpoint(dir, os, o.VerifierKey()); err == nil || !strings.Contains(err.Error(), "another verifier key") {
		t.Errorf("another key's checkpoint: %v, want refused", err)
	}
	cps, err := LoadCheckpoints(dir, "")
	if err != nil || len(cps) != 1 || cps[0] != c {
		t.Errorf("LoadCheckpoints = %+v, %v", cps, err)
	}
	for name, b := range map[string][]byte{
		"tampered":   bytes.Replace(signed, []byte("\n5\n"), []byte("\n6\n"), 1),
		"other key":  os,
		"too large":  bytes.Repeat([]byte("a"), MaxCheckpointSize+1),
		"not a note": []byte("imgward/audit\n5\n"),
	} {
		if _, err := OpenCheckpoint(b, s.VerifierKey()); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
	// A checkpoint of another origin signed by a key named alike.
	w, _ := SignCheckpoint(ctx, s, Checkpoint{Origin: "another/log", Size: 1})
	if _, err := OpenCheckpoint(w, s.VerifierKey()); err == nil {
		t.Errorf("a checkpoint of another origin opened")
	}
}

func FuzzOpenCheckpoint(f *testing.F) {
	ks, err := local.Open(filepath.Join(f.TempDir(), "keys"))
	if err != nil {
		f.Fatal(err)
	}
	ctx := context.Background()
	ks.CreateKey(ctx, "k")
	s, err := NewSigner(ctx, ks, "k", DefaultOrigin)
	if err != nil {
		f.Fatal(err)
	}
	signed, _ := SignCheckpoint(ctx, s, Checkpoint{Origin: DefaultOrigin, Size: 3})
	f.Add(signed)
	f.Add([]byte("imgward/audit\n3\nAAAA\n\n— imgward/audit AAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := OpenCheckpoint(b, s.VerifierKey())
		if err == nil && (c.Origin != DefaultOrigin || c.Size < 0) {
			t.Errorf("opened %+v", c)
		}
	})
}
