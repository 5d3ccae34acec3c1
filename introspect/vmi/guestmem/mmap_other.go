//go:build !unix

package guestmem

import (
	"os"

	"imgward/errors"
)

func mapFile(f *os.File, size uint64) ([]byte, func() error, error) {
	return nil, nil, errors.New("mapping a guest's RAM needs a unix host")
}
