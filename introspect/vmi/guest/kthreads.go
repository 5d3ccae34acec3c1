package guest

import (
	"strings"
)

// kthreadPrefixes are the starts of kernel threads' names that malware
// dresses in (ps shows a kernel thread's name in brackets, and nobody
// looks twice at a kworker). The names of the guest's real kernel threads
// count too.
var kthreadPrefixes = []string{
	"kworker/", "ksoftirqd/", "migration/", "cpuhp/", "rcu_", "irq/", "jbd2/",
	"idle_inject/", "watchdog/", "kthreadd", "kswapd", "khugepaged", "kcompactd",
	"kauditd", "oom_reaper", "kdevtmpfs", "khungtaskd", "ksmd", "kblockd",
}

// markFakeKthreads marks the user processes (those with an address space
// of their own, not PF_KTHREAD) that are named like a kernel thread: by
// comm or by argv[0], in brackets as ps shows kernel threads, like one of
// this guest's kernel threads but for the digits, or with a kernel
// thread's well-known prefix.
func markFakeKthreads(procs []Process) {
	real := map[string]bool{}
	for _, p := range procs {
		if p.Kernel {
			real[digitless(p.Comm)] = true
		}
	}
	for i := range procs {
		p := &procs[i]
		if p.Kernel || p.mm == 0 {
			continue
		}
		argv0, _, _ := strings.Cut(p.Cmdline, " ")
		p.FakeKthread = kthreadLike(p.Comm, real) || kthreadLike(argv0, real)
	}
}

func kthreadLike(name string, real map[string]bool) bool {
	if name == "" {
		return false
	}
	if strings.HasPrefix(name, "[") && strings.HasSuffix(name, "]") {
		return true
	}
	if real[digitless(name)] {
		return true
	}
	for _, pre := range kthreadPrefixes {
		if strings.HasPrefix(name, pre) {
			return true
		}
	}
	return false
}

// digitless replaces each run of digits with one '#', so that
// kworker/0:1 and kworker/1:12 read alike.
func digitless(s string) string {
	var b strings.Builder
	digit := false
	for _, r := range s {
		if r >= '0' && r <= '9' {
			if !digit {
				b.WriteByte('#')
			}
			digit = true
			continue
		}
		digit = false
		b.WriteRune(r)
	}
	return b.String()
}
