//go:build pkcs11

package pkcs11

import (
	"context"
	"crypto/cipher"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ThalesGroup/crypto11"
	p11 "github.com/miekg/pkcs11"

	"imgward"
	"imgward/errors"
	"imgward/kms"
)

var _ imgward.KeyService = (*KeyService)(nil)

// KeyService keeps master keys in a PKCS#11 token. Its methods are safe for
// concurrent use.
type KeyService struct {
	ctx *crypto11.Context
	// mu serializes every use of the token. SoftHSM2 fails at random
	// (CKR_MECHANISM_INVALID, CKR_GENERAL_ERROR) when one session encrypts
	// while another creates a key object, and a token serializes its work
	// anyway, so nothing is lost.
	mu  sync.Mutex
	sig *signer // EdDSA, which crypto11 lacks (sign.go)
}

// Open logs in to the token that cfg names.
func Open(cfg Config) (*KeyService, error) {
	const op = "pkcs11.Open"
	if cfg.Module == "" || cfg.TokenLabel == "" || cfg.PIN == "" {
		return nil, errors.E(op, errors.Invalid, errors.New("module, token label and PIN are required"))
	}
	c, err := crypto11.Configure(&crypto11.Config{
		Path:            cfg.Module,
		TokenLabel:      cfg.TokenLabel,
		Pin:             cfg.PIN,
		GCMIVLength:     12,
		PoolWaitTimeout: 30 * time.Second,
	})
	if err != nil {
		return nil, errors.E(op, hsmKind(err), errors.Errorf("%v: %w", cfg, err))
	}
	g, err := openSigner(cfg)
	if err != nil {
		c.Close()
		return nil, errors.E(op, err)
	}
	return &KeyService{ctx: c, sig: g}, nil
}

// Close logs out and releases the token.
func (s *KeyService) Close() error {
	s.sig.close()
	return s.ctx.Close()
}

// label names version v of key id in the token.
func label(id imgward.KeyID, v uint32) string { return fmt.Sprintf("%s/v%d", id, v) }

// find returns version v of key id; NotExist when there is none.
func (s *KeyService) find(op string, id imgward.KeyID, v uint32) (*crypto11.SecretKey, error) {
	keys, err := s.ctx.FindKeys([]byte(id), []byte(label(id, v)))
	switch {
	case err != nil:
		return nil, errors.E(op, hsmKind(err), err)
	case len(keys) == 0:
		return nil, errors.E(op, errors.NotExist, errors.Msg("no such key version"))
	case len(keys) > 1:
		return nil, errors.E(op, errors.Internal, errors.Errorf("%d objects labelled %s", len(keys), label(id, v)))
	}
	return keys[0], nil
}

// versions returns the versions of key id in the token; NotExist when there
// are none.
func (s *KeyService) versions(op string, id imgward.KeyID) (map[uint32]*crypto11.SecretKey, uint32, error) {
	keys, err := s.ctx.FindKeys([]byte(id), nil)
	if err != nil {
		return nil, 0, errors.E(op, hsmKind(err), err)
	}
	vs := make(map[uint32]*crypto11.SecretKey, len(keys))
	var current uint32
	for _, k := range keys {
		a, err := s.ctx.GetAttribute(k, crypto11.CkaLabel)
		if err != nil {
			return nil, 0, errors.E(op, hsmKind(err), err)
		}
		num, ok := strings.CutPrefix(string(a.Value), string(id)+"/v")
		v, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil || v == 0 {
			continue // not ours
		}
		vs[uint32(v)] = k
		current = max(current, uint32(v))
	}
	if current == 0 {
		return nil, 0, errors.E(op, errors.NotExist, errors.Msg("no such key"))
	}
	return vs, current, nil
}

// generate creates version v of key id in the token: an AES-256 key for
// encryption only, sensitive and not extractable.
func (s *KeyService) generate(op string, id imgward.KeyID, v uint32) error {
	t, err := crypto11.NewAttributeSetWithIDAndLabel([]byte(id), []byte(label(id, v)))
	if err != nil {
		return errors.E(op, errors.Internal, err)
	}
	for _, a := range []struct {
		typ crypto11.AttributeType
		val bool
	}{
		{crypto11.CkaToken, true},
		{crypto11.CkaPrivate, true},
		{crypto11.CkaSensitive, true},
		{crypto11.CkaExtractable, false},
		{crypto11.CkaEncrypt, true},
		{crypto11.CkaDecrypt, true},
		{crypto11.CkaSign, false},
		{crypto11.CkaVerify, false},
		{crypto11.CkaWrap, false},
		{crypto11.CkaUnwrap, false},
	} {
		if err := t.Set(a.typ, a.val); err != nil {
			return errors.E(op, errors.Internal, err)
		}
	}
	if _, err := s.ctx.GenerateSecretKeyWithAttributes(t, 256, crypto11.CipherAES); err != nil {
		return errors.E(op, hsmKind(err), err)
	}
	return nil
}

// hsmKind classifies an error of the token.
func hsmKind(err error) errors.Kind {
	var perr p11.Error
	if errors.As(err, &perr) {
		switch perr {
		case p11.CKR_PIN_INCORRECT, p11.CKR_PIN_INVALID, p11.CKR_PIN_LEN_RANGE,
			p11.CKR_PIN_EXPIRED, p11.CKR_PIN_LOCKED, p11.CKR_USER_NOT_LOGGED_IN:
			return errors.Permission
		}
	}
	return errors.Unavailable
}

// gcm returns the token's AES-GCM with key k.
func gcm(op string, k *crypto11.SecretKey) (cipher.AEAD, error) {
	aead, err := k.NewGCM()
	if err != nil {
		return nil, errors.E(op, errors.Internal, err)
	}
	return aead, nil
}

// seal wraps dataKey with k. crypto11's Seal panics when the token fails;
// seal turns that panic into an error of kind Unavailable.
func seal(op string, k *crypto11.SecretKey, id imgward.KeyID, v uint32, dataKey, ad []byte) (w imgward.WrappedKey, err error) {
	aead, err := gcm(op, k)
	if err != nil {
		return w, err
	}
	defer func() {
		if r := recover(); r != nil {
			w, err = imgward.WrappedKey{}, errors.E(op, errors.Unavailable, errors.Errorf("token: %v", r))
		}
	}()
	w, err = kms.Seal(aead, id, v, dataKey, ad)
	if err != nil {
		return w, errors.E(op, err)
	}
	return w, nil
}

// checkKey checks a request's key id and context.
func checkKey(op string, ctx context.Context, id imgward.KeyID) error {
	if err := kms.CheckID(op, id); err != nil {
		return err
	}
	return checkCtx(op, ctx)
}

func checkCtx(op string, ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return errors.E(op, errors.Unavailable, err)
	}
	return nil
}
