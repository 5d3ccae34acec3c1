package vmi

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"imgward/errors"
)

const greetingLine = `{"QMP": {"version": {"qemu": {"micro": 22, "minor": 2, "major": 7}, "package": "Debian"}, "capabilities": ["oob"]}}`

// answers are a fake QMP server's replies: command → lines, in which ID
// stands for the command's id. A command it does not know gets
// CommandNotFound, as from QEMU.
type answers map[string][]string

// healthy answers as a QEMU with two disks and no balloon does; its one
// vCPU thread is the test process's main thread, which is a task of the
// peer (this process) as QEMU's are of QEMU.
func healthy() answers {
	return answers{
		"qmp_capabilities": {`{"return": {}, "id": ID}`},
		"query-status":     {`{"timestamp": {"seconds": 1, "microseconds": 2}, "event": "RESUME"}`, `{"return": {"status": "running", "singlestep": false, "running": true}, "id": ID}`},
		"query-cpus-fast":  {`{"return": [{"thread-id": ` + strconv.Itoa(os.Getpid()) + `, "cpu-index": 0, "qom-path": "/machine/unattached/device[0]"}], "id": ID}`},
		"query-blockstats": {`{"return": [` +
			`{"device": "ide0-hd0", "stats": {"rd_bytes": 1024, "wr_bytes": 4096, "rd_operations": 2, "wr_operations": 1, "flush_operations": 1}},` +
			`{"device": "", "qdev": "/machine/peripheral/disk1", "node-name": "n1", "stats": {"rd_bytes": 512, "wr_bytes": 0, "rd_operations": 1, "wr_operations": 0, "flush_operations": 3}}` +
			`], "id": ID}`},
		"query-balloon": {`{"id": ID, "error": {"class": "DeviceNotActive", "desc": "No balloon device has been activated"}}`},
	}
}

// serveQMP serves one connection at a time on a unix socket: the greeting
// line, then the answers to each command, until a command's answer is
// empty, which closes the connection.
func serveQMP(t *testing.T, greeting string, a answers) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "qmp.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveConn(conn, greeting, a)
		}
	}()
	return sock
}

func serveConn(conn net.Conn, greeting string, a answers) {
	defer conn.Close()
	w := bufio.NewWriter(conn)
	w.WriteString(greeting + "\r\n")
	w.Flush()
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		var req struct {
			Execute string `json:"execute"`
			ID      uint64 `json:"id"`
		}
		json.Unmarshal(sc.Bytes(), &req)
		lines, ok := a[req.Execute]
		if !ok {
			lines = []string{`{"id": ID, "error": {"class": "CommandNotFound", "desc": "The command has not been found"}}`}
		}
		if len(lines) == 0 {
			return
		}
		for _, l := range lines {
			w.WriteString(strings.ReplaceAll(l, "ID", strconv.FormatUint(req.ID, 10)) + "\r\n")
		}
		w.Flush()
	}
}

func TestFakeQMP(t *testing.T) {
	s, err := (&Collector{Socket: serveQMP(t, greetingLine, healthy()), Instance: instance}).Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := s.Numeric
	if n["block.rd_bytes"] != 1536 || n["block.wr_bytes"] != 4096 || n["block.rd_ops"] != 3 || n["block.wr_ops"] != 1 || n["block.flush_ops"] != 4 {
		t.Errorf("block sums: %v", n)
	}
	if _, ok := n["mem.balloon_bytes"]; ok || n["vm.vcpus"] != 1 || n["vm.running"] != 1 {
		t.Errorf("no balloon, one vCPU, running: %v", n)
	}
	if got := s.Sets["block.devices"]; len(got) != 2 || got[0] != "/machine/peripheral/disk1" || got[1] != "ide0-hd0" {
		t.Errorf("block.devices %q", got)
	}
}

// TestFakeQMPErrors runs a fake QMP server that breaks one rule at a time.
func TestFakeQMPErrors(t *testing.T) {
	with := func(command string, lines ...string) answers {
		a := healthy()
		a[command] = lines
		return a
	}
	huge := `{"return": {"status": "running", "running": true, "x": "` + strings.Repeat("a", maxLine) + `"}, "id": ID}`
	for _, tc := range []struct {
		name     string
		greeting string
		answers  answers
		kind     errors.Kind
		msg      string
	}{
		{"garbage", "SSH-2.0-OpenSSH_9.2", healthy(), errors.Invalid, "does not speak QMP"},
		{"json not qmp", `{"hello": "world"}`, healthy(), errors.Invalid, "does not speak QMP"},
		{"two shapes", `{"QMP": {"version": {}}, "event": "STOP"}`, healthy(), errors.Invalid, "does not speak QMP"},
		{"error reply", "", with("query-blockstats", `{"id": ID, "error": {"class": "GenericError", "desc": "boom"}}`), errors.Other, `"GenericError": "boom"`},
		{"quits mid-session", "", with("query-cpus-fast"), errors.NotExist, "QEMU closed the monitor"},
		{"not found", "", answers{"qmp_capabilities": {`{"return": {}, "id": ID}`}}, errors.Invalid, "CommandNotFound"},
		{"oversize line", "", with("query-status", huge), errors.TooLarge, "longer than"},
		{"oversize greeting", strings.Repeat("x", maxLine+1), healthy(), errors.TooLarge, "longer than"},
		{"wrong id", "", with("query-status", `{"return": {"status": "running", "running": true}, "id": 999}`), errors.Invalid, "another command"},
		{"no id", "", with("query-status", `{"return": {"status": "running", "running": true}}`), errors.Invalid, "another command"},
		{"wrong shape", "", with("query-blockstats", `{"return": {"rd_bytes": 1}, "id": ID}`), errors.Invalid, "wrong shape"},
		{"negative counter", "", with("query-blockstats", `{"return": [{"device": "d", "stats": {"rd_bytes": -1}}], "id": ID}`), errors.Invalid, "wrong shape"},
		{"bad status", "", with("query-status", `{"return": {"status": "Running\n", "running": true}, "id": ID}`), errors.Invalid, "run state"},
		{"class-less error", "", with("query-status", `{"id": ID, "error": {"desc": "x"}}`), errors.Invalid, "without a class"},
		{"second greeting", "", with("query-status", greetingLine), errors.Invalid, "second greeting"},
		{"not our vcpus", "", with("query-cpus-fast", `{"return": [{"thread-id": 1, "cpu-index": 0}], "id": ID}`), errors.Invalid, "runs none of the guest's vCPUs"},
		{"endless events", "", with("query-status", slices.Repeat([]string{`{"event": "RTC_CHANGE", "data": {}}`}, maxSkipped+1)...), errors.TooLarge, "events before the reply"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.greeting
			if g == "" {
				g = greetingLine
			}
			c := &Collector{Socket: serveQMP(t, g, tc.answers), Instance: instance}
			s, err := c.Snapshot(context.Background())
			if err == nil || errors.KindOf(err) != tc.kind || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("got %v, %v; want kind %v with %q", s, err, tc.kind, tc.msg)
			}
		})
	}
}

func TestQMPReplyError(t *testing.T) {
	c := &Collector{Socket: serveQMP(t, greetingLine, answers{
		"qmp_capabilities": {`{"return": {}, "id": ID}`},
		"query-status":     {`{"id": ID, "error": {"class": "GenericError", "desc": "` + strings.Repeat("d", 500) + `"}}`},
	}), Instance: instance}
	_, err := c.Snapshot(context.Background())
	var qe *Error
	if !errors.As(err, &qe) || qe.Class != "GenericError" || len(qe.Desc) != 500 {
		t.Fatalf("got %v, want a *vmi.Error", err)
	}
	if len(err.Error()) > 400 {
		t.Errorf("the peer's text is not cut: %d bytes of message", len(err.Error()))
	}
}

func TestDialErrors(t *testing.T) {
	dir := t.TempDir()
	// A socket file that nobody serves any more, as a killed QEMU leaves.
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, nil, 0o600)
	silent := filepath.Join(dir, "silent.sock")
	sl, err := net.Listen("unix", silent)
	if err != nil {
		t.Fatal(err)
	}
	defer sl.Close()
	go func() { // accepts and says nothing
		for {
			c, err := sl.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for _, tc := range []struct {
		socket string
		kind   errors.Kind
	}{
		{filepath.Join(dir, "absent.sock"), errors.NotExist},
		{stale, errors.NotExist},
		{plain, errors.NotExist}, // connect(2) on a file that is no socket: ECONNREFUSED
		{silent, errors.Unavailable},
		{"", errors.Invalid},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := (&Collector{Socket: tc.socket, Instance: instance}).Snapshot(ctx)
		cancel()
		if errors.KindOf(err) != tc.kind {
			t.Errorf("%s: %v, want kind %v", filepath.Base(tc.socket), err, tc.kind)
		}
	}
}
