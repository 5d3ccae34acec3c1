package catalog

import (
	"context"

	"imgward"
	"imgward/errors"
)

// AddMember shares an image with a project, as a pending member. Only the
// owner of a shared image may.
func (s *Service) AddMember(ctx context.Context, p imgward.Principal, id imgward.ImageID, member imgward.ProjectID) (*imgward.Member, error) {
	const op = "catalog.AddMember"
	if !validUUID(string(id)) {
		return nil, notFound(op)
	}
	object := memberObject(id, member)
	var m *imgward.Member
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		a, err := loadAccess(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if !a.owner && !a.admin {
			return denied("member.create", object, "not the owner",
				errors.E(op, errors.Permission, errors.Msg("only the owner may share an image")))
		}
		if a.img.Visibility != imgward.Shared {
			return denied("member.create", object, "image is "+string(a.img.Visibility),
				errors.E(op, errors.Permission, errors.Msg("only images with visibility shared have members")))
		}
		if err := checkShareable(ctx, tx, "member.create", object, id); err != nil {
			return err
		}
		if member == a.img.Owner {
			return errors.E(op, errors.Invalid, errors.Msg("the owner cannot be a member of its own image"))
		}
		if err := s.checkMemberProject(ctx, tx, p, member); err != nil {
			return err
		}
		ms, err := tx.ListMembers(ctx, id)
		if err != nil {
			return err
		}
		for _, x := range ms {
			if x.MemberID == member {
				return errors.E(op, errors.Exist, errors.Msg("the project is already a member"))
			}
		}
		if len(ms) >= s.limits.Members {
			return denied("member.create", object, "member quota reached",
				errors.E(op, errors.TooLarge, errors.Msg("the image has reached its member quota")))
		}
		now := s.stamp()
		m = &imgward.Member{ImageID: id, MemberID: member, Status: imgward.MemberPending, CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateMember(ctx, m); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, "member.create", object, "pending")
	})
	if err != nil {
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	return m, nil
}

// Members lists an image's members. The owner and admins see all; a member
// sees only its own entry.
func (s *Service) Members(ctx context.Context, p imgward.Principal, id imgward.ImageID) ([]imgward.Member, error) {
	const op = "catalog.Members"
	if !validUUID(string(id)) {
		return nil, notFound(op)
	}
	var ms []imgward.Member
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		a, err := loadAccess(ctx, tx, p, id)
		if err != nil {
			return err
		}
		switch {
		case a.owner, a.admin:
			ms, err = tx.ListMembers(ctx, id)
			return err
		case a.member != nil:
			ms = []imgward.Member{*a.member}
		default:
			ms = []imgward.Member{}
		}
		return nil
	})
	if err != nil {
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	return ms, nil
}

// Member returns one member entry, to the owner, an admin, or the member.
func (s *Service) Member(ctx context.Context, p imgward.Principal, id imgward.ImageID, member imgward.ProjectID) (*imgward.Member, error) {
	const op = "catalog.Member"
	if !validUUID(string(id)) {
		return nil, notFound(op)
	}
	var m *imgward.Member
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		a, err := loadAccess(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if !a.owner && !a.admin && member != p.ProjectID {
			return errors.E(op, errors.NotExist, errors.Msg("no such member"))
		}
		m, err = tx.Member(ctx, id, member)
		if errors.Is(errors.NotExist, err) {
			return errors.E(op, errors.NotExist, errors.Msg("no such member"))
		}
		return err
	})
	if err != nil {
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	return m, nil
}

// UpdateMember sets a member's status. Only the member itself, or an
// admin, may: the owner offers, the member decides.
func (s *Service) UpdateMember(ctx context.Context, p imgward.Principal, id imgward.ImageID, member imgward.ProjectID, status imgward.MemberStatus) (*imgward.Member, error) {
	const op = "catalog.UpdateMember"
	if !validUUID(string(id)) {
		return nil, notFound(op)
	}
	if !status.Valid() {
		return nil, errors.E(op, errors.Invalid, errors.Msg("status must be pending, accepted or rejected"))
	}
	object := memberObject(id, member)
	var m *imgward.Member
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		a, err := loadAccess(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if member != p.ProjectID && !a.admin {
			if !a.owner {
				return errors.E(op, errors.NotExist, errors.Msg("no such member"))
			}
			return denied("member.update", object, "only the member may change its status",
				errors.E(op, errors.Permission, errors.Msg("only the member may accept or reject an image")))
		}
		m, err = tx.Member(ctx, id, member)
		if errors.Is(errors.NotExist, err) {
			return errors.E(op, errors.NotExist, errors.Msg("no such member"))
		} else if err != nil {
			return err
		}
		from := m.Status
		m.Status, m.UpdatedAt = status, s.stamp()
		if err := tx.UpdateMember(ctx, m); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, "member.update", object, string(from)+" -> "+string(status))
	})
	if err != nil {
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	return m, nil
}

// RemoveMember stops sharing an image with a project. Only the owner or an
// admin may. Its running instances keep running, but it can launch no more.
func (s *Service) RemoveMember(ctx context.Context, p imgward.Principal, id imgward.ImageID, member imgward.ProjectID) error {
	const op = "catalog.RemoveMember"
	if !validUUID(string(id)) {
		return notFound(op)
	}
	object := memberObject(id, member)
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		a, err := loadAccess(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if !a.owner && !a.admin {
			return denied("member.delete", object, "not the owner",
				errors.E(op, errors.Permission, errors.Msg("only the owner may remove a member")))
		}
		if _, err := tx.Member(ctx, id, member); errors.Is(errors.NotExist, err) {
			return errors.E(op, errors.NotExist, errors.Msg("no such member"))
		} else if err != nil {
			return err
		}
		if err := tx.DeleteMember(ctx, id, member); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, "member.delete", object, "")
	})
	if err != nil {
		return s.finish(ctx, p, errors.E(op, err))
	}
	return nil
}
