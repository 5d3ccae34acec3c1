//go:build pkcs11

package pkcs11

import (
	"context"
	"crypto/ed25519"
	"fmt"

	p11 "github.com/miekg/pkcs11"

	"imgward"
	"imgward/errors"
)

// Signing keys are Ed25519 key pairs generated in the token (PKCS#11 3.0
// CKM_EC_EDWARDS_KEY_PAIR_GEN, signing with CKM_EDDSA; SoftHSM2 has them
// since 2.5 when built with OpenSSL 1.1.1). C2SP signed notes accept Ed25519
// signatures (type 0x01); ECDSA is not a note signature type that
// golang.org/x/mod/sumdb/note verifies, so a token without EdDSA cannot sign
// checkpoints. crypto11 does not do EdDSA, so these operations use a
// session of their own on the same token.
const (
	ckmECEdwardsKeyPairGen = 0x1055 // CKM_EC_EDWARDS_KEY_PAIR_GEN
	ckmEdDSA               = 0x1057 // CKM_EDDSA
	ckkECEdwards           = 0x40   // CKK_EC_EDWARDS
)

// ed25519Params is CKA_EC_PARAMS for Ed25519: the DER of OID 1.3.101.112.
var ed25519Params = []byte{0x06, 0x03, 0x2b, 0x65, 0x70}

// signer is a session for signing, logged in as the user.
type signer struct {
	ctx  *p11.Ctx
	sess p11.SessionHandle
}

func openSigner(cfg Config) (*signer, error) {
	c := p11.New(cfg.Module)
	if c == nil {
		return nil, errors.E(errors.Unavailable, errors.Errorf("cannot load %s", cfg.Module))
	}
	// crypto11 has initialized the module and logged in; both are per
	// process and token, so "already" is success.
	if err := c.Initialize(); err != nil && err != p11.Error(p11.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		return nil, errors.E(hsmKind(err), err)
	}
	slots, err := c.GetSlotList(true)
	if err != nil {
		return nil, errors.E(hsmKind(err), err)
	}
	for _, slot := range slots {
		ti, err := c.GetTokenInfo(slot)
		if err != nil || ti.Label != cfg.TokenLabel {
			continue
		}
		sess, err := c.OpenSession(slot, p11.CKF_SERIAL_SESSION|p11.CKF_RW_SESSION)
		if err != nil {
			return nil, errors.E(hsmKind(err), err)
		}
		if err := c.Login(sess, p11.CKU_USER, cfg.PIN); err != nil && err != p11.Error(p11.CKR_USER_ALREADY_LOGGED_IN) {
			c.CloseSession(sess)
			return nil, errors.E(hsmKind(err), err)
		}
		return &signer{ctx: c, sess: sess}, nil
	}
	return nil, errors.E(errors.Unavailable, errors.Errorf("no token labelled %q", cfg.TokenLabel))
}

// close ends the session; crypto11 finalizes the module.
func (g *signer) close() { g.ctx.CloseSession(g.sess) }

// signLabel names the signing key pair of version v of key id.
func signLabel(id imgward.KeyID, v uint32) string { return fmt.Sprintf("%s/v%d/sign", id, v) }

// find returns the object of class with label, or 0.
func (g *signer) find(class uint, label string) (p11.ObjectHandle, error) {
	if err := g.ctx.FindObjectsInit(g.sess, []*p11.Attribute{
		p11.NewAttribute(p11.CKA_CLASS, class),
		p11.NewAttribute(p11.CKA_LABEL, label),
	}); err != nil {
		return 0, err
	}
	hs, _, err := g.ctx.FindObjects(g.sess, 2)
	if ferr := g.ctx.FindObjectsFinal(g.sess); err == nil {
		err = ferr
	}
	switch {
	case err != nil:
		return 0, err
	case len(hs) > 1:
		return 0, errors.Errorf("%d objects labelled %s", len(hs), label)
	case len(hs) == 0:
		return 0, nil
	}
	return hs[0], nil
}

// keyPair returns the signing key pair of the current version of key id,
// generating it on first use: sensitive, never extractable, in the token.
func (s *KeyService) keyPair(op string, id imgward.KeyID) (pub, priv p11.ObjectHandle, err error) {
	_, current, err := s.versions(op, id)
	if err != nil {
		return 0, 0, err
	}
	label := signLabel(id, current)
	g := s.sig
	if priv, err = g.find(p11.CKO_PRIVATE_KEY, label); err != nil {
		return 0, 0, errors.E(op, hsmKind(err), err)
	}
	if pub, err = g.find(p11.CKO_PUBLIC_KEY, label); err != nil {
		return 0, 0, errors.E(op, hsmKind(err), err)
	}
	if priv != 0 && pub != 0 {
		return pub, priv, nil
	}
	common := func(class uint) []*p11.Attribute {
		return []*p11.Attribute{
			p11.NewAttribute(p11.CKA_CLASS, class),
			p11.NewAttribute(p11.CKA_KEY_TYPE, ckkECEdwards),
			p11.NewAttribute(p11.CKA_TOKEN, true),
			p11.NewAttribute(p11.CKA_LABEL, label),
			p11.NewAttribute(p11.CKA_ID, []byte(id)),
		}
	}
	pubT := append(common(p11.CKO_PUBLIC_KEY),
		p11.NewAttribute(p11.CKA_VERIFY, true),
		p11.NewAttribute(p11.CKA_EC_PARAMS, ed25519Params))
	privT := append(common(p11.CKO_PRIVATE_KEY),
		p11.NewAttribute(p11.CKA_PRIVATE, true),
		p11.NewAttribute(p11.CKA_SENSITIVE, true),
		p11.NewAttribute(p11.CKA_EXTRACTABLE, false),
		p11.NewAttribute(p11.CKA_SIGN, true))
	pub, priv, err = g.ctx.GenerateKeyPair(g.sess, []*p11.Mechanism{p11.NewMechanism(ckmECEdwardsKeyPairGen, nil)}, pubT, privT)
	if err != nil {
		return 0, 0, errors.E(op, hsmKind(err), errors.Errorf("generating an Ed25519 key pair (does the token do EdDSA?): %w", err))
	}
	return pub, priv, nil
}

// PublicKey implements imgward.KeyService.
func (s *KeyService) PublicKey(ctx context.Context, id imgward.KeyID) (ed25519.PublicKey, error) {
	const op = "pkcs11.PublicKey"
	if err := checkKey(op, ctx, id); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	pub, _, err := s.keyPair(op, id)
	if err != nil {
		return nil, err
	}
	as, err := s.sig.ctx.GetAttributeValue(s.sig.sess, pub, []*p11.Attribute{p11.NewAttribute(p11.CKA_EC_POINT, nil)})
	if err != nil {
		return nil, errors.E(op, hsmKind(err), err)
	}
	point := as[0].Value
	// The point is the raw 32-byte key, which tokens (SoftHSM2 among them)
	// wrap in a DER OCTET STRING.
	if len(point) == 2+ed25519.PublicKeySize && point[0] == 0x04 && point[1] == ed25519.PublicKeySize {
		point = point[2:]
	}
	if len(point) != ed25519.PublicKeySize {
		return nil, errors.E(op, errors.Internal, errors.Errorf("token's Ed25519 point of %d bytes", len(point)))
	}
	return ed25519.PublicKey(point), nil
}

// Sign implements imgward.KeyService: CKM_EDDSA in the token.
func (s *KeyService) Sign(ctx context.Context, id imgward.KeyID, msg []byte) ([]byte, error) {
	const op = "pkcs11.Sign"
	if err := checkKey(op, ctx, id); err != nil {
		return nil, err
	}
	if len(msg) > imgward.MaxSignSize {
		return nil, errors.E(op, errors.TooLarge, errors.Msg("message too large to sign"))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, priv, err := s.keyPair(op, id)
	if err != nil {
		return nil, err
	}
	g := s.sig
	if err := g.ctx.SignInit(g.sess, []*p11.Mechanism{p11.NewMechanism(ckmEdDSA, nil)}, priv); err != nil {
		return nil, errors.E(op, hsmKind(err), err)
	}
	sig, err := g.ctx.Sign(g.sess, msg)
	if err != nil {
		return nil, errors.E(op, hsmKind(err), err)
	}
	return sig, nil
}
