package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

var userNoun = noun{
	name:    "user",
	summary: "the users that act for a project, each with its API tokens",
	commands: []command{
		{"create", userCreateUsage, userCreate},
		{"list", userListUsage, userList},
		{"disable", userDisableUsage, userDisable},
		{"enable", userEnableUsage, userEnable},
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

const userListUsage = `usage: imgward user list [--project ID] [--output table|json]

List the users, oldest first: all of them, or those of project ID. Needs
the admin role.

Flags:
  --project ID  only the users of this project
`

func userList(e *env, args []string) error {
	fs := e.flags("user list")
	project := fs.String("project", "", "")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	p := "/v1/users"
	if *project != "" {
		p += "?" + url.Values{"project_id": {*project}}.Encode()
	}
	var resp struct {
		Users []json.RawMessage `json:"users"`
	}
	if err := e.api.call(e.ctx, "GET", p, nil, &resp); err != nil {
		return err
	}
	return e.emitList(resp.Users, []string{"ID", "NAME", "PROJECT", "ROLE", "DISABLED", "CREATED"}, func(o object) []string {
		return []string{o.s("id"), o.s("name"), o.s("project_id"), o.s("role"), o.s("disabled"), o.s("created_at")}
	})
}

const userDisableUsage = `usage: imgward user disable USER [--output table|json]

Disable user USER (its id): every one of its tokens is refused from the
next request on, until user enable. Needs the admin role; an admin may not
disable itself. Audited.
`

const userEnableUsage = `usage: imgward user enable USER [--output table|json]

Enable a disabled user again: its tokens that are neither revoked nor
expired work again. Needs the admin role. Audited.
`

func userDisable(e *env, args []string) error { return userSetDisabled(e, args, "disable") }

func userEnable(e *env, args []string) error { return userSetDisabled(e, args, "enable") }

func userSetDisabled(e *env, args []string, verb string) error {
	fs := e.flags("user " + verb)
	ops, err := parse(fs, args, "USER")
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "POST", path("v1", "users", ops[0], verb), nil, &raw); err != nil {
		return err
	}
	return e.emitObject(raw, []string{"id", "name", "project_id", "role", "disabled", "created_at"}, "hosts")
}
