//go:build pkcs11

package server

import (
	"context"

	"imgward"
	"imgward/errors"
	"imgward/kms/pkcs11"
)

func init() {
	KeyServices["pkcs11"] = func(ctx context.Context, cfg Config, _ imgward.Store) (imgward.KeyService, error) {
		p := cfg.Protection
		if p.PKCS11Module == "" || p.PKCS11Token == "" || p.PKCS11PIN == "" {
			return nil, errors.E(errors.Invalid, errors.Msg("the pkcs11 kms needs a module, a token label and a PIN source"))
		}
		pin, err := pkcs11.ReadPIN(p.PKCS11PIN)
		if err != nil {
			return nil, err
		}
		return pkcs11.Open(pkcs11.Config{Module: p.PKCS11Module, TokenLabel: p.PKCS11Token, PIN: pin})
	}
}
