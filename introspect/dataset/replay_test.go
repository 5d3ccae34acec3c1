package dataset

import (
	"slices"
	"testing"
	"time"

	"imgward/errors"
)

func TestReplayNumeric(t *testing.T) {
	tab := read(t, "Category,pslist.nproc,malfind.commitCharge,Class\nBenign,40,0.5,Benign\nSpyware-x,52,9,Malware\nBenign,41,0,Benign\n", Limits{})
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := &Replay{LabelCol: "Class", Instances: []string{"i-000000000000000a", "i-000000000000000b"}, Start: start}
	snaps, err := r.Snapshots(tab)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 3 {
		t.Fatalf("%d snapshots", len(snaps))
	}
	s := snaps[1]
	if s.InstanceID != "i-000000000000000b" || snaps[2].InstanceID != "i-000000000000000a" || !s.TakenAt.Equal(start.Add(time.Millisecond)) {
		t.Errorf("instance or time: %s %s", s.InstanceID, s.TakenAt)
	}
	if len(s.Numeric) != 2 || s.Numeric["pslist.nproc"] != 52 || s.Numeric["malfind.commitcharge"] != 9 {
		t.Errorf("numeric %v", s.Numeric)
	}
	if !slices.Equal(s.Sets["meta.label"], []string{"Malware"}) || s.Syscalls != nil {
		t.Errorf("sets %v, syscalls %v", s.Sets, s.Syscalls)
	}
	// One instance per row when none are given.
	snaps, _ = (&Replay{}).Snapshots(tab)
	if snaps[2].InstanceID != "i-0000000000000003" || len(snaps[0].Sets) != 0 || len(snaps[0].Numeric) != 2 {
		t.Errorf("default instances: %+v", snaps[2])
	}
	dup := read(t, "a.b,A.B\n1,2\n", Limits{})
	if _, err := (&Replay{}).Snapshots(dup); errors.KindOf(err) != errors.Invalid {
		t.Errorf("colliding names: %v", err)
	}
}

func TestReplaySequence(t *testing.T) {
	tab := read(t, "id,label,syscalls\n1,normal,1 2 3 1 2 3 1 2\n2,attack,5\n", Limits{})
	snaps, err := (&Replay{LabelCol: "label", SequenceCol: "syscalls", Exclude: []string{"id"}}).Snapshots(tab)
	if err != nil {
		t.Fatal(err)
	}
	s := snaps[0]
	// The trace is sent as it is, and no feature is derived from it; the
	// excluded column is no feature either.
	if !slices.Equal(s.Syscalls.Sequence, []int32{1, 2, 3, 1, 2, 3, 1, 2}) || len(s.Numeric) != 0 {
		t.Errorf("snapshot %+v", s)
	}
	bad := read(t, "id,syscalls\n1,1 x 3\n", Limits{})
	if _, err := (&Replay{SequenceCol: "syscalls"}).Snapshots(bad); errors.KindOf(err) != errors.Invalid {
		t.Errorf("bad trace: %v", err)
	}
}
