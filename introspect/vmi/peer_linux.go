package vmi

import (
	"net"
	"syscall"

	"imgward/errors"
)

// peerPID returns the PID of the process at the other end of conn, as the
// kernel recorded it when that process called listen(2) (SO_PEERCRED):
// neither the guest nor the peer's bytes choose it. A manager that listens
// and hands the socket to QEMU would be named instead; Snapshot catches
// that by QEMU's vCPU threads, which must be the peer's.
func peerPID(conn *net.UnixConn) (int, error) {
	const op = "vmi.peerPID"
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, errors.E(op, errors.Unavailable, err)
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil {
		return 0, errors.E(op, errors.Unavailable, err)
	}
	if cerr != nil {
		return 0, errors.E(op, errors.Unavailable, cerr)
	}
	if cred.Pid <= 0 {
		// The peer lives in a PID namespace that this one cannot see into.
		return 0, errors.E(op, errors.Permission, errors.Msg("the QMP peer's PID is not visible here: run on the host, in QEMU's PID namespace or above"))
	}
	return int(cred.Pid), nil
}
