package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

var baselineNoun = noun{
	name:    "baseline",
	summary: "the per-role models of normal behaviour that detection compares with",
	commands: []command{
		{"build", baselineBuildUsage, baselineBuild},
		{"list", baselineListUsage, baselineList},
	},
}

var detectNoun = noun{
	name:    "detect",
	summary: "score every instance and judge images and publishers",
	commands: []command{
		{"run", detectRunUsage, detectRun},
	},
}

const baselineBuildUsage = `usage: imgward baseline build [--output table|json]

Learn a new version of the baseline of every image role from the latest
snapshots of the running instances of trusted publishers' images of that
role (see publisher trust and PUT /v1/images/{id}/role). A role with fewer
than 10 such instances is skipped, and the reason printed. Needs the admin
role.
`

func baselineBuild(e *env, args []string) error {
	if _, err := parse(e.flags("baseline build"), args); err != nil {
		return err
	}
	var resp struct {
		Built   []json.RawMessage `json:"built"`
		Skipped map[string]string `json:"skipped"`
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "POST", "/v1/baselines/build", nil, &raw); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &resp); err != nil {
		return err
	}
	objs, err := objects(resp.Built)
	if err != nil {
		return err
	}
	return e.emit(raw, func(w io.Writer) error {
		t := newTable(w, "ROLE", "VERSION", "DETECTOR", "ROWS")
		for _, o := range objs {
			t.row(o.s("role"), o.s("version"), o.s("detector"), o.s("rows"))
		}
		if err := t.flush(); err != nil {
			return err
		}
		roles := make([]string, 0, len(resp.Skipped))
		for r := range resp.Skipped {
			roles = append(roles, r)
		}
		sort.Strings(roles)
		for _, r := range roles {
			fmt.Fprintf(w, "skipped %s: %s\n", r, resp.Skipped[r])
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

const detectRunUsage = `usage: imgward detect run [--output table|json]

Score every running instance against its image role's latest baseline,
judge images and publishers by their instances' mean surprise, and
quarantine the images of every publisher flagged anew. Needs the admin
role. imgward serve --detect-every runs it periodically.
`

func detectRun(e *env, args []string) error {
	if _, err := parse(e.flags("detect run"), args); err != nil {
		return err
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "POST", "/v1/detect/run", nil, &raw); err != nil {
		return err
	}
	return e.emitObject(raw, []string{"scored", "unscored", "images", "publishers", "flagged"})
}
