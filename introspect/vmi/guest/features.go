package guest

import (
	"net/netip"
	"slices"
	"strings"

	"imgward/snapshot"
)

// Features turns a scan into snapshot v1 features (docs/SNAPSHOT.md),
// named as the procfs source names the same things so that baselines
// compare them alike. Processes are the user processes; kernel threads
// are only counted (their names vary with the CPUs and the load, and a
// user process dressed as one is proc.fake_kthreads), and not the
// workqueues' workers (kworker/...), which the kernel starts and stops
// with the load: identical guests differ by a few, which a baseline
// would take for an anomaly. A hidden process counts everywhere a listed
// one does, and in proc.hidden too.
//
//	numeric  proc.count          user processes (thread groups with an address space)
//	         proc.threads        their threads
//	         proc.rss_bytes      their resident memory, summed
//	         proc.kthreads       kernel threads but the workqueues' workers
//	         fd.count            their open file descriptors
//	         net.listeners       listening TCP and unconnected bound UDP sockets
//	         net.connections     sockets with a remote end
//	         net.remote_hosts    distinct remote addresses of those
//	         kernel.module_count loaded modules
//	         mem.rwx_regions     anonymous mappings both writable and executable
//	         proc.hidden         processes in the PID table or on a run queue but not in the task list
//	         module.hidden       modules in the module kset but not in the module list
//	         proc.fake_kthreads  user processes named like kernel threads
//	         vmi.skipped         objects the scan could not read or believe
//	         vmi.clipped_items   set items left out to keep the snapshot within its line
//	sets     proc.names          user processes' names (comm)
//	         proc.exes           their executables
//	         net.listen          "tcp:ADDR:PORT" or "udp:ADDR:PORT" listened on
//	         net.remote          "ADDR:PORT" of connected peers
//	         kernel.modules      loaded modules' names
func (st *State) Features() (numeric map[string]float64, sets map[string][]string) {
	var procs, threads, kthreads, hidden, fake, rwx, fds int
	var rss uint64
	var names, exes, listen, remote, modules []string
	for _, p := range st.Processes {
		if p.Hidden {
			hidden++
		}
		if p.Kernel {
			if !strings.HasPrefix(p.Comm, "kworker/") {
				kthreads++
			}
			continue
		}
		if p.mm == 0 {
			continue // a zombie: it has no memory, no executable, nothing running
		}
		procs++
		threads += p.Threads
		rss += p.RSS
		rwx += p.RWX
		fds += p.FDs
		if p.FakeKthread {
			fake++
		}
		names = append(names, p.Comm)
		if p.Exe != "" {
			exes = append(exes, p.Exe)
		}
	}
	hosts := map[netip.Addr]bool{}
	for _, s := range st.Sockets {
		switch {
		case s.Listening():
			listen = append(listen, s.Proto+":"+s.Local.String())
		default:
			remote = append(remote, s.Remote.String())
			hosts[s.Remote.Addr()] = true
		}
	}
	modHidden := 0
	for _, m := range st.Modules {
		modules = append(modules, m.Name)
		if m.Hidden {
			modHidden++
		}
	}
	numeric = map[string]float64{
		"proc.count": float64(procs), "proc.threads": float64(threads),
		"proc.rss_bytes": float64(rss), "proc.kthreads": float64(kthreads), "fd.count": float64(fds),
		"net.listeners": float64(len(listen)), "net.connections": float64(len(remote)),
		"net.remote_hosts": float64(len(hosts)), "kernel.module_count": float64(len(modules)),
		"mem.rwx_regions": float64(rwx), "proc.hidden": float64(hidden),
		"module.hidden": float64(modHidden), "proc.fake_kthreads": float64(fake),
		"vmi.skipped": float64(st.Skipped),
	}
	sets = map[string][]string{}
	clipped := 0
	for name, items := range map[string][]string{"proc.names": names, "proc.exes": exes,
		"net.listen": listen, "net.remote": remote, "kernel.modules": modules} {
		var n int
		sets[name], n = fitSet(items)
		clipped += n
	}
	numeric["vmi.clipped_items"] = float64(clipped)
	return numeric, sets
}

// setBudget bounds the encoded bytes of each set: the guest chooses its
// names, and five sets of snapshot.MaxSetItems items of snapshot.MaxItem
// bytes would make a snapshot line of over a megabyte, past
// snapshot.MaxLine, which ingest refuses whole: a guest could go dark by
// naming its processes long. Five sets at this budget leave 14 KiB of the
// line to the hypervisor's features and the numbers.
const setBudget = 10 << 10

// fitSet is snapshot.ClipSet's set cut further to setBudget bytes as JSON
// encodes them (in sorted order; what is cut counts in
// vmi.clipped_items), and how many distinct items were cut.
func fitSet(items []string) ([]string, int) {
	distinct := len(slices.Compact(slices.Sorted(slices.Values(items))))
	out := snapshot.ClipSet(items)
	size := 0
	for i, it := range out {
		size += jsonLen(it) + 1 // and a comma
		if size > setBudget {
			out = out[:i]
			break
		}
	}
	return out, distinct - len(out)
}

// jsonLen is an upper bound on the bytes of s as a JSON string: its
// quotes, and six bytes for each byte that may be escaped.
func jsonLen(s string) int {
	n := 2
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			n += 6
			continue
		}
		n++
	}
	return n
}
