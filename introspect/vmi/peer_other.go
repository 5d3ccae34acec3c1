//go:build !linux

package vmi

import (
	"net"

	"imgward/errors"
)

// peerPID needs SO_PEERCRED, which only Linux has among imgward's hosts.
func peerPID(*net.UnixConn) (int, error) {
	return 0, errors.E("vmi.peerPID", errors.Unavailable, errors.Msg("introspect/vmi runs on Linux hosts only"))
}
