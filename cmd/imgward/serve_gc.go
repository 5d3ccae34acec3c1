package main

import (
	"os"
	"runtime/debug"
)

// serveGCPercent is the garbage collector's target (GOGC) of imgward serve
// when the environment sets none. A key release or a launch allocates some
// 10-20 KB of short-lived garbage (statement rows, JSON, HTTP) over a live
// heap of a few tens of MB, so that at Go's default of 100 the collector ran
// every few hundred requests and took about 8% of a release's processor
// time (docs/BENCHMARKS.md, "Key releases over loopback HTTP"). At 400 the
// heap may grow to five times what is live instead of twice: 18 MB more
// resident memory in scripts/bench-release.sh, for about a sixth less
// processor time a release.
const serveGCPercent = 400

// tuneGC sets the collector's target for serving, unless GOGC is set, which
// the runtime has then applied: the operator's choice stands (GOGC=100 where
// memory is tighter than processor time, or GOMEMLIMIT beside it).
func tuneGC() {
	if os.Getenv("GOGC") == "" { // empty is unset to the runtime too
		debug.SetGCPercent(serveGCPercent)
	}
}
