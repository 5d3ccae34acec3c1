package broker

import (
	"context"
	"encoding/json"
	"time"

	"imgward"
	"imgward/catalog"
	"imgward/errors"
)

// OwnerRequest asks for the data key of one's own LUKS image.
type OwnerRequest struct {
	PublicKey json.RawMessage `json:"public_key"` // a JWK of an ephemeral P-256 ECDH key
}

// OwnerRelease releases the data key of an image with imgward_protect=luks
// to a user of the project that owns it, wrapped to req's public key as
// Release does. The owner needs it to encrypt the disk that it then
// uploads (imgward disk encrypt): unlike the sealed modes, where the
// server seals what the owner uploads, a LUKS disk is made by the owner.
// It is not an oracle beyond that: the owner could read the plaintext
// disk anyway, and other modes' keys are refused, since their owners have
// the export. Errors: Invalid for a bad key; NotExist for an image the
// caller may not see; Permission for a non-owner or another mode.
func (b *Broker) OwnerRelease(ctx context.Context, p imgward.Principal, id imgward.ImageID, req OwnerRequest) (*Release, error) {
	const op = "broker.OwnerRelease"
	pub, err := parsePublicKey(req.PublicKey)
	if err != nil {
		return nil, errors.E(op, err)
	}
	now := b.now()
	var rel *Release
	var deny error
	err = b.store.Update(ctx, func(tx imgward.Tx) error {
		if rel != nil {
			clear(rel.dataKey) // of an attempt that was retried
		}
		var reason string
		rel, reason, deny = b.decideOwner(ctx, tx, p, id)
		if deny != nil && errors.KindOf(deny) == errors.Unavailable {
			return deny
		}
		e := &imgward.AuditEntry{Time: now.UTC().Truncate(time.Microsecond), Actor: string(p.UserID),
			Action: "key.owner", Object: "image/" + string(id), Result: imgward.ResultOK, Reason: reason}
		if deny != nil {
			e.Result = imgward.ResultDenied
		}
		return tx.AppendAudit(ctx, e)
	})
	return deliver(op, rel, deny, err, pub)
}

// decideOwner checks, within tx, that p's project owns the LUKS image id.
func (b *Broker) decideOwner(ctx context.Context, tx imgward.Tx, p imgward.Principal, id imgward.ImageID) (*Release, string, error) {
	perm := func(why string) (*Release, string, error) {
		return nil, why, errors.E(errors.Permission, errors.Msg(why))
	}
	img, err := tx.Image(ctx, id)
	if errors.Is(errors.NotExist, err) {
		return nil, "no such image", errors.E(errors.NotExist, errors.Msg("no such image"))
	} else if err != nil {
		return nil, "", errors.E(errors.Unavailable, err)
	}
	if img.Owner != p.ProjectID {
		var m *imgward.Member
		if m, err = tx.Member(ctx, id, p.ProjectID); err != nil {
			m = nil
		}
		if see, _, why := catalog.MayUse(img, m, p.ProjectID, p.IsAdmin()); !see {
			return nil, why, errors.E(errors.NotExist, errors.Msg("no such image"))
		}
		return perm("only the image's owner may fetch its key; instances get it through the broker")
	}
	k, err := tx.ImageKey(ctx, id)
	if errors.Is(errors.NotExist, err) || (err == nil && k.Mode != imgward.ProtectLUKS) {
		return perm("only an image with " + catalog.PropProtect + " luks gives its key to its owner")
	} else if err != nil {
		return nil, "", errors.E(errors.Unavailable, err)
	}
	return b.unwrap(ctx, img, k, "owner project "+string(p.ProjectID))
}
