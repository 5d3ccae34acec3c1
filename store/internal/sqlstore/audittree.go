package sqlstore

import (
	"context"
	"database/sql"
	stderrors "errors"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"imgward/errors"
)

// treeBlock is how many of the tree's hashes one row of audit_tree keeps:
// hash i is at offset tlog.HashSize*(i%treeBlock) of row i/treeBlock. The
// stored hashes of a tree are numbered densely as it grows (tlog's
// StoredHashIndex), so an integration extends the last row and adds whole
// ones: a few rows a second at thousands of launches a second, where a row
// a hash was two a leaf.
const treeBlock = 64

// AuditTreeSize returns the number of integrated entries: leaves are 1..n.
func (t *tx) AuditTreeSize(ctx context.Context) (int64, error) {
	n, _, err := t.auditHead(ctx)
	return n, err
}

// auditHead returns the tree's size and, with batches, the last seq
// integrated: entries past it are pending.
func (t *tx) auditHead(ctx context.Context) (size, last int64, err error) {
	if !t.d.AuditBatches {
		err = t.queryRow(ctx, `SELECT COALESCE(MAX(leaf), 0) FROM audit_log`).Scan(&size)
		return size, 0, t.d.wrap("AuditTreeSize", err)
	}
	// The last batch has the greatest leaves and seqs: the integrator
	// adds batches after it only.
	err = t.queryRow(ctx, `SELECT first_leaf + last_seq - first_seq, last_seq
		FROM audit_batches ORDER BY first_leaf DESC LIMIT 1`).Scan(&size, &last)
	if stderrors.Is(err, sql.ErrNoRows) {
		return 0, 0, nil
	}
	return size, last, t.d.wrap("AuditTreeSize", err)
}

// AuditHashes reads stored tree hashes by index.
func (t *tx) AuditHashes(ctx context.Context, indexes []int64) ([][]byte, error) {
	const op = "AuditHashes"
	var blocks []int64
	seen := map[int64]bool{}
	for _, x := range indexes {
		if b := x / treeBlock; x >= 0 && !seen[b] {
			seen[b] = true
			blocks = append(blocks, b)
		}
	}
	got, err := t.treeBlocks(ctx, op, blocks)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(indexes))
	for i, x := range indexes {
		b := got[x/treeBlock]
		off := int(x%treeBlock) * tlog.HashSize
		if x < 0 || len(b) < off+tlog.HashSize {
			return nil, t.d.wrap(op, errors.E(errors.NotExist, errors.Msg("audit tree hash missing")))
		}
		out[i] = b[off : off+tlog.HashSize]
	}
	return out, nil
}

// treeBlocks reads rows of audit_tree by block number.
func (t *tx) treeBlocks(ctx context.Context, op string, blocks []int64) (map[int64][]byte, error) {
	got := make(map[int64][]byte, len(blocks))
	err := t.chunks(len(blocks), 1, func(lo, hi int) error {
		var q query
		ps := make([]string, 0, hi-lo)
		for _, b := range blocks[lo:hi] {
			ps = append(ps, q.arg(b))
		}
		return t.list(ctx, op, `SELECT block, hashes FROM audit_tree WHERE block IN (`+strings.Join(ps, ", ")+`)`, q.args,
			func(r *sql.Rows) error {
				var b int64
				var h []byte
				err := r.Scan(&b, &h)
				got[b] = h
				return err
			})
	})
	return got, err
}

// writeTree stores hashes, the stored hashes from index first on that an
// integration computed, after the ones the table has: it extends the last
// row, which must end at first, and adds the rows after it.
func (t *tx) writeTree(ctx context.Context, op string, first int64, hashes []tlog.Hash) error {
	if len(hashes) == 0 {
		return nil
	}
	var buf []byte
	block := first / treeBlock
	if off := first % treeBlock; off != 0 {
		got, err := t.treeBlocks(ctx, op, []int64{block})
		if err != nil {
			return err
		}
		if int64(len(got[block])) != off*tlog.HashSize {
			return t.d.wrap(op, errors.E(errors.Internal, errors.Errorf("audit tree row %d holds %d bytes, want %d", block, len(got[block]), off*tlog.HashSize)))
		}
		buf = got[block]
	}
	type row struct {
		block  int64
		hashes []byte
	}
	var rows []row
	for _, h := range hashes {
		buf = append(buf, h[:]...)
		if len(buf) == treeBlock*tlog.HashSize {
			rows = append(rows, row{block, buf})
			block, buf = block+1, nil
		}
	}
	if len(buf) > 0 {
		rows = append(rows, row{block, buf})
	}
	return t.chunks(len(rows), 2, func(lo, hi int) error {
		var q query
		vs := make([]string, 0, hi-lo)
		for _, r := range rows[lo:hi] {
			vs = append(vs, "("+q.arg(r.block)+", "+q.arg(r.hashes)+")")
		}
		return t.exec(ctx, op, `INSERT INTO audit_tree (block, hashes) VALUES `+strings.Join(vs, ", ")+`
			ON CONFLICT (block) DO UPDATE SET hashes = excluded.hashes`, q.args...)
	})
}

// IntegrateAudit adds pending entries to the tree, in Seq order. The
// Dialect's AuditLock keeps integrations apart across nodes; it is not the
// write lock, so appends go on meanwhile. An entry appended by a
// transaction that commits later than a higher Seq's simply takes a later
// leaf: the leaf order, not Seq, is the log's order.
func (t *tx) IntegrateAudit(ctx context.Context, max int) (int64, int, error) {
	const op = "IntegrateAudit"
	if max < 1 {
		return 0, 0, t.d.wrap(op, errors.E(errors.Invalid, errors.Msg("invalid batch size")))
	}
	if t.d.AuditLock != nil {
		if err := t.d.AuditLock(ctx, t.q); err != nil {
			return 0, 0, t.d.wrap(op, err)
		}
	}
	n, last, err := t.auditHead(ctx)
	if err != nil {
		return 0, 0, err
	}
	ps, err := t.pendingAudit(ctx, op, last, max)
	if err != nil || len(ps) == 0 {
		return n, 0, err
	}
	// The batch's own hashes are read back from memory, older ones from
	// the table.
	first := tlog.StoredHashIndex(0, n)
	var fresh []tlog.Hash
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		var old []int64
		for i, x := range indexes {
			if x >= first && x-first < int64(len(fresh)) {
				out[i] = fresh[x-first]
			} else {
				old = append(old, x)
			}
		}
		if len(old) == 0 {
			return out, nil
		}
		hs, err := t.AuditHashes(ctx, old)
		if err != nil {
			return nil, err
		}
		j := 0
		for i, x := range indexes {
			if x < first || x-first >= int64(len(fresh)) {
				copy(out[i][:], hs[j])
				j++
			}
		}
		return out, nil
	})
	for _, p := range ps {
		hs, err := tlog.StoredHashes(n, p.hash, reader)
		if err != nil {
			return 0, 0, t.d.wrap(op, errors.E(errors.Internal, err))
		}
		// A tree's stored hashes are numbered densely as it grows, so
		// the new ones follow the old.
		fresh = append(fresh, hs...)
		n++
	}
	if err := t.placeAudit(ctx, op, ps, n-int64(len(ps))+1); err != nil {
		return 0, 0, err
	}
	return n, len(ps), t.writeTree(ctx, op, first, fresh)
}

// pendingEntry is an entry not yet in the tree.
type pendingEntry struct {
	seq  int64
	hash []byte
}

// pendingAudit reads up to max pending entries in seq order: with batches,
// those after seq last; else those without a leaf.
func (t *tx) pendingAudit(ctx context.Context, op string, last int64, max int) ([]pendingEntry, error) {
	var q query
	cond := `leaf IS NULL`
	if t.d.AuditBatches {
		cond = `seq > ` + q.arg(last)
	}
	var ps []pendingEntry
	err := t.list(ctx, op, `SELECT seq, hash FROM audit_log WHERE `+cond+` ORDER BY seq LIMIT `+q.arg(max), q.args,
		func(r *sql.Rows) error {
			var p pendingEntry
			err := r.Scan(&p.seq, &p.hash)
			ps = append(ps, p)
			return err
		})
	return ps, err
}

// placeAudit records that entries ps, in order, took the leaves from leaf
// on. Each run of consecutive seqs is one row of audit_batches, or one
// UPDATE of its entries' leaves; with Arrays, the leaves go in one UPDATE
// from two arrays, whatever the gaps between seqs: on PostgreSQL, hot
// writes of several nodes commit out of seq order, and one that took a seq
// and wrote no entry (a refused launch) leaves a gap, so runs can be short.
func (t *tx) placeAudit(ctx context.Context, op string, ps []pendingEntry, leaf int64) error {
	if t.d.Arrays && !t.d.AuditBatches {
		seqs, leaves := make([]int64, len(ps)), make([]int64, len(ps))
		for i, p := range ps {
			seqs[i], leaves[i] = p.seq, leaf+int64(i)
		}
		return t.exec(ctx, op, `UPDATE audit_log SET leaf = v.leaf
			FROM unnest($1::bigint[], $2::bigint[]) AS v(seq, leaf) WHERE audit_log.seq = v.seq`,
			seqs, leaves)
	}
	start := 0 // index in ps of the current run of consecutive seqs
	for i, p := range ps {
		if i+1 < len(ps) && ps[i+1].seq == p.seq+1 {
			continue
		}
		firstSeq, firstLeaf := ps[start].seq, leaf+int64(start)
		var err error
		if t.d.AuditBatches {
			err = t.exec(ctx, op, `INSERT INTO audit_batches (first_seq, last_seq, first_leaf) VALUES ($1, $2, $3)`,
				firstSeq, p.seq, firstLeaf)
		} else {
			err = t.exec(ctx, op, `UPDATE audit_log SET leaf = seq + $1 WHERE seq >= $2 AND seq <= $3`,
				firstLeaf-firstSeq, firstSeq, p.seq)
		}
		if err != nil {
			return err
		}
		start = i + 1
	}
	return nil
}
