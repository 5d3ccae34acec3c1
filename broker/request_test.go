package broker

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// jsonRequest decodes body as api.decode does (unknown members refused,
// nothing after the value): the reference for DecodeRequest.
func jsonRequest(body []byte) (Request, error) {
	var req Request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return Request{}, err
	}
	if dec.More() {
		return Request{}, errTrailing
	}
	return req, nil
}

var errTrailing = errors.New("trailing data")

func sameRequest(a, b Request) bool {
	return a.Identity == b.Identity && a.ImageID == b.ImageID && bytes.Equal(a.PublicKey, b.PublicKey)
}

func TestDecodeRequest(t *testing.T) {
	jwk, _, _ := jwkOf(t)
	for _, c := range []struct {
		name string
		body string
		ok   bool // read by DecodeRequest; else left to encoding/json
	}{
		{"hosts' shape", `{"identity":"a.b.c","image_id":"img-1","public_key":` + jwk + `}`, true},
		{"spaced, reordered", "{ \"public_key\" : " + jwk + " ,\n\"image_id\":\"img-1\", \"identity\":\"a.b.c\" }\n", true},
		{"members absent", `{"identity":"a.b.c"}`, true},
		{"empty object", `{}`, true},
		{"unknown member", `{"identity":"a.b.c","extra":"x"}`, false},
		{"member twice", `{"identity":"a","identity":"b"}`, false},
		{"escaped string", `{"identity":"a\u002eb"}`, false},
		{"non-ASCII", `{"identity":"é"}`, false},
		{"null", `{"identity":null}`, false},
		{"number", `{"image_id":7}`, false},
		{"key with an array", `{"public_key":{"kty":"EC","key_ops":["x"]}}`, false},
		{"key as a string", `{"public_key":"k"}`, false},
		{"trailing data", `{"identity":"a"}x`, false},
		{"trailing brace", `{"identity":"a"}}`, false},
		{"unclosed", `{"identity":"a"`, false},
		{"missing comma", `{"identity":"a" "image_id":"b"}`, false},
		{"leading comma", `{,"identity":"a"}`, false},
		{"not an object", `["a"]`, false},
		{"empty", ``, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := DecodeRequest([]byte(c.body))
			if ok != c.ok {
				t.Fatalf("DecodeRequest read it: %v, want %v", ok, c.ok)
			}
			if !ok {
				return
			}
			want, err := jsonRequest([]byte(c.body))
			if err != nil || !sameRequest(got, want) {
				t.Errorf("DecodeRequest %+v; encoding/json %+v, %v", got, want, err)
			}
		})
	}
}

// FuzzDecodeRequest checks that every body DecodeRequest reads,
// encoding/json reads without error as the same Request.
func FuzzDecodeRequest(f *testing.F) {
	jwk, _, _ := jwkOf(f)
	f.Add(`{"identity":"a.b.c","image_id":"img-1","public_key":` + jwk + `}`)
	f.Add(`{"identity":"a","identity":"b"}`)
	f.Add(`{"public_key":{}} `)
	f.Fuzz(func(t *testing.T, body string) {
		got, ok := DecodeRequest([]byte(body))
		if !ok {
			return
		}
		want, err := jsonRequest([]byte(body))
		if err != nil {
			t.Fatalf("DecodeRequest reads %q, encoding/json refuses it: %v", body, err)
		}
		if !sameRequest(got, want) {
			t.Fatalf("%q: DecodeRequest %+v, encoding/json %+v", body, got, want)
		}
	})
}
