// Package brokertest is a hand-written fake of the key broker's release
// endpoint, for tests of what calls it: it keeps data keys and the
// (identity, image) pairs it releases them to, and speaks the real contract
// (JSON request, JWE ECDH-ES + A256GCM answer, JSON error) with go-jose.
// It checks no signature: the identity is an opaque token here.
package brokertest

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"

	"github.com/go-jose/go-jose/v4"

	"imgward/broker/client"
)

// Fake is the fake broker. Its zero value is not usable; call New.
type Fake struct {
	mu       sync.Mutex
	keys     map[string][]byte
	bound    map[[2]string]bool
	releases int
}

// New returns a fake broker that knows no image.
func New() *Fake {
	return &Fake{keys: map[string][]byte{}, bound: map[[2]string]bool{}}
}

// AddImage records imageID's data key.
func (f *Fake) AddImage(imageID string, key []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[imageID] = append([]byte(nil), key...)
}

// Bind lets the instance with identity token identity obtain imageID's key.
func (f *Fake) Bind(identity, imageID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bound[[2]string{identity, imageID}] = true
}

// Unbind withdraws a Bind, as removing a member or terminating an instance
// does.
func (f *Fake) Unbind(identity, imageID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.bound, [2]string{identity, imageID})
}

// Releases counts the keys released so far.
func (f *Fake) Releases() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.releases
}

// ServeHTTP serves POST /v1/keys/release.
func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != client.ReleasePath {
		fail(w, http.StatusNotFound, "Not Found", "no such endpoint")
		return
	}
	var req client.Request
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		fail(w, http.StatusBadRequest, "Bad Request", "malformed JSON body")
		return
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(req.PublicKey); err != nil || !jwk.IsPublic() {
		fail(w, http.StatusBadRequest, "Bad Request", "public_key must be a public JWK")
		return
	}
	f.mu.Lock()
	key, ok := f.keys[req.ImageID]
	ok = ok && f.bound[[2]string{req.Identity, req.ImageID}]
	if ok {
		f.releases++
	}
	f.mu.Unlock()
	if !ok {
		// Like the real broker, a stranger learns nothing about the image.
		fail(w, http.StatusForbidden, "Forbidden", "instance is not bound to this image")
		return
	}
	enc, err := jose.NewEncrypter(jose.A256GCM, jose.Recipient{Algorithm: jose.ECDH_ES, Key: jwk.Key}, nil)
	if err != nil {
		fail(w, http.StatusBadRequest, "Bad Request", "public_key is not a P-256 key")
		return
	}
	obj, err := enc.Encrypt(key)
	if err != nil {
		fail(w, http.StatusInternalServerError, "Internal Server Error", "encryption failed")
		return
	}
	compact, _ := obj.CompactSerialize()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(client.Response{Key: compact, KeyID: "fake", KeyVersion: 1})
}

func fail(w http.ResponseWriter, code int, title, msg string) {
	var b client.ErrorBody
	b.Error.Code, b.Error.Title, b.Error.Message = code, title, msg
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(b)
}
