package guest

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"imgward/errors"
	"imgward/snapshot"
)

var (
	ap = netip.MustParseAddrPort
	// Flags of a VMA: read, write, exec.
	rw, rx, rwx = uint64(1 | vmWrite), uint64(1 | vmExec), uint64(1 | vmWrite | vmExec)
)

// sampleGuest is a small guest with one of everything a scan reports.
func sampleGuest() *image {
	im := newImage(8 << 20)
	im.addTask(taskSpec{pid: 1, comm: "init", argv: []string{"/sbin/init"}, exe: []string{"bin", "busybox"},
		rss: [mmCounters]int64{100, 50, 7, 2}})
	im.addTask(taskSpec{pid: 2, comm: "kthreadd", kthread: true})
	im.addTask(taskSpec{pid: 3, ppid: 2, comm: "kworker/0:1", kthread: true})
	im.addTask(taskSpec{pid: 10, ppid: 1, comm: "sshd", uid: 0, threads: 3,
		argv: []string{"/usr/sbin/sshd", "-D"}, exe: []string{"usr", "sbin", "sshd"},
		rss: [mmCounters]int64{10, -3, 0, 0},
		socks: []sockSpec{
			{family: afInet, typ: sockStream, proto: ipprotoTCP, state: tcpListen, local: ap("0.0.0.0:22")},
			{family: afInet6, typ: sockStream, proto: ipprotoTCP, state: tcpListen, local: ap("[::]:22")},
			{family: afInet, typ: sockStream, proto: ipprotoTCP, state: 1, local: ap("10.0.0.2:22"), remote: ap("10.0.0.9:5555")},
			{family: afInet6, typ: sockStream, proto: ipprotoTCP, state: 1, local: ap("[::ffff:10.0.0.2]:22"), remote: ap("[::ffff:10.0.0.7]:6000")},
			{family: afInet, typ: sockDgram, proto: ipprotoUDP, state: tcpClose, local: ap("0.0.0.0:68")},
			{family: afInet, typ: sockDgram, proto: ipprotoUDP, state: tcpClose, local: ap("0.0.0.0:0")},
			{family: 1, typ: sockStream, state: 1},
			{family: afInet, typ: sockStream, proto: ipprotoTCP, state: tcpClose, local: ap("0.0.0.0:9")},
		}})
	im.addTask(taskSpec{pid: 20, ppid: 1, comm: "kworker/0:2", uid: 1000, argv: []string{"kworker/0:2"},
		exe: []string{"tmp", "x"}, deleted: true,
		socks: []sockSpec{{family: afInet, typ: sockStream, proto: ipprotoTCP, state: tcpListen, local: ap("0.0.0.0:31337")}},
		vmas: []vmaSpec{
			{start: 0x400000, end: 0x401000, flags: rx, file: true},
			{start: 0x600000, end: 0x602000, flags: rwx},
			{start: 0x700000, end: 0x701000, flags: rwx, file: true},
			{start: 0x800000, end: 0x810000, flags: rw},
		}})
	im.addTask(taskSpec{pid: 21, ppid: 1, comm: "sh", argv: []string{"[kthreadd]"}, exe: []string{"bin", "busybox"}})
	im.addTask(taskSpec{pid: 30, ppid: 1, comm: "evil", argv: []string{"./evil"}, exe: []string{"root", "evil"}, hidden: true})
	im.addTask(taskSpec{pid: 40, ppid: 1, comm: "defunct", zombie: true})
	var many []vmaSpec
	for i := range uint64(20) {
		f := rw
		if i%7 == 3 {
			f = rwx
		}
		many = append(many, vmaSpec{start: 0x10000000 + i*0x10000, end: 0x10000000 + i*0x10000 + 0x1000, flags: f})
	}
	im.addTask(taskSpec{pid: 50, ppid: 1, comm: "java", argv: []string{"java", "-jar", "app.jar"},
		exe: []string{"usr", "bin", "java"}, vmas: many})
	im.addModule("e1000", 0x20000, false)
	im.addModule("rootkit", 0x3000, true)
	im.addModule("virtio_net", 0x8000, false)
	im.addBuiltinKobject()
	return im.finish()
}

func scanImage(t testing.TB, im *image) *State {
	t.Helper()
	sc, err := NewScanner(im.k)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sc.Scan(context.Background(), im)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestScanProcesses(t *testing.T) {
	st := scanImage(t, sampleGuest())
	type row struct {
		PID, PPID     int
		UID           uint32
		Comm, Cmdline string
		Exe           string
		Threads       int
		RSS           uint64
		Kernel        bool
		Maps, RWX     int
		Hidden, Fake  bool
	}
	var got []row
	for _, p := range st.Processes {
		got = append(got, row{p.PID, p.PPID, p.UID, p.Comm, p.Cmdline, p.Exe, p.Threads, p.RSS, p.Kernel, p.Mappings, p.RWX, p.Hidden, p.FakeKthread})
	}
	want := []row{
		{1, 0, 0, "init", "/sbin/init", "/bin/busybox", 1, (100 + 50 + 2) * 4096, false, 0, 0, false, false},
		{2, 0, 0, "kthreadd", "", "", 1, 0, true, 0, 0, false, false},
		{3, 2, 0, "kworker/0:1", "", "", 1, 0, true, 0, 0, false, false},
		{10, 1, 0, "sshd", "/usr/sbin/sshd -D", "/usr/sbin/sshd", 3, 10 * 4096, false, 0, 0, false, false},
		{20, 1, 1000, "kworker/0:2", "kworker/0:2", "/tmp/x (deleted)", 1, 0, false, 4, 1, false, true},
		{21, 1, 0, "sh", "[kthreadd]", "/bin/busybox", 1, 0, false, 0, 0, false, true},
		{40, 1, 0, "defunct", "", "", 1, 0, false, 0, 0, false, false},
		{50, 1, 0, "java", "java -jar app.jar", "/usr/bin/java", 1, 0, false, 20, 3, false, false},
		{30, 1, 0, "evil", "./evil", "/root/evil", 1, 0, false, 0, 0, true, false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("processes:\n got %+v\nwant %+v", got, want)
	}
	if st.Skipped != 0 || st.Torn != 0 || len(st.Truncated) != 0 {
		t.Errorf("skipped %d, torn %d, truncated %q of a sound image", st.Skipped, st.Torn, st.Truncated)
	}
	if st.Processes[1].Start != 2e6 {
		t.Errorf("start time %v", st.Processes[1].Start)
	}
}

func TestScanSocketsAndModules(t *testing.T) {
	st := scanImage(t, sampleGuest())
	want := []Socket{
		{"tcp", ap("0.0.0.0:22"), ap("0.0.0.0:0"), "LISTEN", 10},
		{"tcp", ap("[::]:22"), ap("[::]:0"), "LISTEN", 10},
		{"tcp", ap("10.0.0.2:22"), ap("10.0.0.9:5555"), "ESTABLISHED", 10},
		{"tcp", ap("10.0.0.2:22"), ap("10.0.0.7:6000"), "ESTABLISHED", 10},
		{"udp", ap("0.0.0.0:68"), ap("0.0.0.0:0"), "UNCONN", 10},
		{"tcp", ap("0.0.0.0:31337"), ap("0.0.0.0:0"), "LISTEN", 20},
	}
	if !reflect.DeepEqual(st.Sockets, want) {
		t.Errorf("sockets:\n got %v\nwant %v", st.Sockets, want)
	}
	wantMods := []Module{{"e1000", 0x20000, "live", false}, {"virtio_net", 0x8000, "live", false}, {"rootkit", 0x3000, "live", true}}
	if !reflect.DeepEqual(st.Modules, wantMods) {
		t.Errorf("modules:\n got %v\nwant %v", st.Modules, wantMods)
	}
}

func TestFeatures(t *testing.T) {
	num, sets := scanImage(t, sampleGuest()).Features()
	wantNum := map[string]float64{
		"proc.count": 6, "proc.threads": 8, "proc.rss_bytes": (152 + 10) * 4096, "proc.kthreads": 1,
		"fd.count": 11, "net.listeners": 4, "net.connections": 2, "net.remote_hosts": 2, "kernel.module_count": 3, "mem.rwx_regions": 4, "proc.hidden": 1,
		"module.hidden": 1, "proc.fake_kthreads": 2, "vmi.skipped": 0, "vmi.clipped_items": 0,
	}
	if !reflect.DeepEqual(num, wantNum) {
		t.Errorf("numeric:\n got %v\nwant %v", num, wantNum)
	}
	wantSets := map[string][]string{
		"proc.names":     {"evil", "init", "java", "kworker/0:2", "sh", "sshd"},
		"proc.exes":      {"/bin/busybox", "/root/evil", "/tmp/x (deleted)", "/usr/bin/java", "/usr/sbin/sshd"},
		"net.listen":     {"tcp:0.0.0.0:22", "tcp:0.0.0.0:31337", "tcp:[::]:22", "udp:0.0.0.0:68"},
		"net.remote":     {"10.0.0.7:6000", "10.0.0.9:5555"},
		"kernel.modules": {"e1000", "rootkit", "virtio_net"},
	}
	if !reflect.DeepEqual(sets, wantSets) {
		t.Errorf("sets:\n got %v\nwant %v", sets, wantSets)
	}
	for name := range sets {
		if _, ok := num[name]; ok {
			t.Errorf("%s is both a number and a set", name)
		}
	}
}

func TestNewScannerNamesWhatIsMissing(t *testing.T) {
	k := newFakeKernel()
	delete(k.off, "task_struct.pid_links")
	delete(k.off, "sock.sk_protocol")
	_, err := NewScanner(k)
	if !errors.Is(errors.NotExist, err) {
		t.Fatalf("err %v, want kind NotExist", err)
	}
	for _, name := range []string{"task_struct.pid_links", "sock.sk_protocol", "symbol init_task"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	k = sampleGuest().k
	k.off["maple_range_64.pivot"] = 0x1000 // past the node
	if _, err := NewScanner(k); err == nil || !strings.Contains(err.Error(), "maple") {
		t.Errorf("pivots past the node's end: err %v", err)
	}
	k = sampleGuest().k
	k.off["task_struct.comm"] = 1 << 20
	if _, err := NewScanner(k); err == nil || !strings.Contains(err.Error(), "task_struct.comm") {
		t.Errorf("an implausible offset: err %v", err)
	}
}

func TestScanRSSPercpu(t *testing.T) {
	// Linux 6.2 and later: struct percpu_counter rss_stat[4], whose count
	// is at 8 in a 40-byte counter (here).
	im := newImage(1 << 20)
	k := im.k
	delete(k.off, "mm_struct.rss_stat.count")
	k.off["mm_struct.rss_stat"], k.off["percpu_counter.count"], k.size["percpu_counter"] = 0x50, 8, 40
	task := im.addTask(taskSpec{pid: 1, comm: "init"})
	mm := im.get(task + im.o("task_struct", "mm"))
	for i, n := range []uint64{3, 4, 5, 6} {
		im.put(mm+0x50+40*uint64(i)+8, n)
	}
	st := scanImage(t, im.finish())
	if got := st.Processes[0].RSS; got != (3+4+6)*4096 {
		t.Errorf("RSS %d", got)
	}
}

func TestScanNotThisKernel(t *testing.T) {
	im := sampleGuest()
	im.k.sym["init_task"] = kbase + 1<<40
	sc, err := NewScanner(im.k)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Scan(context.Background(), im); !errors.Is(errors.Invalid, err) {
		t.Errorf("err %v, want Invalid", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	im = sampleGuest()
	if sc, err = NewScanner(im.k); err != nil {
		t.Fatal(err)
	}
	if _, err := sc.Scan(ctx, im); !errors.Is(errors.Unavailable, err) {
		t.Errorf("a cancelled scan: err %v, want Unavailable", err)
	}
}

func TestDigitless(t *testing.T) {
	for in, want := range map[string]string{"kworker/0:12H": "kworker/#:#H", "": "", "a1b22": "a#b#"} {
		if got := digitless(in); got != want {
			t.Errorf("digitless(%q) = %q, want %q", in, got, want)
		}
	}
	if !slices.Contains(kthreadPrefixes, "kworker/") {
		t.Error("kworker/ is not a kernel thread prefix")
	}
}

func TestScanRunqueues(t *testing.T) {
	im := sampleGuest()
	idle := im.addTask(taskSpec{pid: 0, comm: "swapper/1", kthread: true, unlisted: true})
	im.field(idle, "task_struct", "flags", pfKthread|pfIdle)
	ghost := im.addTask(taskSpec{pid: 60, ppid: 1, comm: "ghost", argv: []string{"ghost"}, unlisted: true})
	im.runqueues([]uint64{im.tasksByPID[10], idle},
		[][]uint64{nil, {im.tasksByPID[1], ghost, im.tasksByPID[30]}})
	st := scanImage(t, im)
	var hidden []string
	for _, p := range st.Processes {
		if p.Hidden {
			hidden = append(hidden, p.Comm)
		}
	}
	if !reflect.DeepEqual(hidden, []string{"evil", "ghost"}) || st.Skipped != 0 {
		t.Errorf("hidden %q, skipped %d; want evil (from the PID table) and ghost (from a run queue)", hidden, st.Skipped)
	}
	var runnable []int
	for _, p := range st.Processes {
		if p.Runnable {
			runnable = append(runnable, p.PID)
		}
	}
	if !reflect.DeepEqual(runnable, []int{1, 10, 30, 60}) {
		t.Errorf("runnable %v, want 1, 10, 30 and 60", runnable)
	}
	// A kernel without the run-queue symbols is scanned without them.
	delete(im.k.sym, "runqueues")
	if st := scanImage(t, im); len(st.Processes) != 9 {
		t.Errorf("%d processes without run queues, want 9", len(st.Processes))
	}
}

// A guest names its processes, paths and modules as it likes: what the
// scan reports is valid UTF-8 all the same, so that a snapshot is never
// refused for it.
func TestScanInvalidUTF8(t *testing.T) {
	im := newImage(1 << 20)
	im.addTask(taskSpec{pid: 1, comm: "a\xff\xfeb", argv: []string{"x\xc3"}, exe: []string{"bin", "\xffsh"}})
	im.addModule("m\xff", 4096, false)
	st := scanImage(t, im.finish())
	_, sets := st.Features()
	for name, items := range sets {
		for _, it := range items {
			if !utf8.ValidString(it) {
				t.Errorf("%s: %q is not valid UTF-8", name, it)
			}
		}
	}
	if p := st.Processes[0]; !utf8.ValidString(p.Cmdline) || p.Comm != "a\uFFFDb" {
		t.Errorf("comm %q, cmdline %q", p.Comm, p.Cmdline)
	}
}

// A guest whose thousands of processes have long, distinct names and
// paths still makes a snapshot that fits its line, and says how much it
// left out.
func TestFeaturesFitTheLine(t *testing.T) {
	im := newImage(64 << 20)
	long := strings.Repeat("x", 200)
	for i := range 2000 {
		im.addTask(taskSpec{pid: 100 + i, comm: fmt.Sprintf("p%014d", i), argv: []string{"p"},
			exe: []string{long, fmt.Sprintf("%s\"%d", long, i)}})
	}
	num, sets := scanImage(t, im.finish()).Features()
	s := &snapshot.Snapshot{InstanceID: "i-0123456789abcdef", TakenAt: time.Now(), Source: snapshot.SourceVMI, Numeric: num, Sets: sets}
	line, err := snapshot.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(line) > snapshot.MaxLine-14<<10 {
		t.Errorf("a line of %d bytes leaves the hypervisor's features too little room", len(line))
	}
	if num["proc.count"] != 2000 || num["vmi.clipped_items"] < 2000 || len(sets["proc.exes"]) == 0 {
		t.Errorf("proc.count %v, clipped %v, %d exes kept", num["proc.count"], num["vmi.clipped_items"], len(sets["proc.exes"]))
	}
}

// A thread with a file table of its own (clone without CLONE_FILES) is in
// the PID table only; its sockets are its process's all the same.
func TestScanThreadFiles(t *testing.T) {
	im := newImage(1 << 20)
	im.addTask(taskSpec{pid: 1, comm: "init", argv: []string{"init"}})
	im.addTask(taskSpec{pid: 7, ppid: 1, comm: "app", argv: []string{"app"}, threads: 2,
		socks: []sockSpec{{family: afInet, typ: sockStream, proto: ipprotoTCP, state: tcpListen, local: ap("0.0.0.0:80")}}})
	im.addTask(taskSpec{pid: 8, comm: "app", threadOf: 7,
		socks: []sockSpec{{family: afInet6, typ: sockStream, proto: ipprotoTCP, state: tcpListen, local: ap("[::]:4444")}}})
	st := scanImage(t, im.finish())
	if len(st.Processes) != 2 || st.Processes[1].Hidden {
		t.Fatalf("processes %+v: a thread is not a hidden process", st.Processes)
	}
	_, sets := st.Features()
	if want := []string{"tcp:0.0.0.0:80", "tcp:[::]:4444"}; !reflect.DeepEqual(sets["net.listen"], want) {
		t.Errorf("net.listen %q, want %q", sets["net.listen"], want)
	}
	for _, so := range st.Sockets {
		if so.PID != 7 {
			t.Errorf("socket %v of pid %d, want 7", so, so.PID)
		}
	}
}
