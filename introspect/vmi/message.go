package vmi

import (
	"bytes"
	"encoding/json"
	"strconv"

	"imgward/errors"
)

// QEMU writes each QMP message as one line of compact JSON. The peer is
// QEMU, but the socket may be anything that a path names, so every message
// is parsed into typed structs and checked: a message that is not one of
// QMP's four shapes is an error of kind Invalid, never a guess.

// message is any line QEMU writes: the greeting, an event, or the reply
// to a command (a return or an error). Exactly one of the first four
// fields is set.
type message struct {
	QMP    *greeting       `json:"QMP"`
	Event  string          `json:"event"`
	Return json.RawMessage `json:"return"`
	Error  *Error          `json:"error"`
	ID     *uint64         `json:"id"` // echoed from the command
}

// greeting is what QEMU sends first, before capabilities negotiation:
// {"QMP":{"version":{"qemu":{"major":7,...},"package":...},"capabilities":[...]}}.
type greeting struct {
	Version *struct {
		QEMU struct {
			Major int `json:"major"`
			Minor int `json:"minor"`
			Micro int `json:"micro"`
		} `json:"qemu"`
	} `json:"version"`
	Capabilities []string `json:"capabilities"`
}

// Error is a QMP error reply, {"error":{"class":C,"desc":D}}: the command
// reached QEMU and QEMU refused it.
type Error struct {
	Class string `json:"class"` // such as GenericError, CommandNotFound, DeviceNotActive
	Desc  string `json:"desc"`
}

// maxDesc bounds how much of a peer's error text reaches a message.
const maxDesc = 200

func (e *Error) Error() string {
	d := e.Desc
	if len(d) > maxDesc {
		d = d[:maxDesc] + "..."
	}
	return "QMP error " + strconv.Quote(clipString(e.Class, 64)) + ": " + strconv.Quote(d)
}

func clipString(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// kind is the errors.Kind of a QMP error class.
func (e *Error) kind() errors.Kind {
	switch e.Class {
	case "CommandNotFound":
		return errors.Invalid // not the QEMU, or not the QEMU version, that this speaks to
	case "DeviceNotActive", "DeviceNotFound":
		return errors.NotExist
	}
	return errors.Other
}

// parseMessage parses one line of QMP.
func parseMessage(line []byte) (*message, error) {
	const op = "vmi.parseMessage"
	line = bytes.TrimRight(line, "\r\n")
	var m message
	if err := json.Unmarshal(line, &m); err != nil {
		return nil, errors.E(op, errors.Invalid, errors.New("not a JSON object"))
	}
	n := 0
	for _, set := range []bool{m.QMP != nil, m.Event != "", m.Return != nil, m.Error != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errors.E(op, errors.Invalid, errors.New("not a QMP greeting, event or reply"))
	}
	if m.Error != nil && m.Error.Class == "" {
		return nil, errors.E(op, errors.Invalid, errors.New("an error reply without a class"))
	}
	return &m, nil
}

// parseGreeting parses the first line that a QMP server sends.
func parseGreeting(line []byte) (*greeting, error) {
	m, err := parseMessage(line)
	if err == nil && (m.QMP == nil || m.QMP.Version == nil) {
		err = errors.E(errors.Invalid, errors.New("not a QMP greeting"))
	}
	if err != nil {
		return nil, errors.E("vmi.parseGreeting", errors.Invalid, errors.Msg("the socket does not speak QMP"), err)
	}
	return m.QMP, nil
}

// decodeReturn decodes a reply's return value into out, one of the reply
// types below.
func decodeReturn(raw json.RawMessage, out any) error {
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return errors.E("vmi.decodeReturn", errors.Invalid, errors.Errorf("a reply of the wrong shape: %T", out))
	}
	if v, ok := out.(interface{ valid() error }); ok {
		return v.valid()
	}
	return nil
}

// status is the return of query-status.
type status struct {
	Status  string `json:"status"`
	Running bool   `json:"running"`
}

// valid checks that the run state is a name of QEMU's RunState enum
// (lowercase and dashes), as it becomes a set item.
func (s *status) valid() error {
	ok := len(s.Status) > 0 && len(s.Status) <= 32
	for _, c := range []byte(s.Status) {
		ok = ok && (c >= 'a' && c <= 'z' || c == '-')
	}
	if !ok {
		return errors.E("vmi.status", errors.Invalid, errors.Errorf("run state %.40q", s.Status))
	}
	return nil
}

// cpus is the return of query-cpus-fast.
type cpus []struct {
	ThreadID int `json:"thread-id"` // the host thread that runs the vCPU
	CPUIndex int `json:"cpu-index"`
}

// blockStats is the return of query-blockstats: one entry per block
// device, with its node's counters.
type blockStats []struct {
	Device   string `json:"device"` // the -drive id; empty for a -blockdev node
	QDev     string `json:"qdev"`
	NodeName string `json:"node-name"`
	Stats    struct {
		RdBytes uint64 `json:"rd_bytes"`
		WrBytes uint64 `json:"wr_bytes"`
		RdOps   uint64 `json:"rd_operations"`
		WrOps   uint64 `json:"wr_operations"`
		FlushOp uint64 `json:"flush_operations"`
	} `json:"stats"`
}

// balloon is the return of query-balloon.
type balloon struct {
	Actual uint64 `json:"actual"` // bytes of memory the guest has
}
