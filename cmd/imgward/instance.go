package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
)

var instanceNoun = noun{
	name:    "instance",
	summary: "the recorded launches of images",
	commands: []command{
		{"launch", instanceLaunchUsage, instanceLaunch},
		{"list", instanceListUsage, instanceList},
		{"show", instanceShowUsage, instanceShow},
		{"terminate", instanceTerminateUsage, instanceTerminate},
	},
}

var instanceOrder = []string{"id", "image_id", "project_id", "user_id", "host", "state", "created_at", "terminated_at"}

const instanceLaunchUsage = `usage: imgward instance launch IMAGE [--host H] [--output table|json]

Record a launch of image IMAGE by the caller's project, and print the new
instance's id alone, so that a script can capture it:
  id=$(imgward instance launch IMAGE)
The image must be active, and, if shared, accepted by the project.

Flags:
  --host H              the hypervisor host the instance runs on
  --identity-out FILE   write the instance's signed identity document to
                        FILE (mode 0600), for imgward image fetch
`

func instanceLaunch(e *env, args []string) error {
	fs := e.flags("instance launch")
	host := fs.String("host", "", "")
	idOut := fs.String("identity-out", "", "")
	ops, err := parse(fs, args, "IMAGE")
	if err != nil {
		return err
	}
	var raw json.RawMessage
	in := map[string]string{"image_id": ops[0], "host": *host}
	if err := e.api.call(e.ctx, "POST", "/v1/instances", in, &raw); err != nil {
		return e.acceptHint(ops[0], err)
	}
	var inst struct {
		ID       string `json:"id"`
		Identity string `json:"identity"`
	}
	if err := json.Unmarshal(raw, &inst); err != nil || inst.ID == "" {
		return fmt.Errorf("bad response from the server: no instance id")
	}
	if *idOut != "" {
		if inst.Identity == "" {
			return fmt.Errorf("instance %s launched, but the server issued no identity document", clean(inst.ID))
		}
		// The document is a one-time credential: owner-readable only.
		err := writeAtomic(*idOut, func(w io.Writer) error {
			if f, ok := w.(*os.File); ok {
				if err := f.Chmod(0o600); err != nil {
					return err
				}
			}
			_, err := io.WriteString(w, inst.Identity+"\n")
			return err
		})
		if err != nil {
			return fmt.Errorf("instance %s launched, but its identity was not written: %v", clean(inst.ID), err)
		}
	}
	return e.emit(raw, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, clean(inst.ID))
		return err
	})
}

const instanceListUsage = `usage: imgward instance list [--image ID] [--publisher PROJECT] [--state S] [--output table|json]

List instances, newest first: the project's own, or all for an admin.

Flags:
  --image ID            only instances of image ID
  --publisher PROJECT   only instances of images owned by PROJECT
  --state S             only running or terminated instances
`

func instanceList(e *env, args []string) error {
	fs := e.flags("instance list")
	image := fs.String("image", "", "")
	publisher := fs.String("publisher", "", "")
	state := fs.String("state", "", "")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range map[string]string{"image_id": *image, "publisher": *publisher, "state": *state} {
		if v != "" {
			q.Set(k, v)
		}
	}
	ref := "/v1/instances"
	if len(q) > 0 {
		ref += "?" + q.Encode()
	}
	var resp struct {
		Instances []json.RawMessage `json:"instances"`
	}
	if err := e.api.call(e.ctx, "GET", ref, nil, &resp); err != nil {
		return err
	}
	return e.emitList(resp.Instances, []string{"ID", "IMAGE", "PROJECT", "HOST", "STATE", "CREATED"}, func(o object) []string {
		return []string{o.s("id"), o.s("image_id"), o.s("project_id"), o.s("host"), o.s("state"), o.s("created_at")}
	})
}

const instanceShowUsage = `usage: imgward instance show ID [--output table|json]

Show instance ID.
`

func instanceShow(e *env, args []string) error {
	ops, err := parse(e.flags("instance show"), args, "ID")
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "GET", path("v1", "instances", ops[0]), nil, &raw); err != nil {
		return err
	}
	return e.emitObject(raw, instanceOrder)
}

const instanceTerminateUsage = `usage: imgward instance terminate ID [--output table|json]

Terminate instance ID and print it, now terminated. Its image's keys are
no longer released to it.
`

func instanceTerminate(e *env, args []string) error {
	ops, err := parse(e.flags("instance terminate"), args, "ID")
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "DELETE", path("v1", "instances", ops[0]), nil, &raw); err != nil {
		return err
	}
	return e.emitObject(raw, instanceOrder)
}
