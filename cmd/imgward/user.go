package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

var userNoun = noun{
	name:    "user",
	summary: "the users that act for a project, each with its API token",
	commands: []command{
		{"create", userCreateUsage, userCreate},
	},
}

const userCreateUsage = `usage: imgward user create NAME --project ID [--role admin|member|collector] [--hosts H,H,...] [--output table|json]

Create a user of project ID and print its API token. Needs the admin role.
The token is shown this once and stored only as a hash: keep it, and
give it to the user as IMGWARD_TOKEN.

Flags:
  --project ID     the user's project (required)
  --role ROLE      member (default) acts within its project; admin manages
                   projects, users and publishers and sees everything;
                   collector may only post snapshots (POST /v1/snapshots)
  --hosts H,H,...  collector only: the hypervisor hosts it reports for. It may
                   post snapshots only of instances recorded on one of them
                   (a collector without hosts may post for none)
`

func userCreate(e *env, args []string) error {
	fs := e.flags("user create")
	project := fs.String("project", "", "")
	role := fs.String("role", "member", "")
	hostList := fs.String("hosts", "", "")
	ops, err := parse(fs, args, "NAME")
	if err != nil {
		return err
	}
	if *project == "" {
		return usageError("--project is required")
	}
	if *role != "member" && *role != "admin" && *role != "collector" {
		return usageError(fmt.Sprintf("--role %q: want admin, member or collector", *role))
	}
	var hosts []string
	if *hostList != "" {
		if *role != "collector" {
			return usageError("--hosts is for --role collector")
		}
		hosts = strings.Split(*hostList, ",")
	}
	in := map[string]any{"name": ops[0], "project_id": *project, "role": *role}
	if hosts != nil {
		in["hosts"] = hosts
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "POST", "/v1/users", in, &raw); err != nil {
		return err
	}
	order := []string{"id", "name", "project_id", "role", "hosts", "created_at", "token"}
	var skip []string
	if *role != "collector" { // only a collector has hosts
		order, skip = slices.DeleteFunc(order, func(k string) bool { return k == "hosts" }), []string{"hosts"}
	}
	if err := e.emitObject(raw, order, skip...); err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "note: the token is shown only once; store it now (export IMGWARD_TOKEN=...)")
	if *role == "collector" && hosts == nil {
		fmt.Fprintln(e.stderr, "note: a collector without --hosts may post no snapshot; create one with --hosts H,H,...")
	}
	return nil
}
