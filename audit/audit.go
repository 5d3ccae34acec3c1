// Package audit is imgward's append-only audit log as a transparency log.
//
// Every entry is a leaf of an RFC 6962 Merkle tree (golang.org/x/mod/sumdb/tlog
// layout): the leaf's data is the entry's hash (Hash), and the tree's hashes
// are stored beside the entries, so that an inclusion or consistency proof is
// a few reads. A checkpoint (Checkpoint, SignCheckpoint) is the tree's size
// and root hash signed by a key held by the KMS, in the C2SP signed-note
// format. A checkpoint kept outside the database anchors the log: no edit,
// deletion, insertion or reordering of an entry it covers goes unnoticed by
// Verifier.
//
// Appends are cheap: the store gives an entry a unique sequence number and
// its hash and writes it, reading nothing (hash version 2). Integration into
// the tree happens later, in batches, by one integrator at a time
// (imgward.Tx.IntegrateAudit), which gives each pending entry the next leaf
// in Seq order. Appends therefore never wait for one another on the log.
//
// Hash versions: version 1 entries (written before the tree existed) chain
// each entry to the previous one through Prev; their hash is kept, with its
// bug (the constant 8 hashed where the comment promised the sequence number),
// so that they still verify. Version 2 entries have no Prev (the tree links
// them) and hash their Seq.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"imgward"
)

// Genesis is the Prev of the first version 1 entry.
var Genesis = make([]byte, sha256.Size)

// Seal sets e.Hash to the entry's version 2 hash and clears e.Prev.
func Seal(e *imgward.AuditEntry) {
	e.Prev = nil
	e.Hash = HashV2(e)
}

// SealV1 sets e.Prev to prev and e.Hash to the entry's version 1 hash. Only
// tests and migrations of old logs write version 1 entries.
func SealV1(e *imgward.AuditEntry, prev []byte) {
	e.Prev = append([]byte(nil), prev...)
	e.Hash = HashV1(e)
}

// Hash computes e's hash in e's version: version 1 if it has a Prev, else 2.
func Hash(e *imgward.AuditEntry) []byte {
	if len(e.Prev) != 0 {
		return HashV1(e)
	}
	return HashV2(e)
}

// HashV1 is the first hash version: SHA-256 over e.Prev and e's fields, each
// length-prefixed. It hashes the length of the sequence number's 8 bytes
// where it meant to hash the number, a bug kept so that old entries verify;
// the chain through Prev still orders them.
func HashV1(e *imgward.AuditEntry) []byte {
	h := sha256.New()
	var n [8]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
	h.Write([]byte("imgward-audit-v1\x00"))
	put(e.Prev)
	put(n[:]) // the bug: put overwrites n with len(n) before writing it
	putFields(put, e)
	return h.Sum(nil)
}

// HashV2 is SHA-256 over a version tag, e.Seq and e's fields, each field
// length-prefixed so that no two different entries encode alike. Time is
// hashed at microsecond precision, the precision every store keeps.
func HashV2(e *imgward.AuditEntry) []byte {
	h := sha256.New()
	h.Write([]byte("imgward-audit-v2\x00"))
	h.Write(binary.BigEndian.AppendUint64(nil, uint64(e.Seq)))
	putFields(func(b []byte) {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
		h.Write(b)
	}, e)
	return h.Sum(nil)
}

func putFields(put func([]byte), e *imgward.AuditEntry) {
	put([]byte(e.Time.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)))
	put([]byte(e.Actor))
	put([]byte(e.Action))
	put([]byte(e.Object))
	put([]byte(e.Result))
	put([]byte(e.Reason))
}

// LeafData is what the tree holds for e: its hash. The leaf hash is
// tlog.RecordHash(LeafData(e)), RFC 6962's SHA-256(0x00 || data).
func LeafData(e *imgward.AuditEntry) []byte { return e.Hash }

// Verifier checks a log entry by entry in leaf order and recomputes its
// Merkle tree, so that the result can be compared with checkpoints. It keeps
// the tree's stored hashes: about 64 bytes an entry.
type Verifier struct {
	last     int64
	lastHash []byte
	v2       bool
	hashes   []tlog.Hash
	seqs     []int64 // by leaf, to name an entry
	// Checked counts the entries verified so far: the size of the tree.
	Checked int64
}

// Next checks the next entry of the log, the one at leaf v.Checked+1. It
// reports an entry whose hash does not match its fields (edited), a version
// 1 entry out of its chain (deleted, inserted or reordered), and an entry
// in the wrong leaf.
func (v *Verifier) Next(e *imgward.AuditEntry) error {
	if e.Leaf != 0 && e.Leaf != v.Checked+1 {
		return fmt.Errorf("entry %d: at leaf %d, expected leaf %d: entries missing or reordered", e.Seq, e.Leaf, v.Checked+1)
	}
	if len(e.Prev) != 0 { // version 1
		prev := v.lastHash
		if prev == nil {
			prev = Genesis
		}
		switch {
		case v.v2:
			return fmt.Errorf("entry %d: a version 1 entry after version 2 entries: the log was altered", e.Seq)
		case e.Seq != v.last+1:
			return fmt.Errorf("entry %d: expected entry %d: entries missing or reordered", e.Seq, v.last+1)
		case !bytes.Equal(e.Prev, prev):
			return fmt.Errorf("entry %d: does not link to entry %d: the log was altered", e.Seq, v.last)
		}
	} else {
		v.v2 = true
	}
	if !bytes.Equal(Hash(e), e.Hash) {
		return fmt.Errorf("entry %d: hash mismatch: the entry was edited", e.Seq)
	}
	hs, err := tlog.StoredHashes(v.Checked, LeafData(e), v)
	if err != nil {
		return err
	}
	v.hashes = append(v.hashes, hs...)
	v.seqs = append(v.seqs, e.Seq)
	v.last, v.lastHash = e.Seq, e.Hash
	v.Checked++
	return nil
}

// ReadHashes implements tlog.HashReader over the hashes computed so far.
func (v *Verifier) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(v.hashes)) {
			return nil, fmt.Errorf("tree hash %d not computed", x)
		}
		out[i] = v.hashes[x]
	}
	return out, nil
}

// Root returns the root hash of the tree of the first n entries checked.
func (v *Verifier) Root(n int64) (tlog.Hash, error) {
	if n > v.Checked {
		return tlog.Hash{}, fmt.Errorf("tree of %d entries: only %d checked", n, v.Checked)
	}
	return tlog.TreeHash(n, v)
}

// Against checks the log read so far against checkpoints kept outside the
// database, smallest first, and reports the first that it contradicts:
// entries a checkpoint covers that are missing (truncation), or a tree that
// hashes otherwise (an entry edited, inserted, deleted or moved, even with
// every later hash recomputed). An entry is named exactly when it is the
// only one between the last checkpoint that holds and the first that does
// not; otherwise the range is, so the more often checkpoints are taken, the
// closer the report.
func (v *Verifier) Against(cps []Checkpoint) error {
	cps = slices.Clone(cps)
	slices.SortFunc(cps, func(a, b Checkpoint) int { return int(min(max(a.Size-b.Size, -1), 1)) })
	var good int64
	for _, c := range cps {
		if c.Size > v.Checked {
			return fmt.Errorf("log truncated: checkpoint of %d entries, the log has %d: the first missing entry is leaf %d",
				c.Size, v.Checked, v.Checked+1)
		}
		root, err := v.Root(c.Size)
		if err != nil {
			return err
		}
		if root == c.Root {
			good = c.Size
			continue
		}
		if good+1 == c.Size {
			return fmt.Errorf("entry %d (leaf %d): differs from checkpoint of %d entries: the log was rewritten or reordered",
				v.seqs[good], good+1, c.Size)
		}
		return fmt.Errorf("the log was rewritten or reordered: the first differing entry is among leaves %d..%d (entries %d..%d); "+
			"checkpoint of %d entries contradicted, checkpoint of %d holds", good+1, c.Size, v.seqs[good], v.seqs[c.Size-1], c.Size, good)
	}
	return nil
}
