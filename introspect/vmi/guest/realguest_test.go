package guest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestRealGuests(t *testing.T) {
	t.Run("benign", testBenignGuest)
	t.Run("backdoor", testBackdoorGuest)
	t.Run("hidden", testHiddenGuest)
	t.Run("churn", testChurningGuest)
}

const churnInit = `
for i in 1 2 3; do (while :; do /bin/busybox true; done) & done
sleep 1
`

// testChurningGuest scans, live, a guest whose processes come and go
// hundreds of times a second, so that its lists change while they are
// read: every scan ends, with what it saw and what tore, and none fails.
func testChurningGuest(t *testing.T) {
	t.Parallel()
	g := bootScript(t, "scan-churn", churnInit, false)
	sc, space := attach(t, g)
	torn, scans, first := 0, 0, 0
	pids := map[int]bool{}
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); scans++ {
		time.Sleep(time.Millisecond) // a scan takes ~0.1 ms: let the guest move between scans
		st, err := sc.Scan(context.Background(), space)
		if err != nil {
			t.Fatalf("scan %d of a live guest: %v", scans, err)
		}
		if len(st.Processes) < 40 {
			t.Fatalf("scan %d saw %d processes", scans, len(st.Processes))
		}
		torn += st.Torn
		for _, p := range st.Processes {
			pids[p.PID] = true
		}
		if scans == 0 {
			first = len(pids)
		}
	}
	// A TCG guest on a loaded host forks some tens of times a second.
	if len(pids) < first+10 {
		t.Errorf("%d scans saw %d pids in all: the guest's processes did not churn", scans, len(pids))
	}
	t.Logf("%d live scans, %d pids, %d torn links", scans, len(pids), torn)
}

const benignInit = `
[ -f /files/dummy.ko ] && insmod /files/dummy.ko
mkdir -p /etc /var/lib/misc
touch /var/lib/misc/udhcpd.leases
printf 'interface lo\nstart 127.0.0.2\nend 127.0.0.10\n' >/etc/udhcpd.conf
udhcpd -f /etc/udhcpd.conf >/dev/null 2>&1 &
nc -ll -p 8080 -e /bin/cat &
httpd -p 127.0.0.1:8081 &
sleep 1
sleep 100000 | nc 127.0.0.1 8080 &
sleep 1
echo ===PS; ps -o pid,ppid,user,rss,comm,args
echo ===NETSTAT; netstat -ltun
echo ===CONNECTIONS; netstat -tn
echo ===MODULES; cat /proc/modules
echo ===EXE; for p in /proc/[0-9]*; do e=$(readlink $p/exe) && echo "${p#/proc/} $e"; done
echo ===MAPS; for p in /proc/[0-9]*; do n=$(wc -l <$p/maps) && [ "$n" -gt 0 ] && echo "${p#/proc/} $n"; done
echo ===END
`

// psRow is a line of busybox ps -o pid,ppid,user,rss,comm,args.
type psRow struct {
	pid, ppid, rss int
	comm, args     string
}

func parsePS(t *testing.T, lines []string) []psRow {
	t.Helper()
	var rows []psRow
	if len(lines) < 2 {
		t.Fatalf("no ps output")
	}
	for _, l := range lines[1:] { // the header
		f := strings.Fields(l)
		if len(f) < 6 {
			t.Fatalf("ps line %q", l)
		}
		var r psRow
		r.pid, _ = strconv.Atoi(f[0])
		r.ppid, _ = strconv.Atoi(f[1])
		r.rss, _ = strconv.Atoi(f[3])
		r.comm, r.args = f[4], strings.Join(f[5:], " ")
		rows = append(rows, r)
	}
	return rows
}

// testBenignGuest: the scan's processes, listeners and modules are what
// the guest's own ps, netstat and /proc/modules printed.
func testBenignGuest(t *testing.T) {
	t.Parallel()
	_, version := guestKernel(t)
	var files []string
	dummy := filepath.Join("/usr/lib/modules", version, "kernel/drivers/net/dummy.ko")
	if _, err := os.Stat(dummy); err == nil {
		files = append(files, dummy)
	}
	g := bootScript(t, "scan-benign", benignInit, false, files...)
	st := scanGuest(t, g)
	console := consoleOf(g)
	procs := byPID(st)
	ps := parsePS(t, section(console, "PS"))
	var psPID, payload int
	for _, r := range ps {
		switch {
		case r.comm == "ps":
			psPID = r.pid
		case r.args == "/bin/sh /payload":
			payload = r.pid
		}
	}
	listed := map[int]bool{}
	for _, r := range ps {
		listed[r.pid] = true
		if r.pid == psPID || r.pid == payload {
			continue // gone by the scan
		}
		p, ok := procs[r.pid]
		kernelThread := strings.HasPrefix(r.args, "[")
		switch {
		case !ok && kernelThread && strings.HasPrefix(r.args, "[kworker/"):
			continue // a worker the pool let go since
		case !ok:
			t.Errorf("ps lists %+v; the scan does not", r)
		case kernelThread != p.Kernel:
			t.Errorf("pid %d: ps %q, the scan's kernel thread %v", r.pid, r.args, p.Kernel)
		case kernelThread:
			if !strings.HasPrefix(strings.Trim(r.args, "[]"), p.Comm) {
				t.Errorf("pid %d: ps %q, the scan %q", r.pid, r.args, p.Comm)
			}
		default:
			// ps shows "{comm} args" when comm is not argv[0]'s name, and
			// cuts long lines.
			args := r.args
			if strings.HasPrefix(args, "{") {
				args = args[strings.Index(args, "} ")+2:]
			}
			if p.Comm != r.comm || !strings.HasPrefix(p.Cmdline, args) {
				t.Errorf("pid %d: ps %q %q, the scan %q %q", r.pid, r.comm, r.args, p.Comm, p.Cmdline)
			}
			if r.ppid != payload && p.PPID != r.ppid {
				t.Errorf("pid %d: ps's ppid %d, the scan's %d", r.pid, r.ppid, p.PPID)
			}
			if d := int(p.RSS/1024) - r.rss; d < -64 || d > 64 {
				t.Errorf("pid %d: ps's RSS %d KiB, the scan's %d", r.pid, r.rss, p.RSS/1024)
			}
		}
	}
	for _, p := range st.Processes {
		if p.PID < psPID && !listed[p.PID] {
			t.Errorf("the scan has %+v; ps did not list it", p)
		}
	}
	for _, l := range section(console, "EXE") {
		f := strings.Fields(l)
		pid, _ := strconv.Atoi(f[0])
		if p, ok := procs[pid]; ok && len(f) == 2 && p.Exe != f[1] {
			t.Errorf("pid %d: exe %q, the scan %q", pid, f[1], p.Exe)
		}
	}

	// The VMA maple trees' mappings are those /proc/PID/maps lists.
	maps := 0
	for _, l := range section(console, "MAPS") {
		var pid, n int
		if _, err := fmt.Sscan(l, &pid, &n); err != nil {
			t.Fatalf("maps line %q", l)
		}
		if p, ok := procs[pid]; ok && pid != payload {
			maps++
			if p.Mappings != n {
				t.Errorf("pid %d (%s): %d mappings in /proc/PID/maps, %d in the scan", pid, p.Comm, n, p.Mappings)
			}
		}
	}
	if maps < 5 {
		t.Errorf("only %d processes' mappings compared", maps)
	}

	num, sets := st.Features()
	if got, want := sets["net.listen"], netstatAddrs(t, section(console, "NETSTAT"), true); !reflect.DeepEqual(got, want) || len(want) != 3 {
		t.Errorf("listeners: the scan %q, netstat -ltun %q", got, want)
	}
	if got, want := sets["net.remote"], netstatAddrs(t, section(console, "CONNECTIONS"), false); !reflect.DeepEqual(got, want) || len(want) != 2 {
		t.Errorf("connections' peers: the scan %q, netstat -tn %q", got, want)
	}
	var mods []string
	for _, l := range section(console, "MODULES") {
		if f := strings.Fields(l); len(f) > 0 {
			mods = append(mods, f[0])
		}
	}
	slices.Sort(mods)
	if !reflect.DeepEqual(sets["kernel.modules"], mods) && !(len(mods) == 0 && len(sets["kernel.modules"]) == 0) {
		t.Errorf("modules: the scan %q, /proc/modules %q", sets["kernel.modules"], mods)
	}
	for _, name := range []string{"proc.hidden", "module.hidden", "proc.fake_kthreads", "mem.rwx_regions", "vmi.skipped"} {
		if num[name] != 0 {
			t.Errorf("a benign guest has %s %v", name, num[name])
		}
	}
}

const backdoorInit = `
nc -ll -p 31337 -e /bin/sh &
echo "listener $!"
sh -c 'printf "kworker/0:3" > /proc/$$/comm; while :; do sleep 3600; done' &
echo "disguised $!"
/files/rwx &
echo "injected $!"
sleep 1
`

// testBackdoorGuest: a listener on an unusual port, a process dressed as
// a kernel thread and one running code it wrote into an anonymous
// writable and executable mapping (testdata/rwx, built here) are seen,
// and named. This guest runs with KASLR and 5-level paging.
func testBackdoorGuest(t *testing.T) {
	t.Parallel()
	g := bootScript(t, "scan-backdoor", backdoorInit, true, buildRWX(t))
	st := scanGuest(t, g)
	console := consoleOf(g)
	listener, disguised := consoleValue(t, console, "listener"), consoleValue(t, console, "disguised")
	if p := byPID(st)[consoleValue(t, console, "injected")]; p.RWX != 1 || p.Exe != "/files/rwx" {
		t.Errorf("the process with injected code: %+v, want 1 RWX mapping", p)
	}
	var found bool
	for _, s := range st.Sockets {
		if s.Local.Port() == 31337 {
			found = true
			if s.PID != listener || s.State != "LISTEN" {
				t.Errorf("the backdoor's socket %+v, want LISTEN of pid %d", s, listener)
			}
		}
	}
	if !found {
		t.Errorf("no socket on port 31337 among %v", st.Sockets)
	}
	if p := byPID(st)[disguised]; !p.FakeKthread || p.Comm != "kworker/0:3" || p.Kernel {
		t.Errorf("the disguised process: %+v", p)
	}
	num, sets := st.Features()
	if num["proc.fake_kthreads"] != 1 || num["mem.rwx_regions"] != 1 {
		t.Errorf("proc.fake_kthreads %v, mem.rwx_regions %v, want 1 and 1", num["proc.fake_kthreads"], num["mem.rwx_regions"])
	}
	if !slices.Contains(sets["net.listen"], "tcp:[::]:31337") || !slices.Contains(sets["proc.names"], "kworker/0:3") {
		t.Errorf("net.listen %q, proc.names %q", sets["net.listen"], sets["proc.names"])
	}
}

const hiddenInit = `
sleep 100000 &
echo "hidden $!"
insmod /files/hideproc.ko pid=$!
echo "insmod $?"
sh -c 'while :; do :; done' &
echo "busy $!"
`

// testHiddenGuest: a process that a kernel module unlinks from the task
// list, and the module itself, unlinked from the module list, are
// reported hidden. The module (testdata/hideproc) is built here for the
// guests' kernel, with Debian's linux-headers package.
func testHiddenGuest(t *testing.T) {
	t.Parallel()
	ko := buildHideproc(t)
	g := bootScript(t, "scan-hidden", hiddenInit, false, ko)
	console := consoleOf(g)
	if consoleValue(t, console, "insmod") != 0 {
		t.Fatalf("insmod failed:\n%s", console)
	}
	pid := consoleValue(t, console, "hidden")
	st := scanGuest(t, g)
	p, ok := byPID(st)[pid]
	if !ok || !p.Hidden || p.Comm != "sleep" || p.Cmdline != "sleep 100000" {
		t.Errorf("the hidden process %d: %+v", pid, p)
	}
	var hiddenMods []string
	for _, m := range st.Modules {
		if m.Hidden {
			hiddenMods = append(hiddenMods, m.Name)
		}
	}
	if !reflect.DeepEqual(hiddenMods, []string{"hideproc"}) {
		t.Errorf("hidden modules %q, want hideproc", hiddenMods)
	}
	// A process that never sleeps is on the run queue whenever the guest
	// is paused: the run-queue walk reads the real kernel's.
	if busy := consoleValue(t, console, "busy"); !byPID(st)[busy].Runnable {
		t.Errorf("the busy process %d is not on a run queue: %+v", busy, byPID(st)[busy])
	}
	num, sets := st.Features()
	if num["proc.hidden"] != 1 || num["module.hidden"] != 1 || !slices.Contains(sets["kernel.modules"], "hideproc") {
		t.Errorf("proc.hidden %v, module.hidden %v, kernel.modules %q", num["proc.hidden"], num["module.hidden"], sets["kernel.modules"])
	}
}

// needFiles skips the test (fails it with CI=true) when a file it needs
// to build its guest's programs is missing.
func needFiles(t *testing.T, what string, files ...string) {
	t.Helper()
	for _, f := range files {
		if _, err := os.Stat(f); err != nil {
			msg := what + " (run scripts/test-deps.sh): " + err.Error()
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// buildRWX builds testdata/rwx, a static program without libc.
func buildRWX(t *testing.T) string {
	t.Helper()
	needFiles(t, "building the test program needs gcc", "/usr/bin/gcc")
	out := filepath.Join(t.TempDir(), "rwx")
	b, err := exec.Command("gcc", "-Os", "-static", "-nostdlib", "-fno-stack-protector",
		"-o", out, "testdata/rwx/rwx.c").CombinedOutput()
	if err != nil {
		t.Fatalf("building rwx: %v\n%s", err, b)
	}
	return out
}

// buildHideproc builds testdata/hideproc for the guests' kernel.
func buildHideproc(t *testing.T) string {
	t.Helper()
	_, version := guestKernel(t)
	build := filepath.Join("/lib/modules", version, "build")
	needFiles(t, "building the test module needs linux-headers-"+version+", gcc and make",
		build+"/Makefile", "/usr/bin/gcc", "/usr/bin/make")
	dir := t.TempDir()
	for _, f := range []string{"hideproc.c", "Kbuild"} {
		b, err := os.ReadFile(filepath.Join("testdata/hideproc", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command("make", "-C", build, "M="+dir, "modules").CombinedOutput()
	if err != nil {
		t.Fatalf("building hideproc.ko: %v\n%s", err, out)
	}
	return filepath.Join(dir, "hideproc.ko")
}
