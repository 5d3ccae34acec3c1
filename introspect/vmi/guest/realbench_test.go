package guest_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"imgward/internal/cputime"
	"imgward/introspect/vmi"
	"imgward/introspect/vmi/vmitest"
)

// benchInit starts a guest's processes: n sleepers beside init, the
// payload's shell and the listener (about 45 kernel threads come on
// top).
func benchInit(n int) string {
	return fmt.Sprintf(`
nc -ll -p 8080 -e /bin/cat &
i=0; while [ $i -lt %d ]; do sleep 100000 & i=$((i+1)); done
`, n)
}

// BenchmarkScanGuest times, on real guests of about 50 and 500
// processes: a scan of the paused guest's memory (scan); the same scan
// as the collector runs it, pausing the guest through QMP (paused, with
// how long the guest stood still); and, in the same run, the QMP-only
// snapshot of today's collector (qmp-only) and the whole snapshot with
// guest memory (collect).
func BenchmarkScanGuest(b *testing.B) {
	sizes := []int{50, 500}
	var specs []vmitest.Spec
	for _, n := range sizes {
		specs = append(specs, vmitest.Spec{Name: fmt.Sprintf("bench%d", n), Opts: []string{"--init", writeInit(b, benchInit(n-5))}})
	}
	guests := vmitest.StartGuests(b, specs...)
	for i, n := range sizes {
		g := guests[i]
		mg := &vmi.Guest{Mem: g.Mem, Kernel: g.Kernel}
		b.Cleanup(func() { mg.Close() })
		ctx := context.Background()
		st, _, err := mg.Scan(ctx, g.QMP)
		if err != nil {
			b.Fatal(err)
		}
		users := 0
		for _, p := range st.Processes {
			if !p.Kernel {
				users++
			}
		}
		b.Logf("guest of %d: %d processes, %d user processes", n, len(st.Processes), users)
		b.Run(fmt.Sprintf("procs=%d/paused", n), func(b *testing.B) {
			// The scan runs on this goroutine: locked to its thread, the
			// thread's CPU time is the scan's (and its QMP calls'), which a
			// loaded machine does not inflate as it does wall time.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var scan, paused, cpu time.Duration
			for b.Loop() {
				before := threadCPU(b)
				_, t, err := mg.Scan(ctx, g.QMP)
				if err != nil {
					b.Fatal(err)
				}
				cpu += threadCPU(b) - before
				scan += t.Scan
				paused += t.Paused
			}
			perOp := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
			b.ReportMetric(perOp(scan), "scan-µs/op")
			b.ReportMetric(perOp(paused), "paused-µs/op")
			b.ReportMetric(perOp(paused-scan), "pause-over-scan-µs/op")
			b.ReportMetric(perOp(cpu), "cpu-µs/op")
		})
		b.Run(fmt.Sprintf("procs=%d/qmp-only", n), func(b *testing.B) {
			c := &vmi.Collector{Socket: g.QMP, Instance: "i-0123456789abcdef"}
			for b.Loop() {
				if _, err := c.Snapshot(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("procs=%d/collect", n), func(b *testing.B) {
			c := &vmi.Collector{Socket: g.QMP, Instance: "i-0123456789abcdef", Guest: mg}
			for b.Loop() {
				if _, err := c.Snapshot(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// threadCPU is the CPU time (user and system) of the calling thread.
func threadCPU(b *testing.B) time.Duration {
	d, err := cputime.Thread()
	if err != nil {
		b.Fatal(err)
	}
	return d
}
