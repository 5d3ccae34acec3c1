package procfs

import "testing"

// The fuzz targets check that no input makes a parser panic or return
// something outside its contract. Seeds are the captured samples.

func FuzzParseStat(f *testing.F) {
	f.Add(sample(f, "stat-cat.txt"))
	f.Add(sample(f, "stat-paren.txt"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseStat(b)
		if err == nil && (s.pid <= 0 || s.ppid < 0 || s.threads < 0 || s.rssPages < 0 || len(s.comm) > 64) {
			t.Errorf("accepted a bad stat: %+v", s)
		}
	})
}

func FuzzParseNet(f *testing.F) {
	for _, n := range []string{"tcp.txt", "tcp6.txt", "udp.txt"} {
		f.Add(sample(f, n))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		socks, err := parseNet(b)
		if err == nil && len(socks) > maxSockets {
			t.Errorf("%d sockets", len(socks))
		}
		for _, s := range socks {
			if !s.local.IsValid() || !s.remote.IsValid() {
				t.Errorf("invalid address in %+v", s)
			}
		}
	})
}

func FuzzParseModules(f *testing.F) {
	f.Add(sample(f, "modules.txt"))
	f.Fuzz(func(t *testing.T, b []byte) {
		mods, err := parseModules(b)
		for _, m := range mods {
			if err == nil && (len(m) == 0 || len(m) > 64 || !moduleName([]byte(m))) {
				t.Errorf("bad module name %q", m)
			}
		}
	})
}

func FuzzParsePIDs(f *testing.F) {
	f.Add(sample(f, "cgroup.procs"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pids, err := parsePIDs(b)
		for _, p := range pids {
			if err == nil && p <= 0 {
				t.Errorf("pid %d", p)
			}
		}
	})
}
