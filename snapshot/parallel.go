package snapshot

import (
	"runtime"
	"strconv"
	"sync"
	"time"

	"imgward/errors"
)

// parseAll parses the lines on GOMAXPROCS goroutines: decoding JSON is the
// larger part of ingest's cost, and a batch's lines are independent. The
// error reported is that of the first bad line, as a sequential parse
// would report.
func parseAll(lines []Line, now time.Time) error {
	const op = "snapshot.ParseBatch"
	workers := min(runtime.GOMAXPROCS(0), (len(lines)+255)/256)
	errs := make([]error, len(lines))
	var wg sync.WaitGroup
	per := (len(lines) + workers - 1) / max(workers, 1)
	for lo := 0; lo < len(lines); lo += per {
		hi := min(lo+per, len(lines))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lo; i < hi; i++ {
				lines[i].Snapshot, errs[i] = Parse(lines[i].Raw, now)
				if errs[i] != nil {
					return // later lines of this part cannot be first
				}
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return errors.E(op, errors.Invalid, errors.Msg("line "+strconv.Itoa(lines[i].N)+": "+errors.Message(err)), err)
		}
	}
	return nil
}
