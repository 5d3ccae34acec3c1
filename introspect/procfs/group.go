package procfs

import (
	"imgward"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"imgward/errors"
	"imgward/snapshot"
)

// group accumulates what the processes of one instance hold.
type group struct {
	procs, threads, fds int64
	rss, ticks          int64
	names, exes         itemSet
	inodes              map[uint64]bool // socket inodes the group holds
	netns               map[string]int  // network namespace → a PID in it
	listen, remote      itemSet
	nlisten, nconn      int
	hosts               map[netip.Addr]bool
	modules             *itemSet // nil when the host has no modules file
	skipped             []error  // files left out, each naming its file
}

func newGroup() *group {
	return &group{inodes: map[uint64]bool{}, netns: map[string]int{}, hosts: map[netip.Addr]bool{}}
}

// addProcess reads one process. An error wrapping os.ErrNotExist means it
// exited meanwhile.
func (g *group) addProcess(proc string, pid int) error {
	dir := filepath.Join(proc, strconv.Itoa(pid))
	b, err := readFile(filepath.Join(dir, "stat"), maxStatFile)
	if err != nil {
		return err
	}
	st, err := parseStat(b)
	if err != nil {
		return errors.E(errors.Invalid, errors.Errorf("%s: %w", filepath.Join(dir, "stat"), err))
	}
	g.procs++
	g.threads += st.threads
	g.rss += st.rssPages * int64(os.Getpagesize())
	g.ticks += int64(st.utime + st.stime)
	g.names.add(st.comm)
	// A kernel thread or a process of another user may hide its exe: it is
	// left out rather than failing the snapshot.
	if exe, err := os.Readlink(filepath.Join(dir, "exe")); err == nil {
		g.exes.add(strings.TrimSuffix(exe, " (deleted)"))
	}
	if ns, err := os.Readlink(filepath.Join(dir, "ns", "net")); err == nil {
		if _, ok := g.netns[ns]; !ok {
			g.netns[ns] = pid
		}
	} else if len(g.netns) == 0 {
		g.netns[""] = pid
	}
	return g.addFDs(filepath.Join(dir, "fd"))
}

// addFDs counts a process's descriptors and notes its sockets' inodes.
func (g *group) addFDs(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return nil // not ours to read, or exited: no descriptors seen
	}
	defer f.Close()
	names, err := f.Readdirnames(maxFDs + 1)
	if err != nil && len(names) == 0 {
		return nil
	}
	if len(names) > maxFDs {
		return errors.E(errors.TooLarge, errors.Errorf("%s: more than %d descriptors", dir, maxFDs))
	}
	g.fds += int64(len(names))
	for _, n := range names {
		if link, err := os.Readlink(filepath.Join(dir, n)); err == nil {
			if ino, ok := socketInode(link); ok {
				g.inodes[ino] = true
			}
		}
	}
	return nil
}

// addSockets matches the group's socket inodes with the socket tables of
// each network namespace the group lives in. A table that cannot be read
// or parsed is left out, and noted in g.skipped.
func (g *group) addSockets(proc string) {
	seen := map[uint64]bool{}
	for _, pid := range g.netns {
		for _, proto := range []string{"tcp", "tcp6", "udp", "udp6"} {
			name := filepath.Join(proc, strconv.Itoa(pid), "net", proto)
			b, err := readFile(name, maxNetFile)
			if errors.IsErr(err, os.ErrNotExist) {
				continue // no IPv6, or the process exited
			}
			var socks []socket
			if err == nil {
				socks, err = parseNet(b)
			}
			if err != nil {
				g.skip(name, err)
				continue
			}
			for _, s := range socks {
				if g.inodes[s.inode] && !seen[s.inode] && s.inode != 0 {
					seen[s.inode] = true
					g.addSocket(strings.TrimSuffix(proto, "6"), s)
				}
			}
		}
	}
}

// addModules reads /proc/modules; one that does not parse is left out.
func (g *group) addModules(name string, b []byte) {
	mods, err := parseModules(b)
	if err != nil {
		g.skip(name, err)
		return
	}
	g.modules = &itemSet{}
	for _, m := range mods {
		g.modules.add(m)
	}
}

// skip notes that the file name was left out of the snapshot, and why.
func (g *group) skip(name string, err error) {
	if !strings.Contains(err.Error(), name) {
		err = errors.E(errors.Errorf("%s: %w", name, err))
	}
	g.skipped = append(g.skipped, err)
}

func (g *group) addSocket(proto string, s socket) {
	unconnected := !s.remote.Addr().IsValid() || s.remote.Addr().IsUnspecified()
	switch {
	case proto == "tcp" && s.state == tcpListen, proto == "udp" && unconnected:
		g.nlisten++
		g.listen.add(proto + ":" + s.local.String())
	case !unconnected:
		g.nconn++
		g.remote.add(s.remote.String())
		g.hosts[s.remote.Addr()] = true
	}
}

func (g *group) snapshot(instance string, now time.Time) *snapshot.Snapshot {
	s := &snapshot.Snapshot{
		InstanceID: imgward.InstanceID(instance), TakenAt: now, Source: snapshot.SourceProcfs,
		Numeric: map[string]float64{
			"proc.count":       float64(g.procs),
			"proc.threads":     float64(g.threads),
			"proc.rss_bytes":   float64(g.rss),
			"proc.cpu_seconds": float64(g.ticks) / userHZ,
			"fd.count":         float64(g.fds),
			"net.listeners":    float64(g.nlisten),
			"net.connections":  float64(g.nconn),
			"net.remote_hosts": float64(len(g.hosts)),
		},
		Sets: map[string][]string{},
	}
	sets := map[string]*itemSet{"proc.names": &g.names, "proc.exes": &g.exes, "net.listen": &g.listen, "net.remote": &g.remote}
	if g.modules != nil {
		s.Numeric["kernel.module_count"] = float64(len(g.modules.items) + g.modules.dropped)
		sets["kernel.modules"] = g.modules
	}
	for name, set := range sets {
		s.Sets[name] = set.list()
		if set.dropped > 0 {
			s.Numeric[droppedName(name)] = float64(set.dropped)
		}
	}
	if len(g.skipped) > 0 {
		s.Numeric[imgward.MetaPrefix+"procfs.skipped"] = float64(len(g.skipped))
	}
	return s
}
