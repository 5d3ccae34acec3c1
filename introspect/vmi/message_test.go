package vmi

import (
	"os"
	"path/filepath"
	"testing"

	"imgward/errors"
)

// captured returns the lines captured from QEMU in testdata, by file name.
func captured(t testing.TB) map[string][]byte {
	names, _ := filepath.Glob(filepath.Join("testdata", "*.txt"))
	out := map[string][]byte{}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(n)] = b
	}
	if len(out) < 7 {
		t.Fatalf("%d captured lines in testdata, want 7", len(out))
	}
	return out
}

// TestCaptured decodes the lines captured from QEMU 7.2 (an x86_64 q35
// machine, two vCPUs, one virtio disk, a balloon) to known answers.
func TestCaptured(t *testing.T) {
	lines := captured(t)
	sample := func(_ *testing.T, name string) []byte { return lines[name] }
	g, err := parseGreeting(sample(t, "greeting.txt"))
	if err != nil || g.Version.QEMU.Major != 7 || g.Version.QEMU.Minor != 2 {
		t.Errorf("greeting: %+v, %v", g, err)
	}
	reply := func(name string, out any) {
		t.Helper()
		m, err := parseMessage(sample(t, name))
		if err != nil || m.ID == nil || m.Return == nil {
			t.Fatalf("%s: %+v, %v", name, m, err)
		}
		if err := decodeReturn(m.Return, out); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var v view
	var b balloon
	reply("status.txt", &v.status)
	reply("cpus.txt", &v.cpus)
	reply("blockstats.txt", &v.blocks)
	reply("balloon.txt", &b)
	if v.status != (status{Status: "running", Running: true}) || len(v.cpus) != 2 || v.cpus[1].CPUIndex != 1 || v.cpus[0].ThreadID <= 0 {
		t.Errorf("status %+v, cpus %+v", v.status, v.cpus)
	}
	if len(v.blocks) != 1 || v.blocks[0].Device != "virtio0" || v.blocks[0].Stats.RdBytes != 512 || v.blocks[0].Stats.RdOps != 1 {
		t.Errorf("blockstats %+v", v.blocks)
	}
	if b.Actual != 64<<20 {
		t.Errorf("balloon %d", b.Actual)
	}
	m, err := parseMessage(sample(t, "error.txt"))
	if err != nil || m.Error == nil || m.Error.Class != "CommandNotFound" || m.Error.kind() != errors.Invalid {
		t.Errorf("error reply: %+v, %v", m, err)
	}
	m, err = parseMessage(sample(t, "event.txt"))
	if err != nil || m.Event != "STOP" {
		t.Errorf("event: %+v, %v", m, err)
	}
	for _, bad := range []string{"", "{}", "null", "[]", `{"return": {}, "event": "STOP"}`, `{"QMP": {}}`, `"QMP"`, "{\"return\": {}}\n{}"} {
		if _, err := parseGreeting([]byte(bad)); errors.KindOf(err) != errors.Invalid {
			t.Errorf("parseGreeting(%q) = %v, want Invalid", bad, err)
		}
	}
}
