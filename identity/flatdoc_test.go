package identity

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
)

// jsonDocument decodes payload as decodeDocument did before decodeFlat:
// the reference that decodeFlat must agree with.
func jsonDocument(payload []byte) (Document, bool) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	var d Document
	if err := dec.Decode(&d); err != nil {
		return Document{}, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return Document{}, false
	}
	return d, true
}

func sameDocument(a, b Document) bool {
	return a.InstanceID == b.InstanceID && a.ImageID == b.ImageID && a.ProjectID == b.ProjectID &&
		a.UserID == b.UserID && a.Host == b.Host && a.Nonce == b.Nonce &&
		a.IssuedAt.Equal(b.IssuedAt) && a.ExpiresAt.Equal(b.ExpiresAt) &&
		a.IssuedAt.Location().String() == b.IssuedAt.Location().String()
}

func TestDecodeFlat(t *testing.T) {
	d := sampleDoc()
	d.IssuedAt, d.ExpiresAt, d.Nonce = t0, t0.Add(DefaultTTL), "AAAAAAAAAAAAAAAAAAAAAA"
	issued, _ := json.Marshal(d)
	doc := string(issued)
	for _, c := range []struct {
		name    string
		payload string
		flat    bool // read by decodeFlat
	}{
		{"as issued", doc, true},
		{"spaced", strings.ReplaceAll(strings.ReplaceAll(doc, `","`, "\" ,\n\""), `":"`, `" : "`) + "\n", true},
		{"members absent", `{"host":"hv-1"}`, true},
		{"unknown member", strings.Replace(doc, `{`, `{"kid":"x",`, 1), false},
		{"member twice", strings.Replace(doc, `{`, `{"host":"a",`, 1), false},
		{"escaped", strings.Replace(doc, `"host":"`, `"host":"\u0061`, 1), false},
		{"upper-case name", strings.Replace(doc, `"host"`, `"HOST"`, 1), false},
		{"time not RFC 3339", strings.Replace(doc, `"issued_at":"2`, `"issued_at":"x2`, 1), false},
		{"time null", `{"issued_at":null}`, false},
		{"trailing data", doc + "x", false},
		{"two documents", doc + doc, false},
		{"not an object", `[]`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := decodeFlat([]byte(c.payload))
			if ok != c.flat {
				t.Fatalf("decodeFlat read it: %v, want %v", ok, c.flat)
			}
			if !ok {
				return
			}
			if want, ok := jsonDocument([]byte(c.payload)); !ok || !sameDocument(got, want) {
				t.Errorf("decodeFlat %+v; encoding/json %+v, %v", got, want, ok)
			}
		})
	}
}

// FuzzDecodeFlat checks that every payload decodeFlat reads, encoding/json
// reads as the same document.
func FuzzDecodeFlat(f *testing.F) {
	d := sampleDoc()
	d.IssuedAt, d.ExpiresAt, d.Nonce = t0, t0.Add(DefaultTTL), "AAAAAAAAAAAAAAAAAAAAAA"
	issued, _ := json.Marshal(d)
	f.Add(string(issued))
	f.Add(`{"issued_at":"2026-12-08T00:00:00.5+01:00","host":""}`)
	f.Fuzz(func(t *testing.T, payload string) {
		got, ok := decodeFlat([]byte(payload))
		if !ok {
			return
		}
		if want, ok := jsonDocument([]byte(payload)); !ok || !sameDocument(got, want) {
			t.Fatalf("%q: decodeFlat %+v; encoding/json %+v, %v", payload, got, want, ok)
		}
	})
}
