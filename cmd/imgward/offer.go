package main

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"io"
	"net/url"
	"strings"
)

var offerNoun = noun{
	name:    "offer",
	summary: "paid images: images offered for sale",
	commands: []command{
		{"create", offerCreateUsage, offerCreate},
		{"list", offerListUsage, offerList},
		{"show", offerShowUsage, offerShow},
		{"update", offerUpdateUsage, offerUpdate},
		{"withdraw", offerWithdrawUsage, offerWithdraw},
		{"usage", offerUsageUsage, offerUsage},
	},
}

var offerOrder = []string{"id", "image_id", "product_code", "title", "description", "price", "state", "verified",
	"owner", "created_at", "updated_at", "notice"}

// priceFlags are the flags of a price: a decimal amount, its currency and
// its unit, sent as the server takes them (the amount a string, never a
// float).
type priceFlags struct{ amount, currency, per *string }

func newPriceFlags(fs *flag.FlagSet) priceFlags {
	return priceFlags{fs.String("price", "", ""), fs.String("currency", "USD", ""), fs.String("per", "hour", "")}
}

func (p priceFlags) json() map[string]string {
	return map[string]string{"amount": *p.amount, "currency": *p.currency, "per": *p.per}
}

const offerCreateUsage = `usage: imgward offer create IMAGE --title T --price AMOUNT [flags] [--output table|json]

Offer image IMAGE of your project for sale and print the offer, with its
new product code. An unprotected image is sealed first (imgward_protect
full): buyers get its content only through the key broker.

Flags:
  --title T           the offer's title (required)
  --description D     its description
  --price AMOUNT      a decimal price, at most 6 fractional digits (required)
  --currency C        ISO 4217 currency (default USD)
  --per UNIT          hour, month or once (default hour)
`

func offerCreate(e *env, args []string) error {
	fs := e.flags("offer create")
	title := fs.String("title", "", "")
	desc := fs.String("description", "", "")
	price := newPriceFlags(fs)
	ops, err := parse(fs, args, "IMAGE")
	if err != nil {
		return err
	}
	if *title == "" || *price.amount == "" {
		return usageError("--title and --price are required")
	}
	var raw json.RawMessage
	in := map[string]any{"image_id": ops[0], "title": *title, "description": *desc, "price": price.json()}
	if err := e.api.call(e.ctx, "POST", "/v1/offers", in, &raw); err != nil {
		return err
	}
	return e.emitOffer(raw)
}

// emitOffer prints an offer, its price on one line.
func (e *env) emitOffer(raw json.RawMessage) error {
	var o struct {
		Price struct{ Amount, Currency, Per string } `json:"price"`
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return err
	}
	var m map[string]any
	json.Unmarshal(raw, &m)
	m["price"] = o.Price.Amount + " " + o.Price.Currency + " per " + o.Price.Per
	delete(m, "publisher")
	flat, _ := json.Marshal(m)
	if e.output == outputJSON {
		return e.emit(raw, nil)
	}
	return e.emitObject(flat, offerOrder)
}

const offerListUsage = `usage: imgward offer list [--publisher PROJECT] [--verified true|false] [--title TEXT] [--output table|json]

List active offers, all pages (a seller listing its own with --publisher
sees its withdrawn ones too).
`

func offerList(e *env, args []string) error {
	fs := e.flags("offer list")
	q := url.Values{}
	for _, name := range []string{"publisher", "verified", "title"} {
		fs.Func(name, "", func(v string) error { q.Set(name, v); return nil })
	}
	if _, err := parse(fs, args); err != nil {
		return err
	}
	var all []json.RawMessage
	for {
		var resp struct {
			Offers []json.RawMessage `json:"offers"`
		}
		if err := e.api.call(e.ctx, "GET", "/v1/offers?"+q.Encode(), nil, &resp); err != nil {
			return err
		}
		all = append(all, resp.Offers...)
		if len(resp.Offers) == 0 {
			break
		}
		var last struct{ ID string }
		json.Unmarshal(resp.Offers[len(resp.Offers)-1], &last)
		q.Set("marker", last.ID)
	}
	return e.emitList(all, []string{"ID", "TITLE", "PRICE", "STATE", "PUBLISHER", "VERIFIED", "PRODUCT CODE"}, func(o object) []string {
		p, _ := o["price"].(map[string]any)
		pub, _ := o["publisher"].(map[string]any)
		return []string{o.s("id"), o.s("title"), text(p["amount"]) + " " + text(p["currency"]) + "/" + text(p["per"]),
			o.s("state"), text(pub["display_name"]), o.s("verified"), o.s("product_code")}
	})
}

const offerShowUsage = `usage: imgward offer show ID [--output table|json]

Show offer ID.
`

func offerShow(e *env, args []string) error {
	ops, err := parse(e.flags("offer show"), args, "ID")
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "GET", path("v1", "offers", ops[0]), nil, &raw); err != nil {
		return err
	}
	return e.emitOffer(raw)
}

const offerUpdateUsage = `usage: imgward offer update ID [--title T] [--description D] [--price AMOUNT [--currency C] [--per UNIT]] [--output table|json]

Change your offer's text or price. Existing subscriptions keep the price
they were made at.
`

func offerUpdate(e *env, args []string) error {
	fs := e.flags("offer update")
	in := map[string]any{}
	fs.Func("title", "", func(v string) error { in["title"] = v; return nil })
	fs.Func("description", "", func(v string) error { in["description"] = v; return nil })
	price := newPriceFlags(fs)
	ops, err := parse(fs, args, "ID")
	if err != nil {
		return err
	}
	if *price.amount != "" {
		in["price"] = price.json()
	}
	if len(in) == 0 {
		return usageError("nothing to change: give --title, --description or --price")
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "PATCH", path("v1", "offers", ops[0]), in, &raw); err != nil {
		return err
	}
	return e.emitOffer(raw)
}

const offerWithdrawUsage = `usage: imgward offer withdraw ID [--output table|json]

Withdraw your offer: no new subscriptions; existing ones keep running
until their buyers cancel them.
`

func offerWithdraw(e *env, args []string) error {
	ops, err := parse(e.flags("offer withdraw"), args, "ID")
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := e.api.call(e.ctx, "DELETE", path("v1", "offers", ops[0]), nil, &raw); err != nil {
		return err
	}
	return e.emitOffer(raw)
}

const offerUsageUsage = `usage: imgward offer usage ID --from T --to T [--output csv|json|table]

Report your offer's usage per buyer within [from, to): instances,
instance-hours and the amount owed at each subscription's recorded price,
in exact decimals. Times are RFC 3339, such as 2026-12-01T00:00:00Z.
`

var usageHeader = []string{"SUBSCRIPTION", "PROJECT", "INSTANCES", "INSTANCE HOURS", "PRICE", "PER", "AMOUNT", "CURRENCY"}

func offerUsage(e *env, args []string) error {
	fs := e.bareFlags("offer usage")
	from := fs.String("from", "", "")
	to := fs.String("to", "", "")
	format := "table"
	for _, name := range []string{"output", "o"} {
		fs.Func(name, "", func(v string) error {
			if v != "csv" && v != "json" && v != "table" {
				return usageError("--output: want csv, json or table")
			}
			format = v
			return nil
		})
	}
	ops, err := parse(fs, args, "ID")
	if err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return usageError("--from and --to are required")
	}
	q := url.Values{"from": {*from}, "to": {*to}}
	var resp struct {
		Usage []json.RawMessage `json:"usage"`
	}
	if err := e.api.call(e.ctx, "GET", path("v1", "offers", ops[0], "usage")+"?"+q.Encode(), nil, &resp); err != nil {
		return err
	}
	rows, err := usageRows(resp.Usage)
	if err != nil {
		return err
	}
	switch format {
	case "json":
		e.output = outputJSON
		return e.emitList(resp.Usage, nil, nil)
	case "csv":
		return writeCSV(e.stdout, usageHeader, rows)
	}
	t := newTable(e.stdout, usageHeader...)
	for _, r := range rows {
		t.row(r...)
	}
	return t.flush()
}

func usageRows(raws []json.RawMessage) ([][]string, error) {
	objs, err := objects(raws)
	if err != nil {
		return nil, err
	}
	rows := make([][]string, len(objs))
	for i, o := range objs {
		p, _ := o["price"].(map[string]any)
		rows[i] = []string{o.s("subscription_id"), o.s("project_id"), o.s("instances"), o.s("instance_hours"),
			text(p["amount"]), text(p["per"]), o.s("amount"), o.s("currency")}
	}
	return rows, nil
}

// writeCSV writes RFC 4180 CSV. A cell that a spreadsheet would take for a
// formula is prefixed with a quote, since the cells come from the server.
func writeCSV(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	cw.Write(lowerAll(header))
	for _, r := range rows {
		for i, c := range r {
			if c != "" && strings.ContainsRune("=+-@", rune(c[0])) {
				r[i] = "'" + c
			}
		}
		cw.Write(r)
	}
	cw.Flush()
	return cw.Error()
}

func lowerAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ReplaceAll(strings.ToLower(s), " ", "_")
	}
	return out
}
