package local

import (
	"encoding/json"
	"strconv"

	"imgward"
	"imgward/errors"
	"imgward/internal/securefile"
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
	data, err := encode(ring{})
	if err != nil {
		return errors.E("local.create", errors.Internal, err)
	}
	if err := securefile.Create(path, data); err != nil {
		return errors.E("local.create", err)
	}
	return nil
}

// load reads the key file at path. It refuses a file that is not a regular
// file or that group or others may access in any way.
func load(path string) (ring, error) {
	const op = "local.load"
	data, err := securefile.Read(path, maxFileSize)
	if err != nil {
		return nil, errors.E(op, err)
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

// encode lays r out as the key file.
func encode(r ring) ([]byte, error) {
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
		return nil, err
	}
	return append(data, '\n'), nil
}

// save replaces the key file at path with r atomically, so that a crash
// leaves either the old ring or the new one.
func save(path string, r ring) error {
	data, err := encode(r)
	if err != nil {
		return errors.E("local.save", errors.Internal, err)
	}
	if err := securefile.Replace(path, data); err != nil {
		return errors.E("local.save", err)
	}
	return nil
}
