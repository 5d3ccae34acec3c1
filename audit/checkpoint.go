package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"

	"github.com/transparency-dev/formats/log"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"imgward"
	"imgward/errors"
)

// DefaultOrigin names imgward's audit log in its checkpoints; C2SP
// checkpoints start with the log's origin, so that a checkpoint of one log
// is never taken for another's.
const DefaultOrigin = "imgward/audit"

// MaxCheckpointSize bounds a signed checkpoint read from a file or a
// server: a few lines and signatures.
const MaxCheckpointSize = 16 << 10

// Checkpoint is a tree size and root hash, the body of a signed note.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

// Marshal returns the checkpoint's C2SP body.
func (c Checkpoint) Marshal() []byte {
	return log.Checkpoint{Origin: c.Origin, Size: uint64(c.Size), Hash: c.Root[:]}.Marshal()
}

// Signer signs checkpoints with an Ed25519 key held by a KeyService: the
// private key never leaves it.
type Signer struct {
	ctx  context.Context
	keys imgward.KeyService
	id   imgward.KeyID
	name string
	pub  ed25519.PublicKey
	hash uint32
}

// NewSigner returns a signer of checkpoints of the log origin, with key id
// of keys. The note key's name is the origin.
func NewSigner(ctx context.Context, keys imgward.KeyService, id imgward.KeyID, origin string) (*Signer, error) {
	const op = "audit.NewSigner"
	pub, err := keys.PublicKey(ctx, id)
	if err != nil {
		return nil, errors.E(op, err)
	}
	vkey, err := note.NewEd25519VerifierKey(origin, pub)
	if err != nil {
		return nil, errors.E(op, errors.Invalid, err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, errors.E(op, errors.Invalid, err)
	}
	return &Signer{ctx: ctx, keys: keys, id: id, name: origin, pub: pub, hash: v.KeyHash()}, nil
}

// Name implements note.Signer.
func (s *Signer) Name() string { return s.name }

// KeyHash implements note.Signer.
func (s *Signer) KeyHash() uint32 { return s.hash }

// Sign implements note.Signer with the KeyService.
func (s *Signer) Sign(msg []byte) ([]byte, error) { return s.keys.Sign(s.ctx, s.id, msg) }

// VerifierKey returns the note verifier key of s, "name+hash+key", which
// checks its checkpoints: keep it outside the server with them.
func (s *Signer) VerifierKey() string {
	vkey, _ := note.NewEd25519VerifierKey(s.name, s.pub) // checked in NewSigner
	return vkey
}

// SignCheckpoint returns c as a note signed by s.
func SignCheckpoint(ctx context.Context, s *Signer, c Checkpoint) ([]byte, error) {
	const op = "audit.SignCheckpoint"
	signer := *s
	signer.ctx = ctx
	b, err := note.Sign(&note.Note{Text: string(c.Marshal())}, &signer)
	if err != nil {
		return nil, errors.E(op, err)
	}
	return b, nil
}

// OpenCheckpoint checks the signature on a signed checkpoint with vkey and
// parses it.
func OpenCheckpoint(signed []byte, vkey string) (Checkpoint, error) {
	const op = "audit.OpenCheckpoint"
	if len(signed) > MaxCheckpointSize {
		return Checkpoint{}, errors.E(op, errors.TooLarge, errors.Msg("checkpoint too large"))
	}
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return Checkpoint{}, errors.E(op, errors.Invalid, errors.Msg("bad verifier key"), err)
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, errors.E(op, errors.Invalid, errors.Msg("checkpoint signature does not verify"), err)
	}
	var lc log.Checkpoint
	rest, err := lc.Unmarshal([]byte(n.Text))
	switch {
	case err != nil:
		return Checkpoint{}, errors.E(op, errors.Invalid, err)
	case lc.Origin != v.Name():
		return Checkpoint{}, errors.E(op, errors.Invalid, errors.Msg(fmt.Sprintf("checkpoint of log %q, key of %q", lc.Origin, v.Name())))
	case len(lc.Hash) != tlog.HashSize || lc.Size > 1<<62:
		return Checkpoint{}, errors.E(op, errors.Invalid, errors.Msg("malformed checkpoint"))
	}
	_ = rest // extension lines are allowed and ignored
	c := Checkpoint{Origin: lc.Origin, Size: int64(lc.Size)}
	copy(c.Root[:], lc.Hash)
	return c, nil
}
