package main

import "encoding/json"

var projectNoun = noun{
	name:    "project",
	summary: "the tenants that own images and run instances",
	commands: []command{
		{"create", projectCreateUsage, projectCreate},
		{"list", projectListUsage, projectList},
	},
}

const projectCreateUsage = `usage: imgward project create NAME [--output table|json]

Create a project (an OpenStack tenant) named NAME. Needs the admin role.
Prints the new project; its id is what user create --project and
image share take.
`

func projectCreate(e *env, args []string) error {
	fs := e.flags("project create")
	ops, err := parse(fs, args, "NAME")
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "POST", "/v1/projects", map[string]string{"name": ops[0]}, &raw); err != nil {
		return err
	}
	return e.emitObject(raw, []string{"id", "name", "created_at"})
}

const projectListUsage = `usage: imgward project list [--output table|json]

List the projects: all of them for an admin, the caller's own otherwise.
`

func projectList(e *env, args []string) error {
	fs := e.flags("project list")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var resp struct {
		Projects []json.RawMessage `json:"projects"`
	}
	if err := e.api.call(e.ctx, "GET", "/v1/projects", nil, &resp); err != nil {
		return err
	}
	return e.emitList(resp.Projects, []string{"ID", "NAME", "CREATED"}, func(o object) []string {
		return []string{o.s("id"), o.s("name"), o.s("created_at")}
	})
}
