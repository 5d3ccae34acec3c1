package audit

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"imgward/errors"
)

// A checkpoint directory keeps checkpoints outside the data directory: one
// file per checkpoint, checkpoint.<size>, never rewritten, and the verifier
// key in verifier.key. imgward audit checkpoint --out and serve
// --checkpoint-dir append to it; imgward audit verify --checkpoint reads it.
const (
	checkpointPrefix = "checkpoint."
	verifierKeyFile  = "verifier.key"
)

// SaveCheckpoint appends signed, a checkpoint of size entries, to dir, and
// vkey if dir has no verifier key yet. It refuses a dir whose verifier key
// is another (checkpoints of another log or key) and a checkpoint that
// contradicts the one of the same size already there. It returns the path
// written.
func SaveCheckpoint(dir string, signed []byte, vkey string) (string, error) {
	const op = "audit.SaveCheckpoint"
	c, err := OpenCheckpoint(signed, vkey)
	if err != nil {
		return "", errors.E(op, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", errors.E(op, errors.Invalid, err)
	}
	kp := filepath.Join(dir, verifierKeyFile)
	switch old, err := os.ReadFile(kp); {
	case errors.IsErr(err, os.ErrNotExist):
		if err := writeNew(kp, []byte(strings.TrimSpace(vkey)+"\n")); err != nil {
			return "", errors.E(op, errors.Invalid, err)
		}
	case err != nil:
		return "", errors.E(op, errors.Invalid, err)
	case strings.TrimSpace(string(old)) != strings.TrimSpace(vkey):
		return "", errors.E(op, errors.Conflict, errors.Msg(fmt.Sprintf("%s holds another verifier key: checkpoints of another log or key", kp)))
	}
	p := filepath.Join(dir, checkpointPrefix+strconv.FormatInt(c.Size, 10))
	old, err := os.ReadFile(p)
	switch {
	case err == nil:
		prev, err := OpenCheckpoint(old, vkey)
		if err != nil {
			return "", errors.E(op, errors.Conflict, errors.Msg(p+" does not verify"), err)
		}
		if prev.Root != c.Root {
			return "", errors.E(op, errors.Conflict, errors.Msg(fmt.Sprintf("the log's tree of %d entries differs from %s: the log was rewritten", c.Size, p)))
		}
		return p, nil // the same tree, signed again
	case !errors.IsErr(err, os.ErrNotExist):
		return "", errors.E(op, errors.Invalid, err)
	}
	if err := writeNew(p, signed); err != nil {
		return "", errors.E(op, errors.Invalid, err)
	}
	return p, nil
}

// writeNew creates path with b, mode 0600, and syncs it; it never replaces
// a file.
func writeNew(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LatestCheckpoint returns the largest checkpoint saved in dir, or ok false
// if there is none.
func LatestCheckpoint(dir string) (c Checkpoint, ok bool, err error) {
	cps, err := LoadCheckpoints(dir, "")
	if err != nil || len(cps) == 0 {
		return Checkpoint{}, false, err
	}
	return cps[len(cps)-1], true, nil
}

// LoadCheckpoints reads the checkpoints at path, a checkpoint file or a
// checkpoint directory, smallest first, and checks their signatures with
// vkey, or when vkey is "" with the verifier.key beside them.
func LoadCheckpoints(path, vkey string) ([]Checkpoint, error) {
	const op = "audit.LoadCheckpoints"
	fi, err := os.Stat(path)
	if err != nil {
		return nil, errors.E(op, errors.Invalid, err)
	}
	dir, files := filepath.Dir(path), []string{path}
	if fi.IsDir() {
		dir = path
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, errors.E(op, errors.Invalid, err)
		}
		files = files[:0]
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), checkpointPrefix) {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
	}
	if vkey == "" {
		b, err := readLimited(filepath.Join(dir, verifierKeyFile))
		if err != nil {
			return nil, errors.E(op, errors.Invalid, errors.Msg("no verifier key: give one, or keep verifier.key beside the checkpoints"), err)
		}
		vkey = string(b)
	}
	var cps []Checkpoint
	for _, f := range files {
		b, err := readLimited(f)
		if err != nil {
			return nil, errors.E(op, err)
		}
		c, err := OpenCheckpoint(b, vkey)
		if err != nil {
			return nil, errors.E(op, errors.Msg(f+": "+errors.Message(err)), err)
		}
		cps = append(cps, c)
	}
	sort.Slice(cps, func(i, j int) bool { return cps[i].Size < cps[j].Size })
	return cps, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, errors.E(errors.Invalid, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxCheckpointSize+1))
	if err != nil {
		return nil, errors.E(errors.Invalid, err)
	}
	if len(b) > MaxCheckpointSize {
		return nil, errors.E(errors.TooLarge, errors.Msg(path+": too large for a checkpoint"))
	}
	return b, nil
}
