package main

import (
	"encoding/json"
)

// The rotation of the two keys an admin manages: the master key of image
// data keys, and the signing key of identity documents.

var keyNoun = noun{
	name:    "key",
	summary: "the master key that wraps the data keys of protected images",
	commands: []command{
		{"rotate", keyRotateUsage, keyRotate},
	},
}

const keyRotateUsage = `usage: imgward key rotate [--retire] [--output table|json]

Rotate the master key of image data keys. Needs the admin role. The KMS
adds a version to the key, and every image key record is re-wrapped to
it; the sealed images are not touched, and instances keep fetching them.
Prints the key id, its new version and how many records moved.

If the command fails or times out part way, run it again: it rotates once
more and moves every record still behind. No version is destroyed until
all records have left it.

Flags:
  --retire   then destroy every older version in the KMS, once no image
             key and no protected upload in progress still needs one
             (refused otherwise). Irreversible.
`

func keyRotate(e *env, args []string) error {
	fs := e.flags("key rotate")
	retire := fs.Bool("retire", false, "")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var in any // no body: a plain rotation
	if *retire {
		in = map[string]bool{"retire_below": true}
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "POST", "/v1/keys/rotate", in, &raw); err != nil {
		return err
	}
	return e.emitObject(raw, []string{"key_id", "version", "rewrapped", "retired"})
}

var identityNoun = noun{
	name:    "identity",
	summary: "the key that signs the identity documents of instances",
	commands: []command{
		{"rotate", identityRotateUsage, identityRotate},
	},
}

const identityRotateUsage = `usage: imgward identity rotate [--output table|json]

Make a new key sign the identity documents of instances launched from now
on. Needs the admin role. The former key keeps verifying the documents it
signed, which stay valid until they expire; GET /v1/identity/keys lists
both. Prints the new key's id (kid).
`

func identityRotate(e *env, args []string) error {
	fs := e.flags("identity rotate")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "POST", "/v1/identity/rotate", nil, &raw); err != nil {
		return err
	}
	return e.emitObject(raw, []string{"kid"})
}
