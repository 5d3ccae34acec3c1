package identity

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
	"sync"

	"imgward/errors"
)

// The compact JWS (RFC 7515) of a document is made and checked here with
// crypto/ed25519 directly: go-jose's generic signer and parser cost a third
// of an Issue and a quarter of a Verify beyond the Ed25519 arithmetic. The
// tokens are those go-jose makes (same protected header, byte for byte:
// {"alg":"EdDSA","kid":...,"typ":...}), and go-jose verifies them; the tests
// check both directions.

// b64 is the unpadded base64url of JWS. Decoding is strict: no padding, no
// stray bits in the last character, so a token has one encoding.
var b64 = base64.RawURLEncoding.Strict()

// jwsHeader is the protected header of the documents an Issuer signs.
type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// algEdDSA is the JWS "alg" of Ed25519 signatures (RFC 8037).
const algEdDSA = "EdDSA"

// encodedHeader returns the base64url of the protected header that names
// key id kid.
func encodedHeader(kid string) (string, error) {
	h, err := json.Marshal(jwsHeader{Alg: algEdDSA, Kid: kid, Typ: TokenType})
	if err != nil {
		return "", err
	}
	return b64.EncodeToString(h), nil
}

// signCompact returns the compact JWS of payload under the encoded protected
// header hdr, signed by priv.
func signCompact(hdr string, priv ed25519.PrivateKey, payload []byte) string {
	n := len(hdr) + 1 + b64.EncodedLen(len(payload))
	buf := make([]byte, n, n+1+b64.EncodedLen(ed25519.SignatureSize))
	copy(buf, hdr)
	buf[len(hdr)] = '.'
	b64.Encode(buf[len(hdr)+1:], payload)
	sig := ed25519.Sign(priv, buf) // the signing input: header.payload
	buf = append(buf, '.')
	buf = b64.AppendEncode(buf, sig)
	return string(buf)
}

// compact is a parsed compact JWS, not yet verified.
type compact struct {
	header
	signed    string // the signing input: the first two parts as they are
	payload   []byte
	signature []byte
}

// header is a parsed protected header.
type header struct {
	alg, kid string
	typ      any    // the "typ" header's JSON value, nil when absent
	extra    string // the name of a header other than alg, kid and typ, if any
	jwk      bool   // the header embeds a key
}

var errMalformed = errors.New("malformed compact JWS")

// parseCompact splits and decodes a compact JWS. Errors are of malformed
// input; the header's values are for the caller to check.
func parseCompact(token string) (*compact, error) {
	h, rest, ok := strings.Cut(token, ".")
	if !ok {
		return nil, errMalformed
	}
	p, s, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(s, '.') >= 0 {
		return nil, errMalformed
	}
	c := &compact{signed: token[:len(h)+1+len(p)]}
	var err error
	if c.payload, err = b64.DecodeString(p); err != nil {
		return nil, err
	}
	if c.signature, err = b64.DecodeString(s); err != nil {
		return nil, err
	}
	if c.header, err = parsedHeaders.parse(h); err != nil {
		return nil, err
	}
	return c, nil
}

// headerCache remembers the parsed protected headers of recent tokens by
// their encoding. Every document that one key signs has the same header,
// byte for byte, and parsing it (a JSON tokenizer) was a tenth of a
// verification beyond the Ed25519 arithmetic. A header is a pure function
// of its encoding (decoding is strict: one encoding per header), so a hit
// is what parsing again would give; only headers that parse are kept, at
// most maxHeaders, so that tokens with headers of their own only miss.
type headerCache struct {
	mu sync.Mutex
	m  map[string]header
}

const maxHeaders = 16

var parsedHeaders headerCache

// parse returns the header encoded as enc (base64url).
func (hc *headerCache) parse(enc string) (header, error) {
	hc.mu.Lock()
	h, ok := hc.m[enc]
	hc.mu.Unlock()
	if ok {
		return h, nil
	}
	raw, err := b64.DecodeString(enc)
	if err != nil {
		return header{}, err
	}
	if err := h.parse(raw); err != nil {
		return header{}, err
	}
	if _, isString := h.typ.(string); h.typ == nil || isString {
		// Only values that nobody could modify through another token's
		// header: a JSON object or list would be shared.
		hc.mu.Lock()
		if hc.m == nil || len(hc.m) >= maxHeaders {
			hc.m = make(map[string]header, maxHeaders)
		}
		hc.m[enc] = h
		hc.mu.Unlock()
	}
	return h, nil
}

// parse reads a protected header: a JSON object, each name once.
// "alg" and "kid" must be strings when present.
func (c *header) parse(hdr []byte) error {
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return errMalformed
	}
	seen := make(map[string]bool, 4)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := t.(string)
		if seen[name] {
			return errors.Errorf("header %q twice", name)
		}
		seen[name] = true
		var v any
		if err := dec.Decode(&v); err != nil {
			return err
		}
		switch name {
		case "alg", "kid":
			s, ok := v.(string)
			if !ok {
				return errors.Errorf("header %q is not a string", name)
			}
			if name == "alg" {
				c.alg = s
			} else {
				c.kid = s
			}
		case "typ":
			c.typ = v
		case "jwk":
			c.jwk = true
		default:
			if c.extra == "" {
				c.extra = name
			}
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return errMalformed
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the header")
	}
	return nil
}
