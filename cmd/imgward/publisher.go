package main

import (
	"encoding/json"
	"flag"
	"strconv"
	"strings"
)

var publisherNoun = noun{
	name:    "publisher",
	summary: "the profiles that say who publishes shared images",
	commands: []command{
		{"show", publisherShowUsage, publisherShow},
		{"set", publisherSetUsage, publisherSet},
		{"list", publisherListUsage, publisherList},
		{"trust", publisherTrustUsage, publisherTrust},
		{"untrust", publisherUntrustUsage, publisherUntrust},
		{"fleet", publisherFleetUsage, publisherFleet},
		{"clear", publisherClearUsage, publisherClear},
	},
}

var publisherOrder = []string{"project_id", "display_name", "verified", "description", "contact", "updated_at"}

const publisherShowUsage = `usage: imgward publisher show PROJECT [--output table|json]

Show the publisher profile of project PROJECT: the name, description and
contact a consumer of its images sees, and whether an admin verified it.
`

func publisherShow(e *env, args []string) error {
	ops, err := parse(e.flags("publisher show"), args, "PROJECT")
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "GET", path("v1", "publishers", ops[0]), nil, &raw); err != nil {
		return err
	}
	return e.emitObject(raw, publisherOrder)
}

const publisherSetUsage = `usage: imgward publisher set PROJECT [flags] [--output table|json]

Change the publisher profile of project PROJECT; fields not given stay.
The project's own users may change its name, description and contact,
which clears verified; only an admin may set verified.

Flags:
  --display-name X     the name consumers see
  --description X      what the publisher offers
  --contact X          how to reach it
  --verified BOOL      true or false (admin only)
`

func publisherSet(e *env, args []string) error {
	fs := e.flags("publisher set")
	fs.String("display-name", "", "")
	fs.String("description", "", "")
	fs.String("contact", "", "")
	verified := fs.String("verified", "", "")
	ops, err := parse(fs, args, "PROJECT")
	if err != nil {
		return err
	}
	in := map[string]any{}
	var bad error
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "display-name", "description", "contact":
			in[strings.ReplaceAll(f.Name, "-", "_")] = f.Value.String()
		case "verified":
			b, err := strconv.ParseBool(*verified)
			if err != nil {
				bad = usageError("--verified: want true or false")
			}
			in["verified"] = b
		}
	})
	if bad != nil {
		return bad
	}
	if len(in) == 0 {
		return usageError("nothing to change: give --display-name, --description, --contact or --verified")
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "PUT", path("v1", "publishers", ops[0]), in, &raw); err != nil {
		return err
	}
	return e.emitObject(raw, publisherOrder)
}

const publisherListUsage = `usage: imgward publisher list --risk [--output table|json]

List the publishers that detection judged, riskiest first: the mean
surprise of their instances, the threshold it is compared with, and the
state of the verdict (ok, flagged or cleared). Needs the admin role.

Flags:
  --risk      rank by risk (required: the only listing offered)
`

func publisherList(e *env, args []string) error {
	fs := e.flags("publisher list")
	risk := fs.Bool("risk", false, "")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if !*risk {
		return usageError("publisher list needs --risk")
	}
	var resp struct {
		Publishers []json.RawMessage `json:"publishers"`
	}
	if err := e.api.call(e.ctx, "GET", "/v1/publishers?risk=1", nil, &resp); err != nil {
		return err
	}
	return e.emitList(resp.Publishers, []string{"PUBLISHER", "SCORE", "THRESHOLD", "INSTANCES", "STATE"}, func(o object) []string {
		return []string{o.s("subject"), o.num("score", 3), o.num("threshold", 3), o.s("instances"), o.s("state")}
	})
}

const publisherTrustUsage = `usage: imgward publisher trust PROJECT [--output table|json]

Mark a publisher trusted: baselines learn only from the instances of
trusted publishers' images (imgward baseline build). Trust publishers whose
images you know to behave. Needs the admin role.
`

func publisherTrust(e *env, args []string) error { return e.setTrust("publisher trust", args, true) }

const publisherUntrustUsage = `usage: imgward publisher untrust PROJECT [--output table|json]

Mark a publisher no longer trusted: the next baseline build leaves its
images' instances out. Needs the admin role.
`

func publisherUntrust(e *env, args []string) error {
	return e.setTrust("publisher untrust", args, false)
}

func (e *env) setTrust(name string, args []string, trusted bool) error {
	ops, err := parse(e.flags(name), args, "PROJECT")
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "PUT", path("v1", "publishers", ops[0], "trust"), map[string]bool{"trusted": trusted}, &raw); err != nil {
		return err
	}
	return e.emitObject(raw, []string{"project_id", "trusted"})
}

const publisherFleetUsage = `usage: imgward publisher fleet PROJECT [--output table|json]

List every running instance of every image of a publisher: the fleet to
inspect when the publisher is flagged. Needs the admin role.
`

func publisherFleet(e *env, args []string) error {
	ops, err := parse(e.flags("publisher fleet"), args, "PROJECT")
	if err != nil {
		return err
	}
	var resp struct {
		Instances []json.RawMessage `json:"instances"`
	}
	if err := e.api.call(e.ctx, "GET", path("v1", "publishers", ops[0], "fleet"), nil, &resp); err != nil {
		return err
	}
	return e.emitList(resp.Instances, []string{"ID", "IMAGE", "PROJECT", "HOST", "CREATED"}, func(o object) []string {
		return []string{o.s("id"), o.s("image_id"), o.s("project_id"), o.s("host"), o.s("created_at")}
	})
}

const publisherClearUsage = `usage: imgward publisher clear PROJECT [--output table|json]

Clear a flagged publisher's verdict and lift the quarantine of its images.
The verdict keeps its score as the publisher's threshold, so that the same
behaviour is not flagged again. Needs the admin role.
`

func publisherClear(e *env, args []string) error { return e.clearPublisher("publisher clear", args) }

// clearPublisher clears a flagged publisher: publisher clear and flag clear.
func (e *env) clearPublisher(name string, args []string) error {
	ops, err := parse(e.flags(name), args, "PROJECT")
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "POST", path("v1", "publishers", ops[0], "clear"), nil, &raw); err != nil {
		return err
	}
	return e.emitObject(raw, []string{"subject", "state", "score", "threshold", "cleared_by", "updated_at"})
}
