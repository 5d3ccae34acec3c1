package guest

import (
	"bytes"
	"context"
	"encoding/binary"
	"maps"
	"slices"
	"testing"
	"time"
)

// Each case corrupts the sample guest as a hostile or changing guest
// could; the scan must end, promptly, and say what it skipped or cut.
func TestScanHostileMemory(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(im *image)
		check   func(t *testing.T, st *State)
	}{
		{"task list loops back to its middle", func(im *image) {
			tasks := im.o("task_struct", "tasks")
			im.put(im.tasksByPID[50]+tasks, im.tasksByPID[10]+tasks)
		}, func(t *testing.T, st *State) {
			wantTruncated(t, st, "task list: loop")
			if len(st.Processes) != 9 {
				t.Errorf("%d processes, want the 8 before the loop and the hidden one", len(st.Processes))
			}
		}},
		{"task list points outside RAM", func(im *image) {
			im.put(im.tasksByPID[10]+im.o("task_struct", "tasks"), kbase+1<<40)
		}, func(t *testing.T, st *State) {
			wantTruncated(t, st, "task list: unreadable task")
			if st.Skipped == 0 {
				t.Error("nothing counted as skipped")
			}
		}},
		{"a back pointer disagrees", func(im *image) {
			im.put(im.tasksByPID[10]+im.o("task_struct", "tasks")+8, im.initTask)
		}, func(t *testing.T, st *State) {
			if st.Torn != 1 {
				t.Errorf("torn %d, want 1", st.Torn)
			}
		}},
		{"an fd table claims 4 billion slots", func(im *image) {
			files := im.get(im.tasksByPID[10] + im.o("task_struct", "files"))
			fdt := im.get(files + im.o("files_struct", "fdt"))
			im.put32(fdt+im.o("fdtable", "max_fds"), 0xffffffff)
		}, func(t *testing.T, st *State) {
			if st.Skipped == 0 {
				t.Error("the unreadable fd slots were not counted")
			}
		}},
		{"a maple node is its own child", func(im *image) {
			mm := im.get(im.tasksByPID[50] + im.o("task_struct", "mm"))
			root := im.get(mm + im.o("mm_struct", "mm_mt") + im.o("maple_tree", "ma_root"))
			im.put((root&^0xff)+im.o("maple_arange_64", "slot"), root)
		}, func(t *testing.T, st *State) {
			if st.Skipped == 0 {
				t.Error("the looping maple tree was not counted")
			}
		}},
		{"a PID table node is its own child", func(im *image) {
			head := im.get(im.k.sym["init_pid_ns"] + im.o("pid_namespace", "idr.idr_rt.xa_head"))
			im.put(head-2+im.o("xa_node", "slots")+8*63, head)
		}, func(t *testing.T, st *State) {
			if st.Skipped != 1 || len(st.Processes) != 9 || !st.Processes[8].Hidden {
				t.Errorf("skipped %d, %d processes, want the loop skipped and the hidden process found", st.Skipped, len(st.Processes))
			}
		}},
		{"every PID table slot is the node itself", func(im *image) {
			head := im.get(im.k.sym["init_pid_ns"] + im.o("pid_namespace", "idr.idr_rt.xa_head"))
			for i := range uint64(xaChunk) {
				im.put(head-2+im.o("xa_node", "slots")+8*i, head)
			}
		}, func(t *testing.T, st *State) {
			if st.Skipped != xaChunk {
				t.Errorf("skipped %d, want each slot", st.Skipped)
			}
		}},
		{"a dentry is its parent's parent", func(im *image) {
			f := im.get(im.get(im.tasksByPID[10]+im.o("task_struct", "mm")) + im.o("mm_struct", "exe_file"))
			d := im.get(f + im.o("file", "f_path") + im.o("path", "dentry"))
			p := im.get(d + im.o("dentry", "d_parent"))
			im.field(p, "dentry", "d_parent", d)
		}, func(t *testing.T, st *State) {
			if st.Processes[3].Exe != "" || st.Skipped == 0 {
				t.Errorf("exe %q, skipped %d", st.Processes[3].Exe, st.Skipped)
			}
		}},
		{"the module list loops", func(im *image) {
			head := im.k.sym["modules"]
			first := im.get(head)
			im.put(first, first)
		}, func(t *testing.T, st *State) {
			wantTruncated(t, st, "module list: loop")
		}},
		{"arguments claim a terabyte", func(im *image) {
			mm := im.get(im.tasksByPID[10] + im.o("task_struct", "mm"))
			im.field(mm, "mm_struct", "arg_end", im.get(mm+im.o("mm_struct", "arg_start"))+1<<40)
		}, func(t *testing.T, st *State) {
			if c := st.Processes[3].Cmdline; c != "" && len(c) > DefaultLimits.ArgBytes {
				t.Errorf("cmdline of %d bytes", len(c))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im := sampleGuest()
			tt.corrupt(im)
			start := time.Now()
			st := scanImage(t, im)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("scan took %v", d)
			}
			tt.check(t, st)
		})
	}
}

func wantTruncated(t *testing.T, st *State, what string) {
	t.Helper()
	for _, s := range st.Truncated {
		if s == what {
			return
		}
	}
	t.Errorf("truncated %q, want %q among them", st.Truncated, what)
}

// FuzzScan scans the sample guest (with a run queue) with words overwritten: each 12 bytes
// of input are a 4-byte offset into the image and an 8-byte value,
// which, when the offset's top bit is set, becomes a pointer into the
// image. A scan of any memory must end without panicking.
func FuzzScan(f *testing.F) {
	im := sampleGuest()
	im.runqueues([]uint64{im.tasksByPID[10]}, [][]uint64{{im.tasksByPID[1], im.tasksByPID[20]}})
	f.Add(patch(uint32(im.tasksByPID[10]-kbase+im.o("task_struct", "tasks")), im.tasksByPID[1]-kbase, true))
	f.Add(patch(uint32(im.k.sym["modules"]-kbase), 0, false))
	f.Add(patch(uint32(im.tasksByPID[20]-kbase+im.o("task_struct", "files")), 8, true))
	f.Add([]byte{})
	sc, err := NewScanner(im.k)
	if err != nil {
		f.Fatal(err)
	}
	im.mem = im.mem[:im.next] // the image's used part: copied afresh for each input
	pristine := append([]byte(nil), im.mem...)
	f.Fuzz(func(t *testing.T, b []byte) {
		copy(im.mem, pristine)
		for ; len(b) >= 12; b = b[12:] {
			off := binary.LittleEndian.Uint32(b)
			v := binary.LittleEndian.Uint64(b[4:])
			if off&(1<<31) != 0 {
				v = kbase + v%uint64(len(im.mem))
			}
			if o := uint64(off&^(1<<31)) % uint64(len(im.mem)-8); true {
				binary.LittleEndian.PutUint64(im.mem[o:], v)
			}
		}
		if _, err := sc.Scan(context.Background(), im); err != nil {
			t.Logf("scan: %v", err) // an unreadable init_task is an error, not a crash
		}
	})
}

func patch(off uint32, v uint64, ptr bool) []byte {
	if ptr {
		off |= 1 << 31
	}
	b := binary.LittleEndian.AppendUint32(nil, off)
	return binary.LittleEndian.AppendUint64(b, v)
}

// FuzzLayout scans the sample guest through a kernel whose offsets and
// sizes the input sets (two bytes each, in a sorted order of the names):
// the BTF is the guest's kernel image's, so a scan must survive any
// layout NewScanner accepts.
func FuzzLayout(f *testing.F) {
	im := sampleGuest()
	names := make([]string, 0, len(im.k.off))
	for n := range im.k.off {
		names = append(names, n)
	}
	slices.Sort(names)
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 2*len(names)))
	f.Add(bytes.Repeat([]byte{0x08, 0x01}, len(names)))
	pristine := maps.Clone(im.k.off)
	f.Fuzz(func(t *testing.T, b []byte) {
		k := &fakeKernel{off: maps.Clone(pristine), size: map[string]uint64{"maple_range_64": 256}, sym: im.k.sym}
		for i := 0; i < len(names) && len(b) >= 2; i, b = i+1, b[2:] {
			k.off[names[i]] = uint64(binary.LittleEndian.Uint16(b))
		}
		if len(b) >= 2 {
			k.size["maple_range_64"] = uint64(binary.LittleEndian.Uint16(b))
		}
		sc, err := NewScanner(k)
		if err != nil {
			return
		}
		if _, err := sc.Scan(context.Background(), im); err != nil {
			t.Logf("scan: %v", err)
		}
	})
}
