package server_test

import (
	"strings"
	"testing"
	"time"
)

// TestOfferChecks covers what issue 13 asks of offers beyond the robbery
// story: a flagged image is not offered (409 saying so), and the listing
// filters by publisher and pages by marker and limit.
func TestOfferChecks(t *testing.T) { offerChecks(t, newCloud(t)) }

// TestOfferChecksPostgres is TestOfferChecks on PostgreSQL.
func TestOfferChecksPostgres(t *testing.T) { offerChecks(t, newPostgresCloud(t)) }

func offerChecks(t *testing.T, c *cloud) {
	alice, aliceTok := c.tenant("alice")
	_, bobTok := c.tenant("bob")
	_, carolTok := c.tenant("carol")
	offer := func(token, image, title string) *response {
		return c.do("POST", "/v1/offers", token, map[string]any{"image_id": image, "title": title,
			"price": map[string]string{"amount": "1", "currency": "USD", "per": "month"}})
	}

	// Alice uploads the plaintext of Bob's protected image: flagged as
	// derived, it may not be offered.
	plain := tarOf(t, rootfs(11, 150), time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC))
	c.image(bobTok, map[string]any{"imgward_protect": "full"}, plain)
	stolen := c.image(aliceTok, nil, plain)
	if r := offer(aliceTok, stolen, "mine"); r.code != 409 || !strings.Contains(r.message(), "image is flagged") {
		t.Errorf("offer of a flagged image: %d %q, want 409 saying it is flagged", r.code, r.message())
	}

	// Three offers, two of Alice's: filtered by publisher, and paged.
	var ids []string
	for _, o := range []struct{ token, title string }{{aliceTok, "a1"}, {bobTok, "b1"}, {aliceTok, "a2"}} {
		var v offerJSON
		c.call("POST", "/v1/offers", o.token, map[string]any{"image_id": c.image(o.token, nil, []byte("disk "+o.title)),
			"title": o.title, "price": map[string]string{"amount": "1", "currency": "USD", "per": "month"}}, 201, &v)
		ids = append(ids, v.ID)
		c.advance(time.Second) // listed by creation time
	}
	list := func(query string) string {
		var l struct{ Offers []offerJSON }
		c.call("GET", "/v1/offers"+query, carolTok, nil, 200, &l)
		var got []string
		for _, o := range l.Offers {
			got = append(got, o.ID)
		}
		return strings.Join(got, " ")
	}
	for _, tt := range []struct{ query, want string }{
		{"?publisher=" + alice, ids[0] + " " + ids[2]},
		{"?limit=2", ids[0] + " " + ids[1]},
		{"?limit=2&marker=" + ids[1], ids[2]},
		{"?publisher=" + alice + "&marker=" + ids[0], ids[2]},
	} {
		if got := list(tt.query); got != tt.want {
			t.Errorf("GET /v1/offers%s: %s, want %s", tt.query, got, tt.want)
		}
	}
	if r := c.do("GET", "/v1/offers?limit=0", carolTok, nil); r.code != 400 {
		t.Errorf("limit=0: %d, want 400", r.code)
	}
}
