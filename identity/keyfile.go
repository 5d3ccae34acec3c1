package identity

import (
	"crypto/ed25519"
	"encoding/json"
	"time"

	"imgward/errors"
	"imgward/internal/securefile"
)

// KeyFile is the name of the key ring's file in the Issuer's data directory.
const KeyFile = "identity-keys.json"

const keyFileFormat = "imgward-identity-keys-v1"

// maxKeyFileSize bounds the key file.
const maxKeyFileSize = 1 << 20

// keyFile is the key ring as JSON. Only the current key's private half is
// kept: a rotated key can never sign again.
type keyFile struct {
	Format   string    `json:"format"`
	Current  fileKey   `json:"current"`
	Previous []fileKey `json:"previous,omitempty"` // newest first
}

type fileKey struct {
	KID     string    `json:"kid"`
	Seed    []byte    `json:"seed,omitempty"`   // Ed25519 private key seed; current key only
	Public  []byte    `json:"public,omitempty"` // previous keys only
	Created time.Time `json:"created"`
}

// encode returns r as a key file.
func (r *ring) encode() ([]byte, error) {
	f := keyFile{Format: keyFileFormat, Current: fileKey{
		KID: r.current.kid, Seed: r.current.priv.Seed(), Created: r.current.created,
	}}
	for _, k := range r.previous {
		f.Previous = append(f.Previous, fileKey{KID: k.kid, Public: k.pub, Created: k.created})
	}
	data, err := json.MarshalIndent(f, "", "\t")
	return append(data, '\n'), err
}

// decodeRing parses and checks a key file.
func decodeRing(data []byte) (*ring, error) {
	var f keyFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, err
	}
	if f.Format != keyFileFormat {
		return nil, errors.Errorf("format %q, want %q", f.Format, keyFileFormat)
	}
	cur, err := f.Current.key(true)
	if err != nil {
		return nil, err
	}
	var prev []*key
	for _, fk := range f.Previous {
		k, err := fk.key(false)
		if err != nil {
			return nil, err
		}
		prev = append(prev, k)
	}
	return newRing(cur, prev)
}

// key returns the key that fk records, with its private half if private.
func (fk fileKey) key(private bool) (*key, error) {
	var priv ed25519.PrivateKey
	pub := ed25519.PublicKey(fk.Public)
	if private {
		if len(fk.Seed) != ed25519.SeedSize || len(fk.Public) != 0 {
			return nil, errors.Errorf("key %q: want a seed of %d bytes", fk.KID, ed25519.SeedSize)
		}
		priv = ed25519.NewKeyFromSeed(fk.Seed)
		pub = priv.Public().(ed25519.PublicKey)
	} else if len(fk.Public) != ed25519.PublicKeySize || len(fk.Seed) != 0 {
		return nil, errors.Errorf("key %q: want a public key of %d bytes", fk.KID, ed25519.PublicKeySize)
	}
	k, err := newKey(pub, fk.Created)
	if err != nil {
		return nil, err
	}
	if k.kid != fk.KID {
		return nil, errors.Errorf("key id %q does not match its key, %s", fk.KID, k.kid)
	}
	k.priv = priv
	return k, nil
}

// loadRing reads the key file at path. It refuses a file that is not a
// regular file or that group or others may access.
func loadRing(path string) (*ring, error) {
	const op = "identity.loadRing"
	data, err := securefile.Read(path, maxKeyFileSize)
	if err != nil {
		return nil, errors.E(op, err)
	}
	r, err := decodeRing(data)
	if err != nil {
		return nil, errors.E(op, errors.Invalid, errors.Errorf("key file %s: %w", path, err))
	}
	return r, nil
}

// createRing writes r to a new file at path, mode 0600, failing if path
// exists.
func createRing(path string, r *ring) error {
	const op = "identity.createRing"
	data, err := r.encode()
	if err != nil {
		return errors.E(op, errors.Internal, err)
	}
	if err := securefile.Create(path, data); err != nil {
		return errors.E(op, err)
	}
	return nil
}

// saveRing replaces the key file at path with r atomically.
func saveRing(path string, r *ring) error {
	const op = "identity.saveRing"
	data, err := r.encode()
	if err != nil {
		return errors.E(op, errors.Internal, err)
	}
	if err := securefile.Replace(path, data); err != nil {
		return errors.E(op, err)
	}
	return nil
}
