package catalog

import (
	"context"
	"maps"
	"slices"
	"strconv"

	"imgward"
	"imgward/errors"
)

// maxOps bounds one patch request.
const maxOps = 256

// UpdateImage applies a JSON-patch to an image: all operations or none.
// Only the owner or an admin may change an image.
func (s *Service) UpdateImage(ctx context.Context, p imgward.Principal, id imgward.ImageID, ops []Op) (*imgward.Image, error) {
	const op = "catalog.UpdateImage"
	if len(ops) > maxOps {
		return nil, errors.E(op, errors.TooLarge, errors.Msg("too many patch operations"))
	}
	return s.modify(ctx, p, id, op, func(img *imgward.Image) error {
		for _, o := range ops {
			if err := s.applyOp(p, img, o); err != nil {
				return err
			}
		}
		return nil
	})
}

// AddTag adds a tag to an image, as Glance's PUT /v2/images/{id}/tags/{tag}:
// adding a tag the image has already changes nothing.
func (s *Service) AddTag(ctx context.Context, p imgward.Principal, id imgward.ImageID, tag string) (*imgward.Image, error) {
	return s.modify(ctx, p, id, "catalog.AddTag", func(img *imgward.Image) error {
		if slices.Contains(img.Tags, tag) {
			return nil
		}
		tags := make([]any, 0, len(img.Tags)+1)
		for _, t := range img.Tags {
			tags = append(tags, t)
		}
		return s.setTags(img, append(tags, tag))
	})
}

// RemoveTag removes a tag from an image; a tag it does not have is
// NotExist, as in Glance.
func (s *Service) RemoveTag(ctx context.Context, p imgward.Principal, id imgward.ImageID, tag string) (*imgward.Image, error) {
	return s.modify(ctx, p, id, "catalog.RemoveTag", func(img *imgward.Image) error {
		i := slices.Index(img.Tags, tag)
		if i < 0 {
			return errors.E(errors.NotExist, errors.Msg("the image has no tag "+strconv.Quote(tag)))
		}
		img.Tags = slices.Delete(img.Tags, i, i+1)
		return nil
	})
}

// modify applies change to a copy of an image and stores it: all of the
// change or none. Only the owner or an admin may change an image; a
// Permission error of change is audited as a denial.
func (s *Service) modify(ctx context.Context, p imgward.Principal, id imgward.ImageID, op string, change func(*imgward.Image) error) (*imgward.Image, error) {
	if !validUUID(string(id)) {
		return nil, notFound(op)
	}
	var img *imgward.Image
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		a, err := loadAccess(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if !a.owner && !a.admin {
			return denied("image.update", imageObject(id), "not the owner",
				errors.E(op, errors.Permission, errors.Msg("only the owner may change an image")))
		}
		img = a.img
		before := *img
		img.Tags = slices.Clone(img.Tags)
		img.Properties = maps.Clone(img.Properties)
		if img.Properties == nil {
			img.Properties = map[string]string{}
		}
		if err := change(img); err != nil {
			if errors.Is(errors.Permission, err) {
				return denied("image.update", imageObject(id), errors.Message(err), errors.E(op, err))
			}
			return errors.E(op, err)
		}
		if img.Visibility != before.Visibility && img.Visibility != imgward.Private {
			if err := checkShareable(ctx, tx, "image.update", imageObject(id), id); err != nil {
				return err
			}
		}
		img.UpdatedAt = s.stamp()
		if err := tx.UpdateImage(ctx, img); err != nil {
			return err
		}
		detail := ""
		if before.Visibility != img.Visibility {
			detail = "visibility " + string(before.Visibility) + " -> " + string(img.Visibility)
		}
		return s.audit(ctx, tx, p, "image.update", imageObject(id), detail)
	})
	if err != nil {
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	return img, nil
}
