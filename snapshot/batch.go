package snapshot

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"time"

	"imgward/errors"
)

// Line is one parsed line of a batch: the snapshot and its JSON.
type Line struct {
	N        int // the line number, from 1
	Snapshot *Snapshot
	Raw      []byte
}

// ParseBatch reads an NDJSON batch of at most MaxBatchLines snapshots.
// Blank lines are skipped. The first bad line fails the whole batch with an
// error of kind Invalid whose message starts with "line N: ", so that a
// collector can find it; nothing of a failed batch is to be stored. A read
// error of r (such as a body over its limit) is returned as it is.
func ParseBatch(r io.Reader, now time.Time) ([]Line, error) {
	const op = "snapshot.ParseBatch"
	br := bufio.NewReaderSize(r, 64<<10)
	var lines []Line
	for n := 1; ; n++ {
		raw, err := readLine(br)
		if err == errLong {
			return nil, errors.E(op, errors.Invalid, errors.Msg("line "+strconv.Itoa(n)+": line is over 64 KiB"))
		}
		if err != nil && err != io.EOF {
			return nil, err
		}
		if raw = bytes.TrimSpace(raw); len(raw) > 0 {
			if len(lines) == MaxBatchLines {
				return nil, errors.E(op, errors.Invalid, errors.Msg("a batch holds at most 10000 snapshots"))
			}
			lines = append(lines, Line{N: n, Raw: raw})
		}
		if err == io.EOF {
			break
		}
	}
	if len(lines) == 0 {
		return nil, errors.E(op, errors.Invalid, errors.Msg("the batch holds no snapshot"))
	}
	if err := parseAll(lines, now); err != nil {
		return nil, err
	}
	return lines, nil
}

var errLong = errors.New("line too long")

// readLine reads one line of at most MaxLine bytes (a \r before the \n is
// trimmed with the other white space), returning a copy it owns.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > MaxLine+2 { // room for "\r\n"
			return nil, errLong
		}
		buf = append(buf, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == nil {
			return buf, nil
		}
		return buf, err
	}
}
