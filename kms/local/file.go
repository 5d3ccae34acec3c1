package local

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"imgward"
	"imgward/errors"
)

// fileFormat names the layout of the key file.
const fileFormat = "imgward-kms-local-v1"

// maxFileSize bounds the key file: far more than any real key ring.
const maxFileSize = 16 << 20

// file is the key file as JSON. Each key's versions map a version number, in
// decimal, to the 32 bytes of that master key version, in base64.
type file struct {
	Format string             `json:"format"`
	Keys   map[string]fileKey `json:"keys"`
}

type fileKey struct {
	Current  uint32            `json:"current"`
	Versions map[string][]byte `json:"versions"`
}

// create makes a new, empty key file at path, failing if path exists.
func create(path string) error {
	const op = "local.create"
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return errors.E(op, kindOf(err), err)
	}
	err = writeRing(f, ring{})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		os.Remove(path)
		return errors.E(op, errors.Unavailable, err)
	}
	return nil
}

// load reads the key file at path. It refuses a file that is not a regular
// file or that group or others may access in any way.
func load(path string) (ring, error) {
	const op = "local.load"
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.E(op, kindOf(err), err)
	}
	defer f.Close()
	fi, err := f.Stat() // of the open file, not of the name: no race
	if err != nil {
		return nil, errors.E(op, errors.Unavailable, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.E(op, errors.Invalid, errors.Errorf("%s is not a regular file", path))
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, errors.E(op, errors.Permission,
			errors.Errorf("key file %s has mode %#o; it must be 0600 (chmod 600 %s)", path, perm, path))
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, errors.E(op, errors.Unavailable, err)
	}
	if len(data) > maxFileSize {
		return nil, errors.E(op, errors.TooLarge, errors.Errorf("key file %s is over %d bytes", path, maxFileSize))
	}
	r, err := decode(data)
	if err != nil {
		return nil, errors.E(op, errors.Invalid, errors.Errorf("key file %s: %w", path, err))
	}
	return r, nil
}

// decode parses and checks a key file.
func decode(data []byte) (ring, error) {
	var f file
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	if f.Format != fileFormat {
		return nil, errors.Errorf("format %q, want %q", f.Format, fileFormat)
	}
	r := make(ring, len(f.Keys))
	for id, fk := range f.Keys {
		if !imgward.KeyID(id).Valid() {
			return nil, errors.Errorf("malformed key id %q", id)
		}
		m := &master{current: fk.Current, versions: make(map[uint32]*keyVersion, len(fk.Versions))}
		for vs, key := range fk.Versions {
			v, err := strconv.ParseUint(vs, 10, 32)
			if err != nil || v == 0 {
				return nil, errors.Errorf("key %s: bad version %q", id, vs)
			}
			mv, err := newVersion(key)
			if err != nil {
				return nil, errors.Errorf("key %s version %d: %w", id, v, err)
			}
			m.versions[uint32(v)] = mv
		}
		if m.versions[m.current] == nil {
			return nil, errors.Errorf("key %s: current version %d is missing", id, m.current)
		}
		r[imgward.KeyID(id)] = m
	}
	return r, nil
}

// writeRing writes r to f and syncs it.
func writeRing(f *os.File, r ring) error {
	out := file{Format: fileFormat, Keys: make(map[string]fileKey, len(r))}
	for id, m := range r {
		fk := fileKey{Current: m.current, Versions: make(map[string][]byte, len(m.versions))}
		for v, mv := range m.versions {
			fk.Versions[strconv.FormatUint(uint64(v), 10)] = mv.key
		}
		out.Keys[string(id)] = fk
	}
	data, err := json.MarshalIndent(out, "", "\t")
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		return err
	}
	return f.Sync()
}

// save replaces the key file at path with r atomically: it writes a
// temporary file beside it, syncs it, renames it over path and syncs the
// directory, so that a crash leaves either the old ring or the new one.
func save(path string, r ring) error {
	const op = "local.save"
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp") // 0600, O_EXCL
	if err != nil {
		return errors.E(op, errors.Unavailable, err)
	}
	tmp := f.Name()
	err = writeRing(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return errors.E(op, errors.Unavailable, err)
	}
	if err := syncDir(dir); err != nil {
		return errors.E(op, errors.Unavailable, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
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
