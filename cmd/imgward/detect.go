package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
)

var detectNoun = noun{
	name:    "detect",
	summary: "score every instance and judge images and publishers",
	commands: []command{
		{"run", detectRunUsage, detectRun},
	},
}

const detectRunUsage = `usage: imgward detect run [--output table|json]

Score every running instance against its image role's latest baseline,
judge images and publishers by their instances' mean surprise, and
quarantine the images of every publisher flagged anew (see imgward flag
list). Instances that cannot be scored are counted by reason:
  no_snapshot    the instance has sent no snapshot
  no_role        its image has no role (imgward image role)
  no_baseline    its image's role has no baseline (imgward baseline build)
  image_deleted  its image is gone
With --output json, the server's report lists them (the first 1,000).
Needs the admin role. imgward serve --detect-every runs it periodically.
`

// detectReport is the answer of POST /v1/detect/run.
type detectReport struct {
	Scored     int            `json:"scored"`
	Unscored   int            `json:"unscored"`
	UnscoredBy map[string]int `json:"unscored_by"`
	List       []struct {
		Role   string `json:"role"`
		Reason string `json:"reason"`
	} `json:"unscored_instances"`
	Images     int      `json:"images"`
	Publishers int      `json:"publishers"`
	Flagged    []string `json:"flagged"`
}

// unscoredWhy explains each reason, and hints at its remedy.
var unscoredWhy = map[string][2]string{
	"no_snapshot":   {"sent no snapshot", "instances report through a collector: imgward collect, or POST /v1/snapshots"},
	"no_role":       {"their image has no role", "give images a role: imgward image role IMAGE ROLE"},
	"no_baseline":   {"no baseline for their role", "learn baselines: imgward baseline build (it says why it skips a role)"},
	"image_deleted": {"their image is deleted", ""},
}

func detectRun(e *env, args []string) error {
	if _, err := parse(e.flags("detect run"), args); err != nil {
		return err
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "POST", "/v1/detect/run", nil, &raw); err != nil {
		return err
	}
	var r detectReport
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("bad response from the server: %v", err)
	}
	return e.emit(raw, func(w io.Writer) error {
		fmt.Fprintf(w, "scored %s, judged %s and %s, flagged %s\n", plural(r.Scored, "instance"),
			plural(r.Images, "image"), plural(r.Publishers, "publisher"), plural(len(r.Flagged), "publisher"))
		for _, p := range r.Flagged {
			fmt.Fprintf(w, "flagged publisher %s\n", clean(p))
		}
		if r.Unscored == 0 {
			return nil
		}
		fmt.Fprintf(w, "unscored %s:\n", plural(r.Unscored, "instance"))
		t := newTable(w, "  INSTANCES", "REASON", "WHY")
		var hints []string
		for _, reason := range slices.Sorted(maps.Keys(r.UnscoredBy)) {
			why := unscoredWhy[reason]
			if why[0] == "" {
				why[0] = reason
			}
			if reason == "no_baseline" {
				why[0] += ": " + r.roles(reason)
			}
			t.row("  "+strconv.Itoa(r.UnscoredBy[reason]), reason, why[0])
			if why[1] != "" {
				hints = append(hints, why[1])
			}
		}
		if err := t.flush(); err != nil {
			return err
		}
		for _, h := range hints {
			fmt.Fprintf(e.stderr, "hint: %s\n", h)
		}
		return nil
	})
}

// roles lists the roles of the listed instances unscored for reason, each
// with its count, as "web 12, db 3"; the list may be cut, so the counts
// are of the listed instances.
func (r *detectReport) roles(reason string) string {
	n := map[string]int{}
	for _, u := range r.List {
		if u.Reason == reason {
			n[u.Role]++
		}
	}
	var parts []string
	for _, role := range slices.Sorted(maps.Keys(n)) {
		parts = append(parts, role+" "+strconv.Itoa(n[role]))
	}
	return strings.Join(parts, ", ")
}

// plural counts things: "1 image", "2 images".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return strconv.Itoa(n) + " " + thing + "s"
}
