package guest

import (
	"encoding/binary"
	"net/netip"
)

// Address families, socket types and protocols (include/linux/socket.h,
// include/uapi/linux/in.h) that the scan decodes.
const (
	afInet     = 2
	afInet6    = 10
	sockStream = 1
	sockDgram  = 2
	ipprotoTCP = 6
	ipprotoUDP = 17
	tcpListen  = 10
	tcpClose   = 7
)

// tcpStates names include/net/tcp_states.h's states, as ss(8) does.
var tcpStates = [...]string{1: "ESTABLISHED", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
	"TIME-WAIT", "CLOSE", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING", "NEW-SYN-RECV"}

// fdChunk is how many file pointers of an fd table are read at once.
const fdChunk = 256

// readFiles finds the sockets among the open files of a process's file
// table files: files whose f_op is socket_file_ops, whose private_data is
// the struct socket.
func (s *scan) readFiles(p *Process, files uint64, seen map[uint64]bool) {
	l := s.l
	fdt, ok := s.r.ptr(files + l.filesFdt)
	if !ok || fdt == 0 {
		s.skip("fd table")
		return
	}
	max, ok1 := s.r.u64(fdt + l.fdtMax)
	fd, ok2 := s.r.ptr(fdt + l.fdtFd)
	if !ok1 || !ok2 || fd == 0 {
		s.skip("fd table")
		return
	}
	n := int(max & 0xffffffff)
	if s.fdBuf == nil {
		s.fdBuf = make([]byte, fdChunk*8)
	}
	buf := s.fdBuf
	for i := 0; i < n; i += fdChunk {
		if s.fds >= s.lim.FDs {
			s.truncated("open files: limit")
			return
		}
		k := min(fdChunk, n-i, s.lim.FDs-s.fds)
		s.fds += k
		if s.r.mem.ReadKernel(fd+uint64(i)*8, buf[:k*8]) != nil {
			s.skip("fd table")
			return
		}
		for j := range k {
			if f := binary.LittleEndian.Uint64(buf[j*8:]); f != 0 {
				p.FDs++
				s.readFile(p, f, seen)
			}
		}
	}
}

func (s *scan) readFile(p *Process, file uint64, seen map[uint64]bool) {
	l := s.l
	if !isKernelPtr(file) {
		s.skip("open file")
		return
	}
	op, ok := s.r.u64(file + l.fileOp)
	if !ok {
		s.skip("open file")
		return
	}
	if op != l.socketFileOps {
		return
	}
	sock, ok1 := s.r.ptr(file + l.filePriv)
	sk, ok2 := s.r.ptr(sock + l.socketSk)
	if !ok1 || !ok2 || sock == 0 || sk == 0 {
		return // a socket being set up or torn down has no sock
	}
	if seen[sk] {
		return
	}
	seen[sk] = true
	v, ok := s.r.obj(&s.sockBuf, sk, l.skSpan)
	if !ok {
		s.skip("socket")
		return
	}
	if so, ok := s.decodeSock(v); ok {
		so.PID = p.PID
		s.st.Sockets = append(s.st.Sockets, so)
	}
}

// decodeSock decodes an IPv4 or IPv6 TCP or UDP sock; false for other
// families and protocols, and for sockets that /proc/net's tables would
// not list either (TCP's closed, UDP's unbound).
func (s *scan) decodeSock(v view) (Socket, bool) {
	l := s.l
	var so Socket
	state := v.u8(l.skState)
	switch typ, proto := v.u16(l.skType), v.u16(l.skProto); {
	case typ == sockStream && proto == ipprotoTCP:
		if state == tcpClose || int(state) >= len(tcpStates) || state == 0 {
			return so, false
		}
		so.Proto, so.State = "tcp", tcpStates[state]
	case typ == sockDgram && proto == ipprotoUDP:
		so.Proto, so.State = "udp", "UNCONN"
		if state == 1 {
			so.State = "ESTABLISHED"
		}
	default:
		return so, false
	}
	var local, remote netip.Addr
	switch v.u16(l.skFamily) {
	case afInet:
		local = netip.AddrFrom4([4]byte(v.bytes(l.skSaddr, 4)))
		remote = netip.AddrFrom4([4]byte(v.bytes(l.skDaddr, 4)))
	case afInet6:
		local = netip.AddrFrom16([16]byte(v.bytes(l.skV6Saddr, 16))).Unmap()
		remote = netip.AddrFrom16([16]byte(v.bytes(l.skV6Daddr, 16))).Unmap()
	default:
		return so, false
	}
	port := v.u16(l.skNum)
	if port == 0 {
		return so, false // not bound: in no table
	}
	so.Local = netip.AddrPortFrom(local, port)
	so.Remote = netip.AddrPortFrom(remote, binary.BigEndian.Uint16(v.bytes(l.skDport, 2)))
	return so, true
}
