// Package identity issues and verifies signed instance identity documents,
// as a cloud's metadata service does: a JSON document naming an instance, its
// image, project, user and host, signed by the provider's Ed25519 key as a
// compact JWS. The hypervisor host presents it to the key broker, which
// releases an image's key only to a bound instance.
//
// An Issuer keeps the signing key ring in a 0600 file: the current private
// key, which signs, and the public keys of earlier ones, which still verify
// until they are retired. Keys publishes the public keys as a JWKS; KeySet
// verifies with a JWKS elsewhere. A document is valid from IssuedAt to
// ExpiresAt, give or take ClockSkew; Redeem spends its nonce in a NonceStore
// so that it is accepted once.
//
// An Issuer remembers the tokens it signed (by their SHA-256) and does not
// check a byte-identical copy's signature again; every other check is made
// (signed.go).
package identity

import (
	"time"

	"imgward"
	"imgward/errors"
)

const (
	// MaxTokenSize bounds a token: a real one is well under 1 KiB.
	MaxTokenSize = 8 << 10
	// ClockSkew is how far the clocks of issuer and verifier may differ.
	ClockSkew = time.Minute
	// DefaultTTL is how long a document is valid when the Issuer is not told.
	DefaultTTL = 15 * time.Minute
	// TokenType is the JWS "typ" header of a document, so that no other JWS
	// signed by the same key passes for one (RFC 8725, section 3.11).
	TokenType = "imgward-identity+jws"
	// maxHostLen bounds Document.Host, a DNS name.
	maxHostLen = 253
)

// Document is an instance identity document.
type Document struct {
	InstanceID imgward.InstanceID `json:"instance_id"`
	ImageID    imgward.ImageID    `json:"image_id"`
	ProjectID  imgward.ProjectID  `json:"project_id"` // the project that launched the instance
	UserID     imgward.UserID     `json:"user_id"`    // the user that launched it
	Host       string             `json:"host"`       // the hypervisor host; may be empty
	IssuedAt   time.Time          `json:"issued_at"`  // not valid before
	ExpiresAt  time.Time          `json:"expires_at"`
	Nonce      string             `json:"nonce"` // 22 characters of base64url: 128 random bits
}

// checkSubject checks the fields that name the instance.
func (d *Document) checkSubject() error {
	switch {
	case !isInstanceID(string(d.InstanceID)):
		return errors.Errorf("malformed instance id %q", d.InstanceID)
	case !isUUID(string(d.ImageID)):
		return errors.Errorf("malformed image id %q", d.ImageID)
	case !isHex(string(d.ProjectID), 32):
		return errors.Errorf("malformed project id %q", d.ProjectID)
	case !isHex(string(d.UserID), 32):
		return errors.Errorf("malformed user id %q", d.UserID)
	case !isHost(d.Host):
		return errors.Errorf("malformed host %q", d.Host)
	}
	return nil
}

// check checks every field of a document.
func (d *Document) check() error {
	if err := d.checkSubject(); err != nil {
		return err
	}
	switch {
	case d.IssuedAt.IsZero() || d.ExpiresAt.IsZero():
		return errors.New("missing validity period")
	case !d.ExpiresAt.After(d.IssuedAt):
		return errors.New("expires before it is issued")
	case len(d.Nonce) != 22 || !isBase64URL(d.Nonce):
		return errors.New("malformed nonce")
	}
	return nil
}

func isInstanceID(s string) bool {
	return len(s) == 18 && s[:2] == "i-" && isHex(s[2:], 16)
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i:i+1], 1) {
				return false
			}
		}
	}
	return true
}

// isHex reports whether s is n lowercase hex digits.
func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// isHost reports whether s is empty or looks like a DNS name or an address.
func isHost(s string) bool {
	if len(s) > maxHostLen {
		return false
	}
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '.' || c == '-' || c == '_' || c == ':') {
			return false
		}
	}
	return true
}

func isBase64URL(s string) bool {
	for _, c := range []byte(s) {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ValidHost reports whether s may be a document's Host: empty, or up to 253
// characters of a DNS name or an address.
func ValidHost(s string) bool { return isHost(s) }
