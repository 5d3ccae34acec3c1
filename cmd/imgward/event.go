package main

import (
	"encoding/json"
	"net/url"
	"strconv"
)

var eventNoun = noun{
	name:    "event",
	summary: "what detection told the projects",
	commands: []command{
		{"list", eventListUsage, eventList},
	},
}

// eventPage is the most events the server returns at once.
const eventPage = 1000

const eventListUsage = `usage: imgward event list [--project ID] [--after N] [--limit N] [--output table|json]

List the events of your project, oldest first: publisher.flagged when a
publisher of images it runs is flagged (naming its instances), and
publisher.cleared when an admin clears it. An admin sees every project's.

Flags:
  --project ID   only this project's events (admin)
  --after N      start after the event with id N (default 0: from the first)
  --limit N      at most N events (default and most: 1000)
`

func eventList(e *env, args []string) error {
	fs := e.flags("event list")
	project := fs.String("project", "", "")
	after := fs.Int64("after", 0, "")
	limit := fs.Int("limit", eventPage, "")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *after < 0 || *limit < 1 || *limit > eventPage {
		return usageError("--after must be 0 or more, --limit 1 to 1000")
	}
	q := url.Values{"after": {strconv.FormatInt(*after, 10)}, "limit": {strconv.Itoa(*limit)}}
	if *project != "" {
		q.Set("project", *project)
	}
	var resp struct {
		Events []json.RawMessage `json:"events"`
	}
	if err := e.api.call(e.ctx, "GET", "/v1/events?"+q.Encode(), nil, &resp); err != nil {
		return err
	}
	return e.emitList(resp.Events, []string{"ID", "PROJECT", "KIND", "PUBLISHER", "INSTANCES", "CREATED"}, func(o object) []string {
		pl, _ := o["payload"].(map[string]any)
		n := ""
		if ins, ok := pl["instances"].([]any); ok {
			n = strconv.Itoa(len(ins))
		}
		return []string{o.s("id"), o.s("project_id"), o.s("kind"), text(pl["publisher"]), n, o.s("created_at")}
	})
}
