package procfs

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"imgward/errors"
)

func sample(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseStat(t *testing.T) {
	s, err := parseStat(sample(t, "stat-paren.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := stat{pid: 1234, ppid: 1, comm: "we ird) proc)", utime: 150, stime: 37, threads: 3, startTime: 4242, rssPages: 2048}
	if s != want {
		t.Errorf("got %+v\nwant %+v", s, want)
	}
	if s, err := parseStat(sample(t, "stat-cat.txt")); err != nil || s.comm != "cat" || s.threads != 1 {
		t.Errorf("captured stat: %+v, %v", s, err)
	}
	for _, bad := range []string{
		"", "1 cat S 1", "x (cat) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 1",
		"1 (cat) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1", // too few fields
		"1 (cat) S -1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 1",
		"1 (cat) S 1 1 1 0 -1 0 0 0 0 0 x 1 0 0 20 0 1 0 1 1 1",
		"1 (cat) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 -3 0 1 1 1",
		"1 (" + strings.Repeat("c", 65) + ") S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 1",
	} {
		if _, err := parseStat([]byte(bad)); errors.KindOf(err) != errors.Invalid {
			t.Errorf("parseStat(%.40q) = %v, want Invalid", bad, err)
		}
	}
}

func TestParseNet(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string // "local remote state inode"
	}{
		{"tcp.txt", []string{
			"127.0.0.1:55432 0.0.0.0:0 0a 45096", "127.0.0.1:55433 0.0.0.0:0 0a 65374",
			"0.0.0.0:2024 0.0.0.0:0 0a 1521", "127.0.0.1:59472 127.0.0.1:55433 06 0",
		}},
		{"tcp6.txt", []string{
			"[::]:80 [::]:0 0a 31337", "127.0.0.1:8080 10.0.0.10:50000 01 31338",
			"[2001:db8::1]:443 [2001:db8::2]:54321 01 31339",
		}},
		{"udp.txt", []string{"127.0.0.53:53 0.0.0.0:0 07 15001", "10.0.0.10:41394 8.8.8.8:53 01 15002"}},
	} {
		socks, err := parseNet(sample(t, tc.file))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		var got []string
		for _, s := range socks {
			got = append(got, fmt.Sprintf("%s %s %02x %d", s.local, s.remote, s.state, s.inode))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s:\ngot  %q\nwant %q", tc.file, got, tc.want)
		}
	}
	head := "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
	for _, bad := range []string{
		"", "no header\n",
		head + "   0: 0100007F:D888 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0\n",
		head + "   0: 0100007G:D888 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 1\n",
		head + "   0: 0100007F:D8 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 1\n",
		head + "   0: 0100007F:D888 00000000:0000 1FF 00000000:00000000 00:00000000 00000000   101        0 1\n",
		head + "   0 0100007F:D888 00000000:0000 0A 00000000:00000000 00:00000000 00000000   101        0 1\n",
	} {
		if _, err := parseNet([]byte(bad)); errors.KindOf(err) != errors.Invalid {
			t.Errorf("parseNet(%.60q) = %v, want Invalid", bad, err)
		}
	}
}

func TestParseModules(t *testing.T) {
	mods, err := parseModules(sample(t, "modules.txt"))
	if err != nil || !slices.Equal(mods, []string{"nf_conntrack", "kvm_intel", "kvm", "rootkit-x"}) {
		t.Errorf("got %q, %v", mods, err)
	}
	if _, err := parseModules([]byte("ok 1 0 - Live\nb\xffd 1 0 - Live\n")); errors.KindOf(err) != errors.Invalid {
		t.Errorf("bad name: %v", err)
	}
	if _, err := parseModules([]byte(strings.Repeat("m 1\n", maxModules+1))); errors.KindOf(err) != errors.TooLarge {
		t.Errorf("too many: %v", err)
	}
}

func TestParsePIDs(t *testing.T) {
	pids, err := parsePIDs(sample(t, "cgroup.procs"))
	if err != nil || !slices.Equal(pids, []int{101, 202, 303}) {
		t.Errorf("got %v, %v", pids, err)
	}
	for _, bad := range []string{"1\nx\n", "0\n", "-5\n", "1 2\n"} {
		if _, err := parsePIDs([]byte(bad)); errors.KindOf(err) != errors.Invalid {
			t.Errorf("parsePIDs(%q) = %v", bad, err)
		}
	}
	if _, err := parsePIDs([]byte(strings.Repeat("7\n", maxPIDs+1))); errors.KindOf(err) != errors.TooLarge {
		t.Errorf("too many: %v", err)
	}
}

func TestSocketInode(t *testing.T) {
	for link, want := range map[string]uint64{"socket:[123]": 123, "socket:[]": 0, "pipe:[5]": 0, "socket:[1x]": 0, "/dev/null": 0} {
		if got, _ := socketInode(link); got != want {
			t.Errorf("socketInode(%q) = %d, want %d", link, got, want)
		}
	}
}
