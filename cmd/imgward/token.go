package main

import (
	"encoding/json"
	"fmt"
	"time"
)

var tokenNoun = noun{
	name:    "token",
	summary: "a user's API tokens: issue more, list them by id, revoke one",
	commands: []command{
		{"create", tokenCreateUsage, tokenCreate},
		{"list", tokenListUsage, tokenList},
		{"revoke", tokenRevokeUsage, tokenRevoke},
	},
}

// maxExpires matches the server's bound on a token's lifetime.
const maxExpires = 10 * 365 * 24 * time.Hour

const tokenCreateUsage = `usage: imgward token create USER [--expires DURATION] [--output table|json]

Issue another API token for user USER (its id) and print it. Needs the
admin role. The token is shown this once and stored only as a hash; the
user's other tokens keep working. Audited.

Flags:
  --expires D  the token is refused after D (such as 24h or 90m; at most
               87600h); without it the token does not expire
`

func tokenCreate(e *env, args []string) error {
	fs := e.flags("token create")
	expires := fs.Duration("expires", 0, "")
	ops, err := parse(fs, args, "USER")
	if err != nil {
		return err
	}
	if *expires < 0 || *expires > maxExpires || (*expires > 0 && *expires < time.Second) {
		return usageError(fmt.Sprintf("--expires %s: want 1s to 87600h", *expires))
	}
	in := map[string]any{}
	if *expires > 0 {
		in["expires_in"] = int64(*expires / time.Second)
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "POST", path("v1", "users", ops[0], "tokens"), in, &raw); err != nil {
		return err
	}
	if err := e.emitObject(raw, []string{"id", "user_id", "created_at", "expires_at", "token"}, "revoked_at"); err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "note: the token is shown only once; store it now (export IMGWARD_TOKEN=...)")
	return nil
}

const tokenListUsage = `usage: imgward token list USER [--output table|json]

List the tokens of user USER, oldest first, revoked and expired ones too.
Needs the admin role. A token is shown by its id, the first 16 hex digits
of its SHA-256 (printf %s "$TOKEN" | sha256sum | cut -c1-16), never by
the secret.
`

func tokenList(e *env, args []string) error {
	fs := e.flags("token list")
	ops, err := parse(fs, args, "USER")
	if err != nil {
		return err
	}
	var resp struct {
		Tokens []json.RawMessage `json:"tokens"`
	}
	if err := e.api.call(e.ctx, "GET", path("v1", "users", ops[0], "tokens"), nil, &resp); err != nil {
		return err
	}
	return e.emitList(resp.Tokens, []string{"ID", "CREATED", "EXPIRES", "REVOKED"}, func(o object) []string {
		return []string{o.s("id"), o.s("created_at"), o.s("expires_at"), o.s("revoked_at")}
	})
}

const tokenRevokeUsage = `usage: imgward token revoke USER TOKEN-ID [--output table|json]

Revoke the token TOKEN-ID (as token list shows it) of user USER: it is
refused from the next request on. Needs the admin role. Revoking a revoked
token keeps its first revocation time. Audited.
`

func tokenRevoke(e *env, args []string) error {
	fs := e.flags("token revoke")
	ops, err := parse(fs, args, "USER", "TOKEN-ID")
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "DELETE", path("v1", "users", ops[0], "tokens", ops[1]), nil, &raw); err != nil {
		return err
	}
	return e.emitObject(raw, []string{"id", "user_id", "created_at", "expires_at", "revoked_at"})
}
