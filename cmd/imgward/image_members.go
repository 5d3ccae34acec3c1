package main

import "encoding/json"

// memberOrder is the order in which a member's fields are shown.
var memberOrder = []string{"image_id", "member_id", "status", "created_at", "updated_at"}

const imageShareUsage = `usage: imgward image share IMAGE PROJECT [--output table|json]

Offer image IMAGE to project PROJECT. The image must have visibility
shared. The project sees the offer as pending, and may use the image only
once one of its users accepts it (imgward image accept IMAGE).
`

func imageShare(e *env, args []string) error {
	ops, err := parse(e.flags("image share"), args, "IMAGE", "PROJECT")
	if err != nil {
		return err
	}
	var raw json.RawMessage
	in := map[string]string{"member": ops[1]}
	if err := e.api.call(e.ctx, "POST", path("v2", "images", ops[0], "members"), in, &raw); err != nil {
		return err
	}
	return e.emitObject(raw, memberOrder, "schema")
}

const imageUnshareUsage = `usage: imgward image unshare IMAGE PROJECT

Withdraw image IMAGE from project PROJECT, whatever its acceptance.
`

func imageUnshare(e *env, args []string) error {
	ops, err := parse(e.bareFlags("image unshare"), args, "IMAGE", "PROJECT")
	if err != nil {
		return err
	}
	return e.api.call(e.ctx, "DELETE", path("v2", "images", ops[0], "members", ops[1]), nil, nil)
}

const imageMembersUsage = `usage: imgward image members IMAGE [--output table|json]

List the projects image IMAGE is shared with, and whether each accepted.
The owner sees all members; a member sees only itself.
`

func imageMembers(e *env, args []string) error {
	ops, err := parse(e.flags("image members"), args, "IMAGE")
	if err != nil {
		return err
	}
	var resp struct {
		Members []json.RawMessage `json:"members"`
	}
	if err := e.api.call(e.ctx, "GET", path("v2", "images", ops[0], "members"), nil, &resp); err != nil {
		return err
	}
	return e.emitList(resp.Members, []string{"MEMBER", "STATUS", "CREATED", "UPDATED"}, func(o object) []string {
		return []string{o.s("member_id"), o.s("status"), o.s("created_at"), o.s("updated_at")}
	})
}

const imageAcceptUsage = `usage: imgward image accept IMAGE [--output table|json]

Accept image IMAGE, shared with the caller's project, so that the project
may download and launch it and sees it in imgward image list.
`

func imageAccept(e *env, args []string) error {
	return e.setMemberStatus("image accept", args, "accepted")
}

const imageRejectUsage = `usage: imgward image reject IMAGE [--output table|json]

Reject image IMAGE, shared with the caller's project: the project may not
use it, and it leaves the default listing. Accepting later is allowed.
`

func imageReject(e *env, args []string) error {
	return e.setMemberStatus("image reject", args, "rejected")
}

// setMemberStatus sets the caller's project's membership of an image.
func (e *env) setMemberStatus(name string, args []string, status string) error {
	ops, err := parse(e.flags(name), args, "IMAGE")
	if err != nil {
		return err
	}
	project, err := e.api.whoami(e.ctx)
	if err != nil {
		return err
	}
	var raw json.RawMessage
	in := map[string]string{"status": status}
	if err := e.api.call(e.ctx, "PUT", path("v2", "images", ops[0], "members", project), in, &raw); err != nil {
		return err
	}
	return e.emitObject(raw, memberOrder, "schema")
}
