// Package audit is the hash chain of imgward's append-only audit log. The
// store assigns each entry its sequence number and the previous entry's
// hash; Seal computes the entry's own hash; Verify walks a log and reports
// the first entry that was edited, deleted, inserted or reordered.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"

	"imgward"
)

// Genesis is the Prev of the first entry.
var Genesis = make([]byte, sha256.Size)

// Seal sets e.Prev to prev and e.Hash to the entry's hash.
func Seal(e *imgward.AuditEntry, prev []byte) {
	e.Prev = append([]byte(nil), prev...)
	e.Hash = Hash(e)
}

// Hash computes SHA-256 over e.Prev and e's fields, each length-prefixed so
// that no two different entries encode alike. Time is hashed at microsecond
// precision, the precision every store keeps.
func Hash(e *imgward.AuditEntry) []byte {
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
	put(n[:])
	put([]byte(e.Time.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)))
	put([]byte(e.Actor))
	put([]byte(e.Action))
	put([]byte(e.Object))
	put([]byte(e.Result))
	put([]byte(e.Reason))
	return h.Sum(nil)
}

// Verifier checks a log entry by entry, so that a log of any length can be
// checked in bounded memory. The zero Verifier expects the log to start at
// Seq 1.
type Verifier struct {
	last     int64
	lastHash []byte
	// Checked counts the entries verified so far.
	Checked int64
}

// Next checks the next entry of the log. It reports a gap (a deleted or
// reordered entry), a broken link (an entry deleted, inserted or edited
// before e) or a hash mismatch (e itself edited).
func (v *Verifier) Next(e *imgward.AuditEntry) error {
	prev := v.lastHash
	if prev == nil {
		prev = Genesis
	}
	if e.Seq != v.last+1 {
		return fmt.Errorf("entry %d: expected entry %d: entries missing or reordered", e.Seq, v.last+1)
	}
	if !bytes.Equal(e.Prev, prev) {
		return fmt.Errorf("entry %d: does not link to entry %d: the log was altered", e.Seq, v.last)
	}
	if !bytes.Equal(Hash(e), e.Hash) {
		return fmt.Errorf("entry %d: hash mismatch: the entry was edited", e.Seq)
	}
	v.last, v.lastHash = e.Seq, e.Hash
	v.Checked++
	return nil
}
