// Package procfs introspects a Linux process group as an instance, from the
// host's /proc: a cgroup (v2, its cgroup.procs) or the process tree rooted at
// a PID. What it reports is read by the host kernel's accounting, so the
// processes of the instance cannot lie about it, short of owning the host.
//
// Features (docs/SNAPSHOT.md lists them with the other sources'):
//
//	numeric  proc.count          processes in the group
//	         proc.threads        threads, summed over the processes
//	         proc.rss_bytes      resident memory, summed
//	         proc.cpu_seconds    user + system CPU time, summed (USER_HZ = 100)
//	         fd.count            open file descriptors, summed
//	         net.listeners       listening TCP and unconnected UDP sockets
//	         net.connections     TCP connections with a remote end (any state but listen)
//	         net.remote_hosts    distinct remote addresses of those connections
//	         kernel.module_count loaded kernel modules (the host's; absent when the kernel has none)
//	sets     proc.names          process names (comm)
//	         proc.exes           executables (/proc/PID/exe)
//	         net.listen          "tcp:ADDR:PORT" or "udp:ADDR:PORT" of listening sockets
//	         net.remote          "ADDR:PORT" of connected peers
//	         kernel.modules      names of the loaded kernel modules
//
// Sets are sorted and held to snapshot.MaxSetItems items of
// snapshot.MaxItem bytes while they are collected, then cut, the largest
// first, until the snapshot's line fits snapshot.MaxLine, so that the
// server takes every snapshot (fit.go). What a set lost is counted in
// meta.dropped.<set>; files left out (a stat, socket table or modules file
// too long or malformed, each logged with its name) in meta.procfs.skipped.
// Neither is scored (meta.). A name is a number or a set, never both: the
// counts of listeners and modules are named apart from their sets, since
// the unified state keeps one parameter per name.
package procfs

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"imgward/errors"
	"imgward/snapshot"
)

// userHZ is the unit of utime and stime: USER_HZ, 100 on every Linux ABI
// that imgward supports.
const userHZ = 100

// Limits of the files read, against a /proc that answers without end.
const (
	maxStatFile  = 4 << 10
	maxNetFile   = 16 << 20
	maxSmallFile = 1 << 20
	maxFDs       = 1 << 16
)

// Collector takes snapshots of one process group.
type Collector struct {
	Proc     string // the proc file system; "" means /proc
	Instance string // the instance id the snapshots name
	Cgroup   string // a cgroup v2 directory; or
	PID      int    // the root of a process tree
	Now      func() time.Time
	Log      *slog.Logger // where files left out are reported; nil: slog.Default()
}

// Snapshot takes one snapshot of the group. A group with no live process is
// an error of kind NotExist.
func (c *Collector) Snapshot(ctx context.Context) (*snapshot.Snapshot, error) {
	const op = "procfs.Snapshot"
	pids, err := c.members()
	if err != nil {
		return nil, errors.E(op, err)
	}
	g := newGroup()
	for _, pid := range pids {
		if err := ctx.Err(); err != nil {
			return nil, errors.E(op, errors.Unavailable, err)
		}
		// A process that exits between the listing and the read is gone,
		// not an error; one whose files are too long or malformed is left
		// out, so that one odd process does not blind the collector to the
		// rest of the instance.
		if err := g.addProcess(c.proc(), pid); err != nil && !errors.IsErr(err, os.ErrNotExist) {
			g.skip(filepath.Join(c.proc(), strconv.Itoa(pid)), err)
		}
	}
	if g.procs == 0 {
		return nil, errors.E(op, errors.NotExist, errors.Msg("no live process in the group"))
	}
	g.addSockets(c.proc())
	name := filepath.Join(c.proc(), "modules")
	if b, err := readFile(name, maxSmallFile); err == nil {
		g.addModules(name, b)
	} else if !errors.IsErr(err, os.ErrNotExist) {
		g.skip(name, err)
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	s := g.snapshot(c.Instance, now())
	for _, err := range g.skipped {
		c.log().Warn("procfs: a file is left out of the snapshot", "instance", c.Instance, "err", err)
	}
	if err := fit(s); err != nil {
		return nil, errors.E(op, err)
	}
	return s, nil
}

func (c *Collector) log() *slog.Logger {
	if c.Log == nil {
		return slog.Default()
	}
	return c.Log
}

func (c *Collector) proc() string {
	if c.Proc == "" {
		return "/proc"
	}
	return c.Proc
}

// members lists the PIDs of the group.
func (c *Collector) members() ([]int, error) {
	switch {
	case c.Cgroup != "" && c.PID != 0:
		return nil, errors.E(errors.Invalid, errors.Msg("give a cgroup or a PID, not both"))
	case c.Cgroup != "":
		b, err := readFile(filepath.Join(c.Cgroup, "cgroup.procs"), maxSmallFile)
		if err != nil {
			return nil, errors.E(errors.NotExist, errors.Msg("cannot read the cgroup's processes"), err)
		}
		return parsePIDs(b)
	case c.PID > 0:
		return c.tree()
	}
	return nil, errors.E(errors.Invalid, errors.Msg("give a cgroup or a PID"))
}

// tree lists the root PID and its descendants, from the parent PIDs in
// every /proc/PID/stat.
func (c *Collector) tree() ([]int, error) {
	ents, err := os.ReadDir(c.proc())
	if err != nil {
		return nil, errors.E(errors.Unavailable, err)
	}
	children := map[int][]int{}
	found := false
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		b, err := readFile(filepath.Join(c.proc(), e.Name(), "stat"), maxStatFile)
		if err != nil {
			continue // exited, or too long: Snapshot reads it again, and says so
		}
		st, err := parseStat(b)
		if err != nil {
			// Any process of the host is listed here: one odd stat must
			// not blind the collector. If it is in the tree, it and its
			// children are left out.
			c.log().Warn("procfs: a process is left out of the tree", "file", filepath.Join(c.proc(), e.Name(), "stat"), "err", err)
			continue
		}
		children[st.ppid] = append(children[st.ppid], pid)
		found = found || pid == c.PID
	}
	if !found {
		return nil, errors.E(errors.NotExist, errors.Msg("no process "+strconv.Itoa(c.PID)))
	}
	out, queue := []int{}, []int{c.PID}
	for len(queue) > 0 && len(out) < maxPIDs {
		p := queue[0]
		queue = queue[1:]
		out = append(out, p)
		queue = append(queue, children[p]...)
	}
	slices.Sort(out)
	return out, nil
}

// readFile reads at most max bytes of name; a longer file is an error of
// kind TooLarge.
func readFile(name string, max int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, errors.E(errors.TooLarge, errors.Errorf("%s is larger than %d bytes", name, max))
	}
	return b, nil
}
