package main

import (
	"encoding/json"
	"net/url"
	"strings"
)

var subscriptionNoun = noun{
	name:    "subscription",
	summary: "paid images: your project's subscriptions to offers",
	commands: []command{
		{"create", subscriptionCreateUsage, subscriptionCreate},
		{"list", subscriptionListUsage, subscriptionList},
		{"cancel", subscriptionCancelUsage, subscriptionCancel},
	},
}

var subscriptionOrder = []string{"id", "offer_id", "project_id", "state", "price", "terms", "running_instances",
	"created_at", "cancelled_at"}

const subscriptionCreateUsage = `usage: imgward subscription create OFFER [--output table|json]

Subscribe your project to offer OFFER, accepting its terms and its price
as they are now, and print the subscription. Only then may the project
launch the offered image (or a copy of it).
`

func subscriptionCreate(e *env, args []string) error {
	ops, err := parse(e.flags("subscription create"), args, "OFFER")
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "POST", path("v1", "offers", ops[0], "subscriptions"), nil, &raw); err != nil {
		return err
	}
	return e.emitSubscription(raw)
}

func (e *env) emitSubscription(raw json.RawMessage) error {
	if e.output == outputJSON {
		return e.emit(raw, nil)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return err
	}
	m["price"] = priceText(m["price"])
	flat, _ := json.Marshal(m)
	return e.emitObject(flat, subscriptionOrder)
}

func priceText(v any) string {
	p, _ := v.(map[string]any)
	return text(p["amount"]) + " " + text(p["currency"]) + " per " + text(p["per"])
}

const subscriptionListUsage = `usage: imgward subscription list [--as buyer|seller] [--state active|cancelled] [--output table|json]

List your project's subscriptions, or with --as seller those of the buyers
of your offers, each with the instances running under it.
`

func subscriptionList(e *env, args []string) error {
	fs := e.flags("subscription list")
	q := url.Values{}
	for _, name := range []string{"as", "state"} {
		fs.Func(name, "", func(v string) error { q.Set(name, v); return nil })
	}
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var resp struct {
		Subscriptions []json.RawMessage `json:"subscriptions"`
	}
	if err := e.api.call(e.ctx, "GET", "/v1/subscriptions?"+q.Encode(), nil, &resp); err != nil {
		return err
	}
	return e.emitList(resp.Subscriptions, []string{"ID", "OFFER", "PROJECT", "STATE", "PRICE", "RUNNING"}, func(o object) []string {
		run, _ := o["running_instances"].([]any)
		ids := make([]string, len(run))
		for i, r := range run {
			ids[i] = text(r)
		}
		return []string{o.s("id"), o.s("offer_id"), o.s("project_id"), o.s("state"), priceText(o["price"]), strings.Join(ids, ",")}
	})
}

const subscriptionCancelUsage = `usage: imgward subscription cancel ID [--output table|json]

Cancel subscription ID: from now on the project may not launch the image,
and the key broker releases its key to none of the project's instances.
`

func subscriptionCancel(e *env, args []string) error {
	ops, err := parse(e.flags("subscription cancel"), args, "ID")
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "DELETE", path("v1", "subscriptions", ops[0]), nil, &raw); err != nil {
		return err
	}
	return e.emitSubscription(raw)
}
