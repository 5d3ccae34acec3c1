// Package securefile reads and writes files that hold secrets: key files
// and tokens. They are created with mode 0600 and never read if group or
// others may access them; a write is atomic and synced, so that a crash
// leaves either the old content or the new one, never a torn file.
package securefile

import (
	"io"
	"os"
	"path/filepath"

	"imgward/errors"
)

// Create writes data to a new file at path, mode 0600, failing with kind
// Exist if path exists. The file and its directory are synced.
func Create(path string, data []byte) error {
	const op = "securefile.Create"
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return errors.E(op, kindOf(err), err)
	}
	err = writeSync(f, data)
	if err == nil {
		err = SyncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(path)
		return errors.E(op, errors.Unavailable, err)
	}
	return nil
}

// Replace writes data to path atomically: a temporary file of mode 0600
// beside it, synced, renamed over path, and the directory synced.
func Replace(path string, data []byte) error {
	const op = "securefile.Replace"
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp") // 0600, O_EXCL
	if err != nil {
		// The file itself is fine; its directory cannot take a write.
		return errors.E(op, errors.Unavailable, err)
	}
	err = writeSync(f, data)
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err == nil {
		err = SyncDir(dir)
	}
	if err != nil {
		os.Remove(f.Name())
		return errors.E(op, errors.Unavailable, err)
	}
	return nil
}

// Read reads the file at path, at most max bytes. It refuses, with kind
// Permission, a file that group or others may access in any way, and with
// kind Invalid one that is not a regular file; the checks are made on the
// open file, so that the name cannot be swapped in between.
func Read(path string, max int64) ([]byte, error) {
	const op = "securefile.Read"
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.E(op, kindOf(err), err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, errors.E(op, errors.Unavailable, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.E(op, errors.Invalid, errors.Errorf("%s is not a regular file", path))
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, errors.E(op, errors.Permission,
			errors.Errorf("%s has mode %#o; it must be 0600 (chmod 600 %s)", path, perm, path))
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, errors.E(op, errors.Unavailable, err)
	}
	if int64(len(data)) > max {
		return nil, errors.E(op, errors.TooLarge, errors.Errorf("%s is over %d bytes", path, max))
	}
	return data, nil
}

// SyncDir syncs a directory, so that a file created or renamed in it
// survives a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// writeSync writes data to f, syncs and closes it.
func writeSync(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func kindOf(err error) errors.Kind {
	switch {
	case errors.IsErr(err, os.ErrNotExist):
		return errors.NotExist
	case errors.IsErr(err, os.ErrExist):
		return errors.Exist
	case errors.IsErr(err, os.ErrPermission):
		return errors.Permission
	}
	return errors.Unavailable
}
