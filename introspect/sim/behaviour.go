package sim

import (
	"fmt"
	"imgward"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"imgward/snapshot"
)

// Roles are the kinds of images; Behaviours the payloads of malicious ones.
var (
	Roles      = []string{"web", "database", "batch"}
	Behaviours = []string{"cryptominer", "botnet", "backdoor", "exfiltration"}
)

// profile is a role's typical state; ranges are [low, high) at load 1.
type profile struct {
	procs   []string // comm names; the first is the main process
	exes    []string
	listen  []string
	workers [2]int // extra processes of the main program
	cpu     [2]float64
	rssMB   [2]float64
	conns   [2]float64
	tx, rx  [2]float64 // bytes per second
	peers   string     // the remote network the connections go to, as a printf pattern of one byte
	peerPt  int        // the remote port; 0 means an ephemeral client port
	calls   map[int]float64
}

// The system-call mixes use x86-64 numbers: read 0, write 1, pread64 17,
// pwrite64 18, sendfile 40, accept4 288, epoll_wait 232, futex 202, fsync
// 74, mmap 9, openat 257, connect 42, sendto 44, recvfrom 45, clone 56,
// execve 59.
var profiles = map[string]profile{
	"web": {
		procs: []string{"nginx"}, exes: []string{"/usr/sbin/nginx"}, listen: []string{"tcp:0.0.0.0:80", "tcp:0.0.0.0:443"},
		workers: [2]int{2, 5}, cpu: [2]float64{5, 30}, rssMB: [2]float64{80, 300}, conns: [2]float64{20, 200},
		tx: [2]float64{2e5, 5e6}, rx: [2]float64{5e4, 5e5}, peers: "198.51.100.%d", peerPt: 0,
		calls: map[int]float64{0: 20, 1: 25, 40: 10, 288: 8, 232: 30, 257: 5, 9: 2},
	},
	"database": {
		procs: []string{"postgres", "checkpointer", "walwriter", "autovacuum"}, exes: []string{"/usr/lib/postgresql/16/bin/postgres"},
		listen: []string{"tcp:0.0.0.0:5432"}, workers: [2]int{3, 12}, cpu: [2]float64{10, 40}, rssMB: [2]float64{800, 4000},
		conns: [2]float64{5, 40}, tx: [2]float64{1e5, 2e6}, rx: [2]float64{1e5, 2e6}, peers: "10.0.1.%d", peerPt: 0,
		calls: map[int]float64{17: 30, 18: 15, 74: 5, 202: 20, 0: 10, 1: 10, 232: 10},
	},
	"batch": {
		procs: []string{"python3"}, exes: []string{"/usr/bin/python3.12"}, workers: [2]int{1, 4},
		cpu: [2]float64{60, 95}, rssMB: [2]float64{500, 2500}, conns: [2]float64{1, 4},
		tx: [2]float64{1e4, 2e5}, rx: [2]float64{1e6, 2e7}, peers: "10.0.9.%d", peerPt: 443,
		calls: map[int]float64{0: 40, 1: 10, 9: 10, 257: 10, 202: 20, 45: 10},
	},
}

func between(rng *rand.Rand, r [2]float64) float64 { return r[0] + (r[1]-r[0])*rng.Float64() }

// draw draws one snapshot of an instance of role, running payload
// behaviour unless it is empty.
func draw(rng *rand.Rand, in Instance, role, behaviour string, at time.Time) snapshot.Snapshot {
	p := profiles[role]
	load := in.load * (0.8 + 0.4*rng.Float64()) // and it varies over time
	names := slices.Clone(p.procs)
	exes := slices.Clone(p.exes)
	listen := slices.Clone(p.listen)
	workers := p.workers[0] + rng.IntN(p.workers[1]-p.workers[0])
	st := state{
		procs:   float64(len(p.procs) + workers),
		threads: float64(len(p.procs)+workers) * (1 + float64(rng.IntN(4))),
		cpu:     min(between(rng, p.cpu)*load, 100),
		rss:     between(rng, p.rssMB) * (0.7 + 0.3*load) * (1 << 20),
		tx:      between(rng, p.tx) * load,
		rx:      between(rng, p.rx) * load,
		calls:   map[int]float64{},
	}
	nconn := int(between(rng, p.conns) * load)
	for range nconn {
		st.remote = append(st.remote, peer(rng, p.peers, p.peerPt))
	}
	// In key order: ranging over the map would draw in a random order.
	for _, k := range slices.Sorted(maps.Keys(p.calls)) {
		st.calls[k] = p.calls[k] * load * (0.9 + 0.2*rng.Float64())
	}
	switch behaviour {
	case "cryptominer": // high CPU, a miner process, pool connections
		names, exes = append(names, "xmrig"), append(exes, "/tmp/.cache/xmrig")
		st.procs++
		st.threads += 8
		st.cpu = min(st.cpu+70+20*rng.Float64(), 100)
		st.rss += 256 << 20
		for range 2 {
			st.remote = append(st.remote, peer(rng, "203.0.113.%d", 3333))
		}
		st.calls[202] += 400 // futex: the hashing threads
	case "botnet": // many outbound connections and an odd process
		names, exes = append(names, "kdevtmpfsi"), append(exes, "/var/tmp/.kdevtmpfsi")
		st.procs++
		for range 150 + rng.IntN(250) {
			st.remote = append(st.remote, peer(rng, "192.0.2.%d", []int{80, 443, 6667}[rng.IntN(3)]))
		}
		st.tx += 2e5
		st.calls[42] += 300 // connect
		st.calls[44] += 200 // sendto
	case "backdoor": // an extra listening port and a shell
		names, exes = append(names, "sh", "nc"), append(exes, "/bin/busybox")
		listen = append(listen, "tcp:0.0.0.0:31337")
		st.procs += 2
		st.calls[59] += 2 // execve
		st.calls[56] += 2 // clone
	case "exfiltration": // high outbound bytes to one remote
		names, exes = append(names, "rclone"), append(exes, "/usr/local/bin/rclone")
		st.procs++
		st.remote = append(st.remote, "198.18.7.66:443")
		st.tx += 5e7 + 5e7*rng.Float64()
		st.calls[1] += 200
	}
	return st.snapshot(in.ID, at, names, exes, listen)
}

func peer(rng *rand.Rand, network string, port int) string {
	if port == 0 {
		port = 32768 + rng.IntN(28232)
	}
	return fmt.Sprintf(network, 1+rng.IntN(254)) + ":" + strconv.Itoa(port)
}

// state is a snapshot being drawn.
type state struct {
	procs, threads, cpu, rss, tx, rx float64
	remote                           []string
	calls                            map[int]float64
}

func (st *state) snapshot(id string, at time.Time, names, exes, listen []string) snapshot.Snapshot {
	hosts := map[string]bool{}
	for _, r := range st.remote {
		hosts[r[:len(r)-len(portOf(r))-1]] = true
	}
	hist := make(map[int32]uint64, len(st.calls))
	for k, v := range st.calls {
		hist[int32(k)] = uint64(v*100 + 0.5)
	}
	round := func(v float64) float64 { return float64(int64(v*1000)) / 1000 }
	return snapshot.Snapshot{
		InstanceID: imgward.InstanceID(id), TakenAt: at, Source: snapshot.SourceSim,
		Numeric: map[string]float64{
			"proc.count": st.procs, "proc.threads": st.threads, "proc.cpu_percent": round(st.cpu),
			"proc.rss_bytes": float64(int64(st.rss)), "net.listeners": float64(len(listen)),
			"net.connections": float64(len(st.remote)), "net.remote_hosts": float64(len(hosts)),
			"net.tx_bytes_per_s": round(st.tx), "net.rx_bytes_per_s": round(st.rx),
		},
		Sets: map[string][]string{
			"proc.names": sorted(names), "proc.exes": sorted(exes), "net.listen": sorted(listen),
			"net.remote": sorted(st.remote),
		},
		Syscalls: &snapshot.Syscalls{Histogram: hist},
	}
}

func portOf(hostport string) string {
	for i := len(hostport) - 1; i >= 0; i-- {
		if hostport[i] == ':' {
			return hostport[i+1:]
		}
	}
	return ""
}

// sorted sorts and deduplicates a set, cut to a snapshot's limit.
func sorted(s []string) []string {
	slices.Sort(s)
	s = slices.Compact(s)
	return s[:min(len(s), snapshot.MaxSetItems)]
}
