package fleet

import (
	"fmt"
	"runtime"
	"testing"
)

// snapshotOf builds a report of 54 numeric parameters (as CIC-MalMem-2022
// has) and 8 set values.
func snapshotOf(i int, names []string, values []float64) report {
	for j := range values {
		values[j] = float64(i*j%97) + 0.5
	}
	return report{
		Instance:  fmt.Sprintf("i-%016x", i),
		Image:     fmt.Sprintf("img-%d", i%300),
		Publisher: fmt.Sprintf("pub-%d", i%20),
		Names:     names, Values: values,
		Sets: map[string][]string{
			"ports":   {"22", "443", fmt.Sprint(1024 + i%50)},
			"modules": {"ext4", "virtio_net", "xfs", "nf_tables", fmt.Sprint("m", i%7)},
		},
	}
}

func names54() []string {
	names := make([]string, 54)
	for j := range names {
		names[j] = fmt.Sprintf("feature.%02d", j)
	}
	return names
}

// TestMemoryPerInstance checks the goal of at most 2 KiB per tracked
// instance, ids included.
func TestMemoryPerInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates ~40 MB")
	}
	const n = 20000
	names, values := names54(), make([]float64, 54)
	f := New(Config{Params: map[string]Param{"feature.00": {Strategy: Max}}})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		if err := f.put(snapshotOf(i, names, values)); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.0f bytes per instance", per)
	if per > 2048 {
		t.Errorf("%.0f bytes per instance, want at most 2048", per)
	}
	runtime.KeepAlive(f)
}

func BenchmarkPut(b *testing.B) {
	names, values := names54(), make([]float64, 54)
	f := New(Config{Params: map[string]Param{"feature.00": {Strategy: Max}, "feature.01": {Strategy: Quantile, Q: 0.9}}})
	snaps := make([]report, 10000)
	for i := range snaps {
		snaps[i] = snapshotOf(i, names, append([]float64(nil), values...))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := f.put(snaps[i%len(snaps)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
}
