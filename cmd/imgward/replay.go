package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"imgward/introspect/dataset"
)

var replayCommand = command{"replay", replayUsage, replay}

const replayUsage = `usage: imgward replay --file F [--label-col C] [--sequence-col S] [--instances ID,ID,...] [--out FILE] [--start T]

Replay a labelled dataset as introspection snapshots (source "dataset"):
each CSV row becomes one snapshot, written as NDJSON to --out, or posted to
the server's POST /v1/snapshots (IMGWARD_URL, IMGWARD_TOKEN of a collector
or an admin) in batches.

Each numeric column becomes a numeric feature, its name lowercased with
bytes outside [a-z0-9_.] made '_' (CIC-MalMem-2022's Volatility features).
A trace column (--sequence-col, space-separated system-call numbers, as in
ADFA-LD) becomes the snapshot's syscall sequence, from which the server
derives the features of traces as it does for any collector's. The label
column is kept as the set meta.label, never as a feature.

Flags:
  --file F            the CSV file, with a header line
  --label-col C       the column of labels
  --sequence-col S    the column of system-call traces
  --instances IDS     comma-separated instance ids, dealt the rows in turn;
                      default one instance per row, i-0000000000000001 first
                      (those exist only in files: a server knows no such instances)
  --out FILE          write NDJSON to FILE (- for stdout) instead of posting
  --start T           taken_at of the first row, RFC 3339 (default now);
                      each next row is 1 ms later

Example:
  imgward replay --file ../shared/data/adfa-ld/adfa-ld-dev.csv \
    --label-col label --sequence-col syscalls --out adfa.ndjson
`

func replay(e *env, args []string) error {
	fs := e.bareFlags("replay")
	file := fs.String("file", "", "")
	label := fs.String("label-col", "", "")
	seq := fs.String("sequence-col", "", "")
	instances := fs.String("instances", "", "")
	out := fs.String("out", "", "")
	startFlag := fs.String("start", "", "")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *file == "" {
		return usageError("--file is required")
	}
	r := &dataset.Replay{LabelCol: *label, SequenceCol: *seq}
	if *instances != "" {
		r.Instances = strings.Split(*instances, ",")
	}
	if *startFlag != "" {
		t, err := time.Parse(time.RFC3339Nano, *startFlag)
		if err != nil {
			return usageError(fmt.Sprintf("--start %q: want an RFC 3339 time", *startFlag))
		}
		r.Start = t
	}
	f, err := os.Open(*file)
	if err != nil {
		return err
	}
	defer f.Close()
	tab, err := dataset.Read(f, dataset.Limits{})
	if err != nil {
		return err
	}
	snaps, err := r.Snapshots(tab)
	if err != nil {
		return err
	}
	posted, err := e.putSnapshots(*out, snaps)
	if err != nil {
		return err
	}
	switch *out {
	case "-":
	case "":
		fmt.Fprintf(e.stdout, "posted %d snapshots\n", posted)
	default:
		fmt.Fprintf(e.stdout, "wrote %d snapshots to %s\n", len(snaps), clean(*out))
	}
	return nil
}
