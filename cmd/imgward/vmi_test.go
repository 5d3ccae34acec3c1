package main

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"imgward/introspect/vmi/vmitest"
)

// bootWebGuests boots benign and backdoored guests of the same web image
// (testdata/*-init.sh) at once, with the dummy network module loaded when
// the host has it, and stops them at the test's end.
func bootWebGuests(t *testing.T, benign, backdoor int) (web, bad []*vmitest.Guest) {
	t.Helper()
	vmitest.CanBoot(t)
	var opts []string
	if m, _ := filepath.Glob("/usr/lib/modules/*-amd64/kernel/drivers/net/dummy.ko"); len(m) > 0 {
		opts = append(opts, "--file", m[len(m)-1])
	}
	var specs []vmitest.Spec
	for i := range benign + backdoor {
		spec := vmitest.Spec{Name: "web", Opts: append([]string{"--init", "testdata/web-init.sh", "--mem", "192M"}, opts...)}
		if i >= benign {
			spec = vmitest.Spec{Name: "backdoor", Opts: append([]string{"--init", "testdata/backdoor-init.sh", "--mem", "192M"}, opts...)}
		}
		specs = append(specs, spec)
	}
	guests := vmitest.StartGuests(t, specs...)
	web, bad = guests[:benign], guests[benign:]
	return web, bad
}

// guestArgs are the flags that point a command at g.
func guestArgs(g *vmitest.Guest) []string {
	return []string{"--qmp", g.QMP, "--mem", g.Mem, "--kernel", g.Kernel}
}

// TestVMIGuests boots the guests of a web image, 5 benign and 3 with a
// backdoor, for the tests below, which share them.
func TestVMIGuests(t *testing.T) {
	web, bad := bootWebGuests(t, 5, 3)
	t.Run("commands", func(t *testing.T) { testVMICommands(t, bad[0]) })
	t.Run("seed", func(t *testing.T) { testVMISeed(t, web, bad) })
}

// testVMICommands runs vmi ps, sockets and modules, and collect vmi --mem,
// on a backdoored guest, in tables and JSON, and their usage errors.
func testVMICommands(t *testing.T, g *vmitest.Guest) {
	cli := func(args ...string) (string, string, int) { return runCLI(t, offline, nil, args...) }
	ok := func(args ...string) string {
		t.Helper()
		out, errOut, code := cli(args...)
		if code != 0 {
			t.Fatalf("imgward %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}

	out := ok(append([]string{"vmi", "ps"}, guestArgs(g)...)...)
	var fake, nc bool
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		fake = fake || (slices.Contains(f, "FAKE") && slices.Contains(f, "kworker/0:3"))
		nc = nc || strings.Contains(line, "nc -ll -p 31337 -e /bin/sh")
	}
	if !fake || !nc || !strings.Contains(out, "[kthreadd]") {
		t.Errorf("vmi ps: the disguised process marked FAKE %v, the listener %v, kthreadd:\n%s", fake, nc, out)
	}
	var ps []vmiProcess
	if err := json.Unmarshal([]byte(ok(append([]string{"vmi", "ps", "--output", "json"}, guestArgs(g)...)...)), &ps); err != nil {
		t.Fatal(err)
	}
	if len(ps) < 40 || ps[0].PID != 1 || ps[0].Name != "init" || ps[0].Kernel {
		t.Errorf("vmi ps --output json: %d processes, the first %+v", len(ps), ps[0])
	}

	var socks []vmiSocket
	if err := json.Unmarshal([]byte(ok(append([]string{"vmi", "sockets", "-o", "json"}, guestArgs(g)...)...)), &socks); err != nil {
		t.Fatal(err)
	}
	var ports []string
	for _, s := range socks {
		if s.State == "LISTEN" {
			ports = append(ports, s.Local)
		}
	}
	slices.Sort(ports)
	if !slices.Equal(ports, []string{"[::]:31337", "[::]:80"}) {
		t.Errorf("vmi sockets: listening on %q, want [::]:31337 and [::]:80", ports)
	}
	if out := ok(append([]string{"vmi", "sockets", "--live"}, "--mem", g.Mem, "--kernel", g.Kernel)...); !strings.Contains(out, "[::]:31337") {
		t.Errorf("vmi sockets --live:\n%s", out)
	}

	if m, _ := filepath.Glob("/usr/lib/modules/*-amd64/kernel/drivers/net/dummy.ko"); len(m) > 0 {
		out := ok(append([]string{"vmi", "modules"}, guestArgs(g)...)...)
		if !strings.Contains(out, "dummy") || !strings.Contains(out, "live") {
			t.Errorf("vmi modules:\n%s", out)
		}
	}

	out = ok(append([]string{"collect", "vmi", "--instance", "i-00000000000000c1", "--once", "--out", "-"}, guestArgs(g)...)...)
	var snap struct {
		Numeric map[string]float64
		Sets    map[string][]string
	}
	if err := json.Unmarshal([]byte(out), &snap); err != nil {
		t.Fatal(err)
	}
	if snap.Numeric["vm.running"] != 1 || snap.Numeric["proc.fake_kthreads"] != 1 ||
		!slices.Contains(snap.Sets["net.listen"], "tcp:[::]:31337") || !slices.Contains(snap.Sets["vm.status"], "running") {
		t.Errorf("collect vmi --mem: numeric %v, sets %v", snap.Numeric, snap.Sets)
	}

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"vmi", "ps", "--qmp", g.QMP, "--mem", g.Mem}, exitUsage, "give both --mem PATH and --kernel VMLINUZ"},
		{[]string{"vmi", "ps", "--mem", g.Mem, "--kernel", g.Kernel}, exitUsage, "--qmp PATH is required"},
		{[]string{"vmi", "ps", "--qmp", g.QMP, "--mem", "/nonexistent", "--kernel", g.Kernel}, exitNotFound, "/nonexistent"},
		{[]string{"vmi", "ps", "--qmp", g.QMP, "--mem", g.Mem, "--kernel", "testdata/web-init.sh"}, exitUsage, "not a vmlinux"},
		{[]string{"collect", "vmi", "--instance", "i-00000000000000c1", "--qmp", g.QMP, "--live", "--once"}, exitUsage, "--live and --machine need --mem"},
		{[]string{"vmi", "ps", "--qmp", g.QMP, "--mem", g.Mem, "--kernel", g.Kernel, "--machine", "virt"}, exitUsage, "want q35 or pc"},
		{[]string{"collect", "vmi", "--instance", "i-00000000000000c1", "--qmp", g.QMP, "--mem", g.Mem, "--once"}, exitUsage, "give both"},
	} {
		_, errOut, code := cli(c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("imgward %s: exit %d, %q; want exit %d and %q", strings.Join(c.args, " "), code, errOut, c.code, c.want)
		}
	}
	// None of the scans left the guest paused.
	if out := ok("collect", "vmi", "--instance", "i-00000000000000c1", "--once", "--out", "-", "--qmp", g.QMP); !strings.Contains(out, `"vm.running":1`) {
		t.Errorf("after the commands: %s", out)
	}
}
