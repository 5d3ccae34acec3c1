package catalog

import (
	"context"

	"imgward"
	"imgward/errors"
)

// access is what a principal may do with an image, derived from ownership,
// visibility and membership. It is computed inside the transaction that
// acts on it, so a decision never rests on stale membership.
type access struct {
	img    *imgward.Image
	member *imgward.Member // the caller's membership, if any
	owner  bool
	admin  bool
}

// see reports whether the caller may know the image exists. Members see a
// shared image whatever their status, so that they can accept it.
func (a access) see() bool {
	switch {
	case a.owner, a.admin:
		return true
	case a.img.Visibility == imgward.Public, a.img.Visibility == imgward.Community:
		return true
	case a.img.Visibility == imgward.Shared:
		return a.member != nil
	}
	return false
}

// use reports whether the caller may launch or download the image, and if
// not, why. Unlike Glance, a pending or rejected member may not use it:
// acceptance gates use. A quarantined image (its publisher is flagged) is
// used by nobody but its owner and admins until an admin clears it: its
// data and keys are what a malicious publisher's fleet would spread.
func (a access) use() (bool, string) {
	switch {
	case a.owner:
		return true, ""
	case a.img.Quarantined && !a.admin:
		return false, Quarantined
	case a.img.Visibility == imgward.Public, a.img.Visibility == imgward.Community:
		return true, ""
	case a.img.Visibility != imgward.Shared:
		return false, "image is " + string(a.img.Visibility)
	case a.member == nil:
		return false, "not a member of the image"
	case a.member.Status != imgward.MemberAccepted:
		return false, "membership is " + string(a.member.Status) + ", not accepted"
	}
	return true, ""
}

// loadAccess reads an image and the caller's membership. An image the
// caller may not see is reported as absent.
func loadAccess(ctx context.Context, tx imgward.Tx, p imgward.Principal, id imgward.ImageID) (access, error) {
	const op = "catalog.loadAccess"
	img, err := tx.Image(ctx, id)
	if err != nil {
		return access{}, errors.E(op, err)
	}
	var m *imgward.Member
	if img.Visibility == imgward.Shared && img.Owner != p.ProjectID {
		m, err = tx.Member(ctx, id, p.ProjectID)
		if err != nil && !errors.Is(errors.NotExist, err) {
			return access{}, errors.E(op, err)
		}
	}
	return newAccess(op, p, img, m)
}

// newAccess is the caller's access to img, given its membership m (nil if
// none); an image the caller may not see is reported as absent.
func newAccess(op string, p imgward.Principal, img *imgward.Image, m *imgward.Member) (access, error) {
	a := access{img: img, owner: img.Owner == p.ProjectID, admin: p.IsAdmin()}
	if img.Visibility == imgward.Shared && !a.owner {
		a.member = m
	}
	if !a.see() {
		return access{}, denied("image.read", imageObject(img.ID), "image not visible to the caller",
			errors.E(op, errors.NotExist, errors.Msg("no such image")))
	}
	return a, nil
}

// notFound is the error a caller gets for an image it may not see, or that
// does not exist: the two are indistinguishable from outside.
func notFound(op string) error {
	return errors.E(op, errors.NotExist, errors.Msg("no such image"))
}

// Quarantined is the reason, and the client's message, of a use of a
// quarantined image refused.
const Quarantined = "image quarantined: publisher flagged"

// MayUse applies the rules of see and use to project, for the key broker,
// which decides for an instance's project rather than for a caller. m is
// project's membership of img, or nil; admin says whether the requester is
// an admin, which matters only for a quarantined image. see false means
// that project must be told the image does not exist.
func MayUse(img *imgward.Image, m *imgward.Member, project imgward.ProjectID, admin bool) (see, use bool, why string) {
	a := access{img: img, member: m, owner: img.Owner == project, admin: admin}
	if !a.see() {
		return false, false, "image not visible to the project"
	}
	ok, why := a.use()
	return true, ok, why
}
