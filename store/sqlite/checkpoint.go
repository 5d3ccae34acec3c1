package sqlite

import (
	"context"
	"database/sql"
)

// Checkpoints: SQLite copies the WAL back into the database file once the
// WAL holds 1,000 pages, by default within the commit that crosses the
// mark, on the committing connection. Here that is the single writer, so
// every caller queued behind that commit waited for the copy (and, with
// synchronous=NORMAL, its fsync of the database file): the p99 of key
// releases at 4 in flight was 6-7 ms with checkpoints in the commit path,
// 3-4 ms without. So the write connection runs with wal_autocheckpoint=0
// and a goroutine of its own checkpoints on a connection of its own, after
// every checkpointEvery commits. It is PASSIVE, as the automatic checkpoint
// is: it copies what no reader still needs and waits for no one, and the
// writer appends to the WAL meanwhile. Durability is unchanged: a commit is
// in the WAL when it returns, checkpointed or not.

// checkpointEvery is how many group commits go between checkpoints. Each
// checkpoint fsyncs the WAL (all the commits since the last one) and the
// database file, and on ext4 a write of the WAL by the writer can wait for
// that journal commit: the fewer commits a checkpoint flushes, the shorter
// the waits. At 256 the p99 of key releases at 16 connections was 7.3-8.6
// ms, at 64 5.6-6.6 ms, at 32 no better and with more processor time
// (docs/BENCHMARKS.md, "branch tail"); on tmpfs checkpoints cost the p99
// nothing.
const checkpointEvery = 64

// restartFrames is how long the WAL may grow (in frames, of a 4 KiB page
// each: 16 MiB) before the writer stops to finish a checkpoint so that the
// WAL restarts from its beginning. A background checkpoint cannot restart
// it under a steady load, since the writer appends meanwhile; the finishing
// one stalls every write in flight for 2-5 ms (mostly its fsyncs, which it
// needs whatever it copies), so it runs once in several background
// checkpoints, not after each. The WAL file stays under about
// restartFrames plus what the writer appends while a background checkpoint
// runs, more when the machine delays the checkpointer (TestWALBounded).
const restartFrames = 4096

// noteCommit counts a commit of the writer and wakes the checkpointer every
// checkpointEvery commits. Called by the writer goroutine only.
func (s *Store) noteCommit() {
	s.commits++
	if s.commits%checkpointEvery != 0 {
		return
	}
	select {
	case s.ckptWake <- struct{}{}:
	default: // one is pending or running
	}
}

// checkpointer runs the checkpoints the writer asks for, until the store
// closes.
func (s *Store) checkpointer(db *sql.DB) {
	defer close(s.ckptStopped)
	for {
		select {
		case <-s.ckptWake:
		case <-s.closing:
			return
		}
		// An error (a lock held by another process's checkpoint, say) is
		// no harm: the next one copies what this one did not.
		var busy, frames, copied int64
		err := db.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
		// Ask the writer to finish only once the WAL is long, or if the
		// checkpoint could not say how long it is.
		if err != nil || frames >= restartFrames {
			s.ckptDone.Store(true)
		}
		s.ckptRuns.Add(1)
	}
}

// finishCheckpoint copies, on the writer's connection, the frames committed
// since the background checkpoint, so that the next write restarts the WAL.
// The checkpointer asks for it only once the WAL is restartFrames long.
// Called by the writer goroutine only, between groups.
func (s *Store) finishCheckpoint() {
	if s.ckptDone.Swap(false) {
		s.write.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
	}
}
