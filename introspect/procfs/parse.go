package procfs

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"strconv"

	"imgward/errors"
)

// The files of /proc are written by the kernel, but a process names itself
// (comm), and a hostile or buggy /proc (a FUSE mount, a container runtime's
// emulation) may say anything: every parser here takes bounded input,
// checks every field and fails with an error of kind Invalid rather than
// guessing.

// stat is what imgward uses of /proc/PID/stat (proc(5)).
type stat struct {
	pid, ppid    int
	comm         string
	utime, stime uint64 // clock ticks
	threads      int64
	rssPages     int64
	startTime    uint64 // clock ticks after boot: tells a reused PID apart
}

// parseStat parses /proc/PID/stat. comm is in parentheses and may itself
// hold spaces and parentheses, so the fields after it start at the last
// ')'.
func parseStat(b []byte) (stat, error) {
	const op = "procfs.parseStat"
	var s stat
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 1 || end < open {
		return s, errors.E(op, errors.Invalid, errors.New("no (comm)"))
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil || pid <= 0 {
		return s, errors.E(op, errors.Invalid, errors.New("bad pid"))
	}
	s.pid, s.comm = pid, string(b[open+1:end])
	if len(s.comm) > 64 {
		return s, errors.E(op, errors.Invalid, errors.New("comm longer than 64 bytes"))
	}
	// Fields from 3 (state) on; proc(5) numbers them from 1.
	f := bytes.Fields(b[end+1:])
	if len(f) < 22 { // up to field 24, rss
		return s, errors.E(op, errors.Invalid, errors.Errorf("%d fields after comm, want at least 22", len(f)))
	}
	field := func(n int) []byte { return f[n-3] }
	if s.ppid, err = strconv.Atoi(string(field(4))); err != nil || s.ppid < 0 {
		return s, errors.E(op, errors.Invalid, errors.New("bad ppid"))
	}
	var errs [5]error
	s.utime, errs[0] = strconv.ParseUint(string(field(14)), 10, 64)
	s.stime, errs[1] = strconv.ParseUint(string(field(15)), 10, 64)
	s.threads, errs[2] = strconv.ParseInt(string(field(20)), 10, 64)
	s.startTime, errs[3] = strconv.ParseUint(string(field(22)), 10, 64)
	s.rssPages, errs[4] = strconv.ParseInt(string(field(24)), 10, 64)
	for i, e := range errs {
		if e != nil {
			return s, errors.E(op, errors.Invalid, errors.Errorf("bad field %d", []int{14, 15, 20, 22, 24}[i]))
		}
	}
	if s.threads < 0 || s.rssPages < 0 {
		return s, errors.E(op, errors.Invalid, errors.New("negative threads or rss"))
	}
	return s, nil
}

// socket is one line of /proc/net/{tcp,tcp6,udp,udp6}.
type socket struct {
	local, remote netip.AddrPort
	state         uint8 // TCP state (01 established, 0A listen); 07 for an unbound UDP socket
	inode         uint64
}

// The TCP states of include/net/tcp_states.h that imgward tells apart.
const (
	tcpEstablished = 0x01
	tcpListen      = 0x0A
	udpClose       = 0x07 // an unconnected UDP socket: it receives from anyone
)

// maxSockets bounds the lines of one /proc/net table that are parsed.
const maxSockets = 1 << 16

// parseNet parses a /proc/net/{tcp,udp}{,6} table: a header line, then
// "sl: local remote st tx:rx tr:when retrnsmt uid timeout inode ...".
func parseNet(b []byte) ([]socket, error) {
	const op = "procfs.parseNet"
	lines := bytes.Split(b, []byte{'\n'})
	if len(lines) == 0 || !bytes.Contains(lines[0], []byte("local_address")) {
		return nil, errors.E(op, errors.Invalid, errors.New("no header line"))
	}
	var out []socket
	for i, line := range lines[1:] {
		f := bytes.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(out) == maxSockets {
			return nil, errors.E(op, errors.TooLarge, errors.Errorf("more than %d sockets", maxSockets))
		}
		s, ok := parseSocket(f)
		if !ok {
			return nil, errors.E(op, errors.Invalid, errors.Errorf("line %d is not a socket", i+2))
		}
		out = append(out, s)
	}
	return out, nil
}

func parseSocket(f [][]byte) (socket, bool) {
	var s socket
	if len(f) < 10 || !bytes.HasSuffix(f[0], []byte{':'}) {
		return s, false
	}
	var ok1, ok2 bool
	s.local, ok1 = parseAddrPort(f[1])
	s.remote, ok2 = parseAddrPort(f[2])
	st, err1 := strconv.ParseUint(string(f[3]), 16, 8)
	ino, err2 := strconv.ParseUint(string(f[9]), 10, 64)
	s.state, s.inode = uint8(st), ino
	return s, ok1 && ok2 && err1 == nil && err2 == nil
}

// parseAddrPort parses "0100007F:1F90" (IPv4) or 32 hex digits and a port
// (IPv6). The kernel prints the address as 32-bit words in host byte order
// (little-endian on every architecture imgward runs on), the port in
// network order.
func parseAddrPort(b []byte) (netip.AddrPort, bool) {
	i := bytes.IndexByte(b, ':')
	if i < 0 || (i != 8 && i != 32) || len(b)-i-1 != 4 {
		return netip.AddrPort{}, false
	}
	raw := make([]byte, i/2)
	if _, err := hex.Decode(raw, b[:i]); err != nil {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(string(b[i+1:]), 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	for w := 0; w < len(raw); w += 4 { // each word from host (little-endian) to network order
		binary.BigEndian.PutUint32(raw[w:], binary.LittleEndian.Uint32(raw[w:]))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), true
}

// maxModules bounds the modules that parseModules returns.
const maxModules = 4096

// parseModules returns the names of the kernel modules in /proc/modules:
// the first field of each line, [A-Za-z0-9_-].
func parseModules(b []byte) ([]string, error) {
	const op = "procfs.parseModules"
	var out []string
	for i, line := range bytes.Split(b, []byte{'\n'}) {
		f := bytes.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(out) == maxModules {
			return nil, errors.E(op, errors.TooLarge, errors.Errorf("more than %d modules", maxModules))
		}
		if len(f[0]) > 64 || !moduleName(f[0]) {
			return nil, errors.E(op, errors.Invalid, errors.Errorf("line %d: bad module name", i+1))
		}
		out = append(out, string(f[0]))
	}
	return out, nil
}

func moduleName(b []byte) bool {
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return len(b) > 0
}

// maxPIDs bounds the processes of one instance.
const maxPIDs = 4096

// parsePIDs parses cgroup.procs: one positive PID per line.
func parsePIDs(b []byte) ([]int, error) {
	const op = "procfs.parsePIDs"
	var out []int
	for i, line := range bytes.Split(b, []byte{'\n'}) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		pid, err := strconv.Atoi(string(line))
		if err != nil || pid <= 0 {
			return nil, errors.E(op, errors.Invalid, errors.Errorf("line %d is not a PID", i+1))
		}
		if len(out) == maxPIDs {
			return nil, errors.E(op, errors.TooLarge, errors.Errorf("more than %d processes", maxPIDs))
		}
		out = append(out, pid)
	}
	return out, nil
}

// socketInode returns the inode of a /proc/PID/fd link "socket:[12345]".
func socketInode(link string) (uint64, bool) {
	const pre = "socket:["
	if len(link) < len(pre)+2 || link[:len(pre)] != pre || link[len(link)-1] != ']' {
		return 0, false
	}
	n, err := strconv.ParseUint(link[len(pre):len(link)-1], 10, 64)
	return n, err == nil
}
