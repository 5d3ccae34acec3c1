package server_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"imgward/seal"
)

// TestPaidRobbery is the story of issue 13 over real HTTP: Alice sells an
// image X; Bob subscribes, runs it, fetches its plaintext through the key
// broker and tries every route to use it without paying or to pass it on.
func TestPaidRobbery(t *testing.T) { paidRobbery(t, newCloud(t)) }

// TestPaidRobberyPostgres is the story with the store of several nodes.
func TestPaidRobberyPostgres(t *testing.T) { paidRobbery(t, newPostgresCloud(t)) }

type offerJSON struct {
	ID, State   string
	ProductCode string `json:"product_code"`
	Sealed      bool
	Verified    bool
	Publisher   struct {
		ProjectID string `json:"project_id"`
	}
	Price struct{ Amount, Currency, Per string }
}

type subJSON struct {
	ID, State, Terms string
	ProjectID        string   `json:"project_id"`
	RunningInstances []string `json:"running_instances"`
	Price            struct{ Amount string }
}

func paidRobbery(t *testing.T, c *cloud) {
	alice, aliceTok := c.tenant("alice")
	bob, bobTok := c.tenant("bob")
	_, carolTok := c.tenant("carol")
	deny := func(name string, r *response, code int, msg string) {
		t.Helper()
		if r.code != code || !strings.Contains(r.message(), msg) {
			t.Errorf("%s: %d %q, want %d %q", name, r.code, r.message(), code, msg)
		}
	}

	// Alice's image X is unprotected: offering it seals it.
	files := rootfs(3, 200)
	plain := tarOf(t, files, time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	x := c.image(aliceTok, nil, plain)
	offer := func(price any) map[string]any {
		return map[string]any{"image_id": x, "title": "Hardened LAMP", "description": "CIS level 2", "price": price}
	}
	for _, amount := range []any{"-0.12", "abc", "0.1234567", "1e3", "", "0x10", " 1", "1.", ".5", 12} {
		r := c.do("POST", "/v1/offers", aliceTok, offer(map[string]any{"amount": amount, "currency": "USD", "per": "hour"}))
		if r.code != 400 {
			t.Errorf("price %v: %d %s, want 400", amount, r.code, r.body)
		}
	}
	deny("bad unit", c.do("POST", "/v1/offers", aliceTok, offer(map[string]any{"amount": "1", "currency": "USD", "per": "day"})), 400, "per")
	deny("not the owner", c.do("POST", "/v1/offers", bobTok, offer(map[string]any{"amount": "1", "currency": "USD", "per": "hour"})), 404, "no such image")
	var o offerJSON
	c.call("POST", "/v1/offers", aliceTok, offer(map[string]string{"amount": "0.12", "currency": "USD", "per": "hour"}), 201, &o)
	if !o.Sealed || o.State != "active" || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(o.ProductCode) ||
		o.Publisher.ProjectID != alice || o.Verified || o.Price.Amount != "0.120000" {
		t.Fatalf("new offer: %+v", o)
	}
	deny("offered twice", c.do("POST", "/v1/offers", aliceTok, offer(map[string]string{"amount": "1", "currency": "USD", "per": "hour"})), 409, "offered already")

	// Everyone sees the offer and the image, with its product code.
	var list struct{ Offers []offerJSON }
	c.call("GET", "/v1/offers?title=lamp", carolTok, nil, 200, &list)
	if len(list.Offers) != 1 || list.Offers[0].ID != o.ID {
		t.Errorf("carol's offer listing: %+v", list.Offers)
	}
	c.call("GET", "/v1/offers?verified=true", carolTok, nil, 200, &list)
	if len(list.Offers) != 0 {
		t.Errorf("verified offers of an unverified seller: %+v", list.Offers)
	}
	var img map[string]any
	c.call("GET", "/v2/images/"+x, carolTok, nil, 200, &img)
	if img["imgward_product_code"] != o.ProductCode || img["visibility"] != "community" || img["imgward_protect"] != "full" {
		t.Errorf("offered image as Carol sees it: code %v, visibility %v, protect %v",
			img["imgward_product_code"], img["visibility"], img["imgward_protect"])
	}
	sealed := c.call("GET", "/v2/images/"+x+"/file", bobTok, nil, 200, nil)
	if !bytes.HasPrefix(sealed.body, []byte(seal.Magic)) || bytes.Contains(sealed.body, files[0].data) {
		t.Fatal("a stranger's download of the offered image is not sealed")
	}

	// Bob may not launch before he subscribes; two racing subscriptions
	// make one.
	deny("launch unsubscribed", c.do("POST", "/v1/instances", bobTok, map[string]string{"image_id": x, "host": "compute-1"}),
		403, "subscribe to offer "+o.ID+" first")
	codes := make([]int, 6)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = c.do("POST", "/v1/offers/"+o.ID+"/subscriptions", bobTok, nil).code
		}()
	}
	wg.Wait()
	if n := strings.Count(fmt.Sprint(codes), "201"); n != 1 || strings.Count(fmt.Sprint(codes), "409") != len(codes)-1 {
		t.Errorf("racing subscriptions answered %v, want one 201 and the rest 409", codes)
	}
	// The price changes: Bob's subscription keeps the one he accepted.
	if code := patchOffer(t, c, aliceTok, o.ID, `{"price":{"amount":"0.5","currency":"USD","per":"hour"}}`); code != 200 {
		t.Fatalf("changing the price: %d", code)
	}
	if code := patchOffer(t, c, aliceTok, o.ID, `{"price":{"amount":"0.5000001","currency":"USD","per":"hour"}}`); code != 400 {
		t.Errorf("a price of 7 fractional digits: %d, want 400", code)
	}
	if code := patchOffer(t, c, bobTok, o.ID, `{"title":"mine"}`); code != 403 {
		t.Errorf("a stranger's change: %d, want 403", code)
	}
	var subs struct{ Subscriptions []subJSON }
	c.call("GET", "/v1/subscriptions", bobTok, nil, 200, &subs)
	if len(subs.Subscriptions) != 1 || subs.Subscriptions[0].Price.Amount != "0.120000" ||
		!strings.Contains(subs.Subscriptions[0].Terms, "CIS level 2") {
		t.Fatalf("bob's subscriptions: %+v", subs.Subscriptions)
	}
	bobSub := subs.Subscriptions[0].ID

	// Bob runs X for two hours and his host fetches the plaintext.
	t0 := c.clock()
	i1, id1 := c.launch(bobTok, x)
	r, key := c.release(id1, x)
	if r.code != 200 {
		t.Fatalf("release to Bob's subscribed instance: %d %s", r.code, r.body)
	}
	_, sr, err := seal.NewReader(bytes.NewReader(sealed.body), key)
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := got.ReadFrom(sr); err != nil || !bytes.Equal(got.Bytes(), plain) {
		t.Fatalf("plaintext through the broker differs from the original (%v)", err)
	}
	c.call("GET", "/v1/offers/"+o.ID+"/subscriptions", aliceTok, nil, 200, &subs)
	if len(subs.Subscriptions) != 1 || subs.Subscriptions[0].ProjectID != bob ||
		fmt.Sprint(subs.Subscriptions[0].RunningInstances) != "["+i1+"]" {
		t.Errorf("alice's buyers: %+v", subs.Subscriptions)
	}
	c.advance(2 * time.Hour)
	c.call("DELETE", "/v1/instances/"+i1, bobTok, nil, 200, nil)
	q := "?from=" + url.QueryEscape(t0.Add(-time.Hour).Format(time.RFC3339Nano)) +
		"&to=" + url.QueryEscape(t0.Add(3*time.Hour).Format(time.RFC3339Nano))
	var usage struct {
		Usage []struct {
			ProjectID     string `json:"project_id"`
			InstanceHours string `json:"instance_hours"`
			Amount        string
			Currency      string
		}
	}
	c.call("GET", "/v1/offers/"+o.ID+"/usage"+q, aliceTok, nil, 200, &usage)
	if len(usage.Usage) != 1 || usage.Usage[0].ProjectID != bob || usage.Usage[0].InstanceHours != "2.000000" ||
		usage.Usage[0].Amount != "0.240000" || usage.Usage[0].Currency != "USD" {
		t.Errorf("seller's usage report: %+v", usage.Usage)
	}
	c.call("GET", "/v1/usage"+q, bobTok, nil, 200, &usage)
	if len(usage.Usage) != 1 || usage.Usage[0].Amount != "0.240000" {
		t.Errorf("buyer's usage report: %+v", usage.Usage)
	}
	deny("usage by the buyer", c.do("GET", "/v1/offers/"+o.ID+"/usage"+q, bobTok, nil), 403, "only the seller")

	// Re-upload: Bob uploads the plaintext whole, and with small edits.
	// Both carry X's product code, may not be shared, made community or
	// offered, and launching them needs his subscription.
	var copies []string
	for name, data := range map[string][]byte{"whole": got.Bytes(), "edited": rebundle(t, files)} {
		y := c.image(bobTok, nil, data)
		copies = append(copies, y)
		c.call("GET", "/v2/images/"+y, bobTok, nil, 200, &img)
		if img["imgward_product_code"] != o.ProductCode {
			t.Errorf("%s re-upload carries product code %v, want %s", name, img["imgward_product_code"], o.ProductCode)
		}
		c.call("POST", "/v1/flags/"+y+"/clear", c.admin, nil, 200, nil) // the flag cleared, the code stays
		deny(name+" re-upload made community", c.call("PATCH", "/v2/images/"+y, bobTok,
			`[{"op":"replace","path":"/visibility","value":"community"}]`, 403, nil), 403, "product code of offer "+o.ID)
		c.call("PATCH", "/v2/images/"+y, bobTok, `[{"op":"replace","path":"/visibility","value":"shared"}]`, 403, nil)
		deny(name+" re-upload offered", c.do("POST", "/v1/offers", bobTok, map[string]any{"image_id": y, "title": "cheap LAMP",
			"price": map[string]string{"amount": "0.01", "currency": "USD", "per": "hour"}}), 409, "product code of offer "+o.ID)
		c.launch(bobTok, y) // under his subscription, as AWS allows
	}

	// Another project: Carol sees X, as everyone does, but may not launch
	// it without a subscription of her own; subscribed, she may, and her
	// instance gets the key only while she stays subscribed.
	deny("another project without subscription", c.do("POST", "/v1/instances", carolTok, map[string]string{"image_id": x, "host": "compute-1"}),
		403, "subscribe to offer")
	// Nor may she have X's key released to an instance of hers of another
	// image.
	_, carolOwn := c.launch(carolTok, c.image(carolTok, nil, []byte("carol's own disk")))
	r, _ = c.release(carolOwn, x)
	deny("another project's instance", r, 403, "identity document is for another image")
	var carolSub subJSON
	c.call("POST", "/v1/offers/"+o.ID+"/subscriptions", carolTok, nil, 201, &carolSub)
	_, cid := c.launch(carolTok, x)

	// Cancelled subscription: Bob's running instance gets no key, and he
	// may launch neither X nor his copies.
	_, id2 := c.launch(bobTok, x)
	c.call("DELETE", "/v1/subscriptions/"+bobSub, carolTok, nil, 404, nil)
	c.call("DELETE", "/v1/subscriptions/"+bobSub, bobTok, nil, 200, nil)
	r, _ = c.release(id2, x)
	deny("release after cancelling", r, 403, "subscribe to offer "+o.ID+" first")
	deny("launch after cancelling", c.do("POST", "/v1/instances", bobTok, map[string]string{"image_id": x, "host": "compute-1"}),
		403, "subscribe to offer")
	for _, y := range copies {
		deny("launch of a copy after cancelling", c.do("POST", "/v1/instances", bobTok, map[string]string{"image_id": y, "host": "compute-1"}),
			403, "subscribe to offer "+o.ID+" first")
	}
	if r, _ := c.release(cid, x); r.code != 200 {
		t.Errorf("carol's subscribed instance: %d %s", r.code, r.body)
	}

	// Deleting X: refused while on sale, then while Carol subscribes.
	deny("delete on sale", c.do("DELETE", "/v2/images/"+x, aliceTok, nil), 409, "withdraw it first")
	c.call("DELETE", "/v1/offers/"+o.ID, aliceTok, nil, 200, nil)
	c.call("POST", "/v1/offers/"+o.ID+"/subscriptions", bobTok, nil, 409, nil)
	deny("delete with a subscriber", c.do("DELETE", "/v2/images/"+x, aliceTok, nil), 409, "active subscriptions")
	c.call("DELETE", "/v1/subscriptions/"+carolSub.ID, carolTok, nil, 200, nil)
	c.call("DELETE", "/v2/images/"+x, aliceTok, nil, 204, nil)

	checkPaidAudit(t, c, []string{"subscribe to offer " + o.ID + " first", "not the seller",
		"image is on sale as offer " + o.ID + "; withdraw it first", "subscription of another project"})
}

// patchOffer sends a PATCH of an offer, a JSON object of the fields that
// change, and returns the status.
func patchOffer(t *testing.T, c *cloud, token, id, body string) int {
	req, _ := http.NewRequest("PATCH", c.url+"/v1/offers/"+id, strings.NewReader(body))
	req.Header.Set("X-Auth-Token", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// checkPaidAudit checks that every reason appears in a denied entry.
func checkPaidAudit(t *testing.T, c *cloud, reasons []string) {
	var page struct {
		Entries []struct{ Action, Result, Reason string }
	}
	c.call("GET", "/v1/audit?limit=1000", c.admin, nil, 200, &page)
	seen := map[string]bool{}
	for _, e := range page.Entries {
		if e.Result == "denied" {
			seen[e.Reason] = true
		}
	}
	for _, r := range reasons {
		if !seen[r] {
			t.Errorf("no audited denial %q", r)
		}
	}
}
