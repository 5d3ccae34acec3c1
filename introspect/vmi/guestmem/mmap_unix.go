//go:build unix

package guestmem

import (
	"os"
	"syscall"
)

// mapFile maps size bytes of f read-only and shared, so that the mapping
// sees the guest's writes and the host never copies its RAM.
func mapFile(f *os.File, size uint64) ([]byte, func() error, error) {
	if size != uint64(int(size)) {
		return nil, nil, syscall.EFBIG
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, os.NewSyscallError("mmap", err)
	}
	return b, func() error { return syscall.Munmap(b) }, nil
}
