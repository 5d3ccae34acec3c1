package guest

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
)

// syntheticGuest is a guest of n user processes, each with a listener, a
// connection, and 24 mappings (one RWX in ten processes), and 40 kernel
// threads: about what a busybox guest's processes hold, for a benchmark
// that needs no QEMU.
func syntheticGuest(n int) *image {
	im := newImage(64 << 20)
	for i := range 40 {
		im.addTask(taskSpec{pid: 2 + i, comm: fmt.Sprintf("kworker/0:%d", i), kthread: true})
	}
	for i := range n {
		pid := 100 + i
		var vmas []vmaSpec
		for j := range uint64(24) {
			f := rw
			if j == 5 && i%10 == 0 {
				f = rwx
			}
			vmas = append(vmas, vmaSpec{start: 0x400000 + j*0x100000, end: 0x400000 + j*0x100000 + 0x3000, flags: f, file: j < 4})
		}
		im.addTask(taskSpec{pid: pid, ppid: 1, comm: "worker", argv: []string{"/usr/bin/worker", "--id", fmt.Sprint(i)},
			exe: []string{"usr", "bin", "worker"}, rss: [mmCounters]int64{100, 200, 0, 3}, vmas: vmas,
			socks: []sockSpec{
				{family: afInet, typ: sockStream, proto: ipprotoTCP, state: tcpListen, local: netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(10000+i))},
				{family: afInet, typ: sockStream, proto: ipprotoTCP, state: 1, local: ap("10.0.0.2:40000"), remote: ap("10.0.0.9:443")},
			}})
	}
	return im.finish()
}

// BenchmarkScanSynthetic times a whole scan (processes, sockets, modules,
// mappings, cross-views) of a synthetic guest held in Go memory: the
// scan's own cost, without page walks.
func BenchmarkScanSynthetic(b *testing.B) {
	for _, n := range []int{50, 500} {
		b.Run(fmt.Sprintf("procs=%d", n), func(b *testing.B) {
			im := syntheticGuest(n)
			sc, err := NewScanner(im.k)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				st, err := sc.Scan(context.Background(), im)
				if err != nil || len(st.Processes) != n+40 {
					b.Fatalf("%v, %d processes", err, len(st.Processes))
				}
			}
		})
	}
}
