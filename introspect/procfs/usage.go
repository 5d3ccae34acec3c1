package procfs

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"imgward/errors"
)

// Usage is the host kernel's accounting of one process or one thread, for
// collectors that find their process some other way (introspect/vmi).
type Usage struct {
	CPUSeconds float64 // user + system
	RSSBytes   int64   // resident memory of the process (a thread shares it)
	Threads    int64   // threads of the process
}

// ReadUsage reads the stat file of process pid, or of its thread tid when
// tid > 0, under proc ("" means /proc). A thread that is not pid's has no
// stat file there, so a caller cannot be led to count another process's
// thread. A process or thread that is gone is an error of kind NotExist;
// a stat file that does not parse, of kind Invalid.
func ReadUsage(proc string, pid, tid int) (Usage, error) {
	const op = "procfs.ReadUsage"
	if proc == "" {
		proc = "/proc"
	}
	if pid <= 0 || tid < 0 {
		return Usage{}, errors.E(op, errors.Invalid, errors.Errorf("pid %d, tid %d", pid, tid))
	}
	name := filepath.Join(proc, strconv.Itoa(pid), "stat")
	if tid > 0 {
		name = filepath.Join(proc, strconv.Itoa(pid), "task", strconv.Itoa(tid), "stat")
	}
	b, err := readFile(name, maxStatFile)
	if errors.IsErr(err, os.ErrNotExist) || errors.IsErr(err, syscall.ESRCH) { // ESRCH: it exited while open
		return Usage{}, errors.E(op, errors.NotExist, err)
	}
	if err != nil {
		return Usage{}, errors.E(op, err)
	}
	st, err := parseStat(b)
	if err != nil {
		return Usage{}, errors.E(op, err)
	}
	return Usage{
		CPUSeconds: float64(st.utime+st.stime) / userHZ,
		RSSBytes:   st.rssPages * int64(os.Getpagesize()),
		Threads:    st.threads,
	}, nil
}
