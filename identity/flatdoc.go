package identity

import (
	"imgward"
	"imgward/internal/flatjson"
)

// decodeFlat reads a document as Issue writes it, without reflection: an
// object of the eight members of Document, each at most once, each a plain
// string (flatjson), the times as strict RFC 3339 (what time.Time's JSON
// reads). ok is false for anything else, which decodeDocument then decodes
// with encoding/json as before; for every document that it reads,
// encoding/json reads the same (FuzzDecodeFlat). The caller checks the
// fields (Document.check) either way.
func decodeFlat(payload []byte) (d Document, ok bool) {
	s := flatjson.Scanner{B: payload}
	var seen [8]bool
	read := s.Members(func(name []byte) bool {
		v, ok := s.Str()
		if !ok {
			return false
		}
		var k int
		switch string(name) {
		case "instance_id":
			k, d.InstanceID = 0, imgward.InstanceID(v)
		case "image_id":
			k, d.ImageID = 1, imgward.ImageID(v)
		case "project_id":
			k, d.ProjectID = 2, imgward.ProjectID(v)
		case "user_id":
			k, d.UserID = 3, imgward.UserID(v)
		case "host":
			k, d.Host = 4, string(v)
		case "issued_at":
			k, ok = 5, d.IssuedAt.UnmarshalText(v) == nil
		case "expires_at":
			k, ok = 6, d.ExpiresAt.UnmarshalText(v) == nil
		case "nonce":
			k, d.Nonce = 7, string(v)
		default:
			return false
		}
		if !ok || seen[k] {
			return false // not a time, or a member twice
		}
		seen[k] = true
		return true
	})
	if !read {
		return Document{}, false
	}
	return d, true
}
