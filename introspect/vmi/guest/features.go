package guest

import (
	"net/netip"
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
	sets = map[string][]string{
		"proc.names": snapshot.ClipSet(names), "proc.exes": snapshot.ClipSet(exes),
		"net.listen": snapshot.ClipSet(listen), "net.remote": snapshot.ClipSet(remote),
		"kernel.modules": snapshot.ClipSet(modules),
	}
	return numeric, sets
}
