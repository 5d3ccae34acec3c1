package server_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"imgward/broker"
)

// luksHead is the start of a qcow2 disk with LUKS encryption, enough for
// the catalog's check (the server runs no qemu-img; cmd/imgward's
// TestFetchLUKS uses real disks).
func luksHead(crypt uint32) []byte {
	b := make([]byte, 64<<10)
	copy(b, "QFI\xfb")
	binary.BigEndian.PutUint32(b[4:], 3)
	binary.BigEndian.PutUint32(b[32:], crypt)
	return b
}

// TestOwnerKey checks POST /v1/images/{id}/key: the owner of a luks image
// gets its key, wrapped; members, strangers and other modes get nothing,
// and a stranger cannot tell the image from an absent one.
func TestOwnerKey(t *testing.T) {
	c := newCloud(t)
	_, aliceTok := c.tenant("alice")
	bob, bobTok := c.tenant("bob")
	_, carolTok := c.tenant("carol")
	x := c.create(aliceTok, map[string]any{"imgward_protect": "luks", "disk_format": "qcow2"})

	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey})
	body := map[string]any{"public_key": json.RawMessage(jwk)}
	var rel struct{ Key string }
	c.call("POST", "/v1/images/"+x+"/key", aliceTok, body, 200, &rel)
	key, err := broker.Open(rel.Key, priv)
	if err != nil || len(key) != 32 {
		t.Fatalf("owner's key: %d bytes, %v", len(key), err)
	}

	// The upload must be a LUKS qcow2; a plain one leaves the image queued.
	r := c.call("PUT", "/v2/images/"+x+"/file", aliceTok, luksHead(0), 400, nil)
	if !strings.Contains(r.message(), "encrypted with LUKS") {
		t.Errorf("plain qcow2 upload: %q", r.message())
	}
	disk := luksHead(2)
	c.call("PUT", "/v2/images/"+x+"/file", aliceTok, disk, 204, nil)
	c.share(aliceTok, x, bob, bobTok)
	got := c.call("GET", "/v2/images/"+x+"/file", bobTok, nil, 200, nil)
	if got.header.Get("X-Imgward-Sealed") != "qcow2-luks" || !bytes.Equal(got.body, disk) {
		t.Errorf("member's download: %q, %d bytes", got.header.Get("X-Imgward-Sealed"), len(got.body))
	}

	r = c.do("POST", "/v1/images/"+x+"/key", bobTok, body)
	if r.code != 403 || !strings.Contains(r.message(), "only the image's owner") {
		t.Errorf("member asks for the key: %d %s", r.code, r.body)
	}
	stranger := c.do("POST", "/v1/images/"+x+"/key", carolTok, body)
	absent := c.do("POST", "/v1/images/00000000-0000-4000-8000-000000000000/key", carolTok, body)
	if stranger.code != 404 || !bytes.Equal(stranger.body, absent.body) {
		t.Errorf("stranger: %d %s; absent image: %d %s", stranger.code, stranger.body, absent.code, absent.body)
	}
	full := c.image(aliceTok, map[string]any{"imgward_protect": "full"}, []byte("x"))
	if r := c.do("POST", "/v1/images/"+full+"/key", aliceTok, body); r.code != 403 {
		t.Errorf("owner asks for a full image's key: %d %s", r.code, r.body)
	}

	// A host of Bob's instance gets the same key from the broker.
	_, doc := c.launch(bobTok, x)
	r, hostKey := c.release(doc, x)
	if r.code != 200 || !bytes.Equal(hostKey, key) {
		t.Errorf("release to Bob's instance: %d %s", r.code, r.body)
	}
}
