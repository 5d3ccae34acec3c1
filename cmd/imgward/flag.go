package main

import (
	"encoding/json"
	"net/url"
	"slices"
	"strings"
)

var flagNoun = noun{
	name:    "flag",
	summary: "what detection flagged: publishers, images, instances",
	commands: []command{
		{"list", flagListUsage, flagList},
		{"clear", flagClearUsage, flagClear},
	},
}

// flagKinds are the verdict kinds, in the order flag list shows them.
var flagKinds = []string{"publisher", "image", "instance"}

const flagListUsage = `usage: imgward flag list [--kind K] [--output table|json]

List what detection flagged, highest score first: by default the
publishers whose fleet's mean surprise exceeded their threshold and that no
admin has cleared; their images are quarantined. Images and instances are
judged too, for the record: their verdicts follow each run, and only a
publisher's trigger a response or can be cleared. Needs the admin role.

Flags:
  --kind K    publisher (default), image, instance, or all; several
              separated by commas
`

func flagList(e *env, args []string) error {
	fs := e.flags("flag list")
	kinds := fs.String("kind", "publisher", "")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	want := strings.Split(*kinds, ",")
	if *kinds == "all" {
		want = flagKinds
	}
	for _, k := range want {
		if !slices.Contains(flagKinds, k) {
			return usageError("--kind " + k + ": want publisher, image, instance or all")
		}
	}
	var all []json.RawMessage
	for _, k := range flagKinds {
		if !slices.Contains(want, k) {
			continue
		}
		var resp struct {
			Verdicts []json.RawMessage `json:"verdicts"`
		}
		q := url.Values{"kind": {k}, "state": {"flagged"}}
		if err := e.api.call(e.ctx, "GET", "/v1/verdicts?"+q.Encode(), nil, &resp); err != nil {
			return err
		}
		all = append(all, resp.Verdicts...)
	}
	return e.emitList(all, []string{"KIND", "SUBJECT", "SCORE", "THRESHOLD", "INSTANCES", "UPDATED"}, func(o object) []string {
		return []string{o.s("kind"), o.s("subject"), o.num("score", 3), o.num("threshold", 3), o.s("instances"), o.s("updated_at")}
	})
}

const flagClearUsage = `usage: imgward flag clear PROJECT [--output table|json]

Clear a flagged publisher, as imgward publisher clear does: its verdict
becomes cleared and the quarantine of its images is lifted. The verdict
keeps its score as the publisher's threshold, so that the same behaviour
is not flagged again. Needs the admin role.
`

func flagClear(e *env, args []string) error { return e.clearPublisher("flag clear", args) }
