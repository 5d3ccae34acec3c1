package catalog

import (
	"context"
	"maps"
	"slices"

	"imgward"
	"imgward/errors"
)

// maxOps bounds one patch request.
const maxOps = 256

// UpdateImage applies a JSON-patch to an image: all operations or none.
// Only the owner or an admin may change an image.
func (s *Service) UpdateImage(ctx context.Context, p imgward.Principal, id imgward.ImageID, ops []Op) (*imgward.Image, error) {
	const op = "catalog.UpdateImage"
	if !validUUID(string(id)) {
		return nil, notFound(op)
	}
	if len(ops) > maxOps {
		return nil, errors.E(op, errors.TooLarge, errors.Msg("too many patch operations"))
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
		for _, o := range ops {
			if err := s.applyOp(p, img, o); err != nil {
				if errors.Is(errors.Permission, err) {
					return denied("image.update", imageObject(id), errors.Message(err), errors.E(op, err))
				}
				return errors.E(op, err)
			}
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
