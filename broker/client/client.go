// Package client asks imgward's key broker for an image's data key, as a
// hypervisor host or a key provider does before it opens a sealed image.
//
// The broker never sends a data key in the clear: Release makes an ephemeral
// P-256 key pair for each request, sends the public half, and decrypts the
// broker's answer, a compact JWE (ECDH-ES, A256GCM) to that key. The private
// half lives only for the call, so a recorded answer cannot be opened later.
package client

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"imgward"
	"imgward/errors"
)

// ReleasePath is the broker's endpoint, relative to its base URL.
const ReleasePath = "/v1/keys/release"

// maxResponse bounds what Release reads from the broker: a JWE of a 32-byte
// key and a JSON error are both far smaller.
const maxResponse = 64 << 10

// Request is the body of a release request.
type Request struct {
	Identity  string          `json:"identity"` // the compact JWS instance identity
	ImageID   string          `json:"image_id"`
	PublicKey json.RawMessage `json:"public_key"` // the JWK of an ephemeral P-256 key
}

// Response is the body of a granted release.
type Response struct {
	Key        string `json:"key"` // compact JWE whose plaintext is the data key
	KeyID      string `json:"key_id"`
	KeyVersion uint32 `json:"key_version"`
}

// ErrorBody is the body of a denied or failed release.
type ErrorBody struct {
	Error struct {
		Code    int    `json:"code"`
		Title   string `json:"title"`
		Message string `json:"message"`
	} `json:"error"`
}

// Client is an HTTP client for the broker; the zero value uses
// http.DefaultClient.
type Client struct {
	HTTP *http.Client
}

// Release asks the broker at baseURL for the data key of imageID, for the
// instance that identityToken names. A denial is an error of kind Permission
// (403), Unauthenticated (401), NotExist (404) or Invalid (400) carrying the
// broker's message; a broker that cannot be reached, or answers 5xx, is
// Unavailable; an answer that does not decrypt to a 32-byte key is Invalid.
func Release(ctx context.Context, baseURL, identityToken, imageID string) ([]byte, error) {
	return (&Client{}).Release(ctx, baseURL, identityToken, imageID)
}

// Release is the package's Release with c's HTTP client.
func (c *Client) Release(ctx context.Context, baseURL, identityToken, imageID string) ([]byte, error) {
	const op = "client.Release"
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, errors.E(op, errors.Internal, err)
	}
	jwk, err := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey})
	if err != nil {
		return nil, errors.E(op, errors.Internal, err)
	}
	body, _ := json.Marshal(Request{Identity: strings.TrimSpace(identityToken), ImageID: imageID, PublicKey: jwk})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(baseURL, "/")+ReleasePath, bytes.NewReader(body))
	if err != nil {
		return nil, errors.E(op, errors.Invalid, errors.Msg("bad broker URL"), err)
	}
	req.Header.Set("Content-Type", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, errors.E(op, errors.Unavailable, errors.Msg("key broker unreachable"), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, errors.E(op, errors.Unavailable, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, denial(op, resp.StatusCode, data)
	}
	var r Response
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, errors.E(op, errors.Invalid, errors.Msg("malformed broker answer"), err)
	}
	return decrypt(op, r.Key, priv)
}

// decrypt opens the broker's JWE with the ephemeral key, accepting only the
// algorithms of the contract, so that a broker (or a man in the middle)
// cannot downgrade them.
func decrypt(op, compact string, priv *ecdsa.PrivateKey) ([]byte, error) {
	obj, err := jose.ParseEncrypted(compact, []jose.KeyAlgorithm{jose.ECDH_ES}, []jose.ContentEncryption{jose.A256GCM})
	if err != nil {
		return nil, errors.E(op, errors.Invalid, errors.Msg("malformed key in broker answer"), err)
	}
	key, err := obj.Decrypt(priv)
	if err != nil {
		return nil, errors.E(op, errors.Invalid, errors.Msg("key in broker answer does not decrypt"), err)
	}
	if len(key) != imgward.DataKeySize {
		clear(key)
		return nil, errors.E(op, errors.Invalid, errors.Msg("broker released a key of the wrong size"))
	}
	return key, nil
}

// denial turns a broker's error answer into an error of the matching kind,
// with the broker's reason as its message.
func denial(op string, status int, data []byte) error {
	var eb ErrorBody
	msg := ""
	if json.Unmarshal(data, &eb) == nil {
		msg = eb.Error.Message
		if msg == "" {
			msg = eb.Error.Title
		}
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	kind := errors.Unavailable
	switch {
	case status == http.StatusUnauthorized:
		kind = errors.Unauthenticated
	case status == http.StatusForbidden:
		kind = errors.Permission
	case status == http.StatusNotFound:
		kind = errors.NotExist
	case status == http.StatusConflict:
		kind = errors.Conflict
	case status < 500:
		kind = errors.Invalid
	}
	return errors.E(op, kind, errors.Msg(fmt.Sprintf("key broker refused (%d): %s", status, msg)))
}
