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
