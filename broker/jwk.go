package broker

import (
	"crypto/ecdh"

	"imgward"
	"imgward/internal/flatjson"
)

// parseFlatJWK reads the JWK that hosts send, without reflection or
// go-jose: an object of exactly the members "kty":"EC", "crv":"P-256", "x"
// and "y", in any order, once each, each a plain string (flatjson), x and
// y the 43 base64url characters (unpadded) of a 32-byte coordinate, and a
// point on the curve (crypto/ecdh checks it). Anything else is not refused
// here: ok is false and parsePublicKey hands the key to go-jose, which
// accepts or refuses it as it did before this path was added, so that both
// paths agree on every key that this one accepts (FuzzParsePublicKey
// checks it against go-jose).
func parseFlatJWK(raw []byte) (pub *ecdh.PublicKey, ok bool) {
	s := flatjson.Scanner{B: raw}
	var kty, crv, x, y []byte
	read := s.Members(func(name []byte) bool {
		var dst *[]byte
		switch string(name) {
		case "kty":
			dst = &kty
		case "crv":
			dst = &crv
		case "x":
			dst = &x
		case "y":
			dst = &y
		}
		v, ok := s.Str()
		if dst == nil || !ok || *dst != nil {
			return false // unknown, not plain, or twice
		}
		*dst = v
		return true
	})
	if !read || string(kty) != "EC" || string(crv) != "P-256" || len(x) != 43 || len(y) != 43 {
		return nil, false
	}
	var point [65]byte
	point[0] = 4 // uncompressed
	if n, err := b64.Decode(point[1:33], x); err != nil || n != 32 {
		return nil, false
	}
	if n, err := b64.Decode(point[33:], y); err != nil || n != 32 {
		return nil, false
	}
	pub, err := ecdh.P256().NewPublicKey(point[:])
	if err != nil {
		return nil, false
	}
	return pub, true
}

// DecodeRequest reads the body of a key release in the shape that hosts
// send, without reflection: an object of the members "identity",
// "image_id" and "public_key", once each, the first two plain strings
// (flatjson) and public_key an object of plain strings, kept as its bytes.
// ok is false for anything else, which the caller decodes with
// encoding/json as before (unknown members refused), so that errors read
// as they did; for every body that it reads, encoding/json reads the same
// Request (FuzzDecodeRequest).
func DecodeRequest(body []byte) (req Request, ok bool) {
	s := flatjson.Scanner{B: body}
	var id, img, pub []byte
	read := s.Members(func(name []byte) bool {
		var v []byte
		var dst *[]byte
		ok := false
		switch string(name) {
		case "identity":
			v, ok = s.Str()
			dst = &id
		case "image_id":
			v, ok = s.Str()
			dst = &img
		case "public_key":
			v, ok = s.Object()
			dst = &pub
		}
		if dst == nil || !ok || *dst != nil {
			return false // unknown, not plain, or twice
		}
		*dst = v
		return true
	})
	if !read {
		return Request{}, false
	}
	return Request{Identity: string(id), ImageID: imgward.ImageID(img), PublicKey: pub}, true
}
