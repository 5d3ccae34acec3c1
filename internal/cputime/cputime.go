// Package cputime reads the processor time that benchmarks report beside
// the wall clock: on a shared machine the wall clock follows the load, the
// processor time follows the code.
package cputime

import (
	"syscall"
	"time"
)

const rusageThread = 1 // RUSAGE_THREAD (Linux)

// Thread returns the processor time (user and system) of the calling OS
// thread; the caller locks its goroutine to the thread
// (runtime.LockOSThread) for the difference of two readings to mean anything.
func Thread() (time.Duration, error) { return rusage(rusageThread) }

// Process returns the processor time (user and system) of the process, every
// thread included.
func Process() (time.Duration, error) { return rusage(syscall.RUSAGE_SELF) }

func rusage(who int) (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
