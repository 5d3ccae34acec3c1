package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
)

var baselineNoun = noun{
	name:    "baseline",
	summary: "the per-role models of normal behaviour that detection compares with",
	commands: []command{
		{"build", baselineBuildUsage, baselineBuild},
		{"list", baselineListUsage, baselineList},
	},
}

const baselineBuildUsage = `usage: imgward baseline build [--output table|json]

Learn a new version of the baseline of every image role from the latest
snapshots of the running instances of trusted publishers' images of that
role (see imgward publisher trust and imgward image role). A role with
fewer than 10 such instances is skipped, and the reason printed, such as
"skipped role web: 3 trusted instances with snapshots, need 10; 12 more
of untrusted publishers". Needs the admin role.
`

func baselineBuild(e *env, args []string) error {
	if _, err := parse(e.flags("baseline build"), args); err != nil {
		return err
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "POST", "/v1/baselines/build", nil, &raw); err != nil {
		return err
	}
	var resp struct {
		Built   []json.RawMessage `json:"built"`
		Skipped map[string]string `json:"skipped"`
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return fmt.Errorf("bad response from the server: %v", err)
	}
	objs, err := objects(resp.Built)
	if err != nil {
		return err
	}
	return e.emit(raw, func(w io.Writer) error {
		switch {
		case len(objs) == 0 && len(resp.Skipped) == 0:
			fmt.Fprintln(w, "no image has a role: nothing to learn")
			fmt.Fprintln(e.stderr, "hint: give images a role first: imgward image role IMAGE ROLE")
			return nil
		case len(objs) > 0:
			t := newTable(w, "ROLE", "VERSION", "DETECTOR", "ROWS")
			for _, o := range objs {
				t.row(o.s("role"), o.s("version"), o.s("detector"), o.s("rows"))
			}
			if err := t.flush(); err != nil {
				return err
			}
		}
		for _, r := range slices.Sorted(maps.Keys(resp.Skipped)) {
			fmt.Fprintf(w, "skipped role %s: %s\n", clean(r), clean(resp.Skipped[r]))
		}
		if len(resp.Skipped) > 0 {
			fmt.Fprintln(e.stderr, "hint: trust the publishers of a skipped role's images (imgward publisher trust PROJECT), or let more of their instances report, then build again")
		}
		return nil
	})
}

const baselineListUsage = `usage: imgward baseline list [--output table|json]

List every version of every role's baseline. Needs the admin role.
`

func baselineList(e *env, args []string) error {
	if _, err := parse(e.flags("baseline list"), args); err != nil {
		return err
	}
	var resp struct {
		Baselines []json.RawMessage `json:"baselines"`
	}
	if err := e.api.call(e.ctx, "GET", "/v1/baselines", nil, &resp); err != nil {
		return err
	}
	return e.emitList(resp.Baselines, []string{"ROLE", "VERSION", "DETECTOR", "ROWS", "CREATED"}, func(o object) []string {
		return []string{o.s("role"), o.s("version"), o.s("detector"), o.s("rows"), o.s("created_at")}
	})
}
