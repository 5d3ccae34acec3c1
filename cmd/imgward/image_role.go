package main

import "encoding/json"

const imageRoleUsage = `usage: imgward image role IMAGE ROLE [--output table|json]

Give an image a role, such as web, database or batch: detection learns a
baseline of normal behaviour per role (imgward baseline build) and scores
each instance against its image's role. An instance whose image has no
role is not scored. ROLE is at most 64 printable characters; "" removes
the role. Needs the admin role.
`

func imageRole(e *env, args []string) error {
	ops, err := parse(e.flags("image role"), args, "IMAGE", "ROLE")
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "PUT", path("v1", "images", ops[0], "role"), map[string]string{"role": ops[1]}, &raw); err != nil {
		return err
	}
	return e.emitObject(raw, []string{"image_id", "role"})
}
