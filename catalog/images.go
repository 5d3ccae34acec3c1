package catalog

import (
	"context"
	"io"
	"strings"

	"imgward"
	"imgward/errors"
)

// CreateImage creates an image in status queued from Glance's create
// attributes (decoded JSON: strings, bools, json.Number, lists).
func (s *Service) CreateImage(ctx context.Context, p imgward.Principal, attrs map[string]any) (*imgward.Image, error) {
	const op = "catalog.CreateImage"
	now := s.stamp()
	img := &imgward.Image{
		ID: imgward.ImageID(newUUID()), Owner: p.ProjectID, Status: imgward.StatusQueued,
		Visibility: imgward.Shared, Tags: []string{}, Properties: map[string]string{},
		CreatedAt: now, UpdatedAt: now,
	}
	for _, k := range sortedKeys(attrs) {
		if err := s.setAttr(p, img, k, attrs[k], true); err != nil {
			if errors.Is(errors.Permission, err) {
				return nil, s.deny(ctx, p, "image.create", "image", errors.Message(err), errors.E(op, err))
			}
			return nil, errors.E(op, err)
		}
	}
	// An id chosen by a caller who is not an admin is refused unless the
	// caller can see the image that holds it (then 409, as in Glance): the
	// answer must not tell a stranger that an image it may not see exists
	// (docs/API.md, "No existence oracle").
	userID := attrs["id"] != nil && !p.IsAdmin()
	key, err := s.luksKey(ctx, img)
	if err != nil {
		return nil, errors.E(op, err)
	}
	err = s.store.Update(ctx, func(tx imgward.Tx) error {
		if _, err := tx.Project(ctx, img.Owner); errors.Is(errors.NotExist, err) {
			return errors.E(op, errors.Invalid, errors.Msg("owner is not a project"))
		} else if err != nil {
			return err
		}
		if userID {
			if err := s.checkChosenID(ctx, tx, p, img.ID); err != nil {
				return err
			}
		}
		if err := tx.CreateImage(ctx, img); err != nil {
			if errors.Is(errors.Exist, err) {
				return errors.E(op, errors.Exist, errors.Msg("an image with this id exists"), err)
			}
			return err
		}
		if key != nil {
			if err := tx.CreateImageKey(ctx, key); err != nil {
				return err
			}
		}
		if err := quarantineIfFlagged(ctx, tx, img.Owner); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, "image.create", imageObject(img.ID), "visibility "+string(img.Visibility))
	})
	if err != nil {
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	return img, nil
}

// checkChosenID decides on an image id that a caller who is not an admin
// chose: an image the caller can see holds it (Exist, as Glance answers),
// or the choice is refused whether or not an image it may not see holds it,
// so that the two cannot be told apart.
func (s *Service) checkChosenID(ctx context.Context, tx imgward.Tx, p imgward.Principal, id imgward.ImageID) error {
	const op = "catalog.CreateImage"
	_, err := loadAccess(ctx, tx, p, id)
	switch {
	case err == nil:
		return errors.E(op, errors.Exist, errors.Msg("an image with this id exists"))
	case !errors.Is(errors.NotExist, err):
		return err
	}
	return denied("image.create", imageObject(id), "image id chosen by a non-admin",
		errors.E(op, errors.Permission, errors.Msg("only an admin may choose the id of a new image; leave id out and imgward chooses one")))
}

// Image returns an image the caller may see.
func (s *Service) Image(ctx context.Context, p imgward.Principal, id imgward.ImageID) (*imgward.Image, error) {
	const op = "catalog.Image"
	if !validUUID(string(id)) {
		return nil, notFound(op)
	}
	var img *imgward.Image
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		a, err := loadAccess(ctx, tx, p, id)
		if err != nil {
			return err
		}
		img = a.img
		showCode(img)
		return nil
	})
	if err != nil {
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	return img, nil
}

// ListImages lists the images the caller may see, with Glance's filters.
// f.Viewer and f.Admin are set from p.
func (s *Service) ListImages(ctx context.Context, p imgward.Principal, f imgward.ImageFilter) ([]imgward.Image, error) {
	const op = "catalog.ListImages"
	if f.Visibility != "" && !f.Visibility.Valid() {
		return nil, errors.E(op, errors.Invalid, errors.Msg("visibility must be public, private, shared or community"))
	}
	switch f.MemberStatus {
	case "", "all", string(imgward.MemberPending), string(imgward.MemberAccepted), string(imgward.MemberRejected):
	default:
		return nil, errors.E(op, errors.Invalid, errors.Msg("member_status must be pending, accepted, rejected or all"))
	}
	if f.Status != "" && !validStatus(f.Status) {
		return nil, errors.E(op, errors.Invalid, errors.Msg("unknown status"))
	}
	if f.Marker != "" && !validUUID(string(f.Marker)) {
		return nil, errors.E(op, errors.Invalid, errors.Msg("marker is not an image id"))
	}
	f.Viewer, f.Admin = p.ProjectID, p.IsAdmin()
	var imgs []imgward.Image
	err := s.store.View(ctx, func(tx imgward.Tx) error {
		if f.Marker != "" {
			// A marker the caller may not see must not reveal that it exists.
			if _, err := loadAccess(ctx, tx, p, f.Marker); err != nil {
				return errors.E(op, errors.Invalid, errors.Msg("marker not found"))
			}
		}
		var err error
		if imgs, err = tx.ListImages(ctx, f); err != nil {
			return err
		}
		for i := range imgs {
			showCode(&imgs[i])
		}
		return nil
	})
	if err != nil {
		return nil, errors.E(op, err)
	}
	return imgs, nil
}

// DeleteImage deletes an image and its data. Only the owner or an admin
// may, and not while the image is protected.
func (s *Service) DeleteImage(ctx context.Context, p imgward.Principal, id imgward.ImageID) error {
	const op = "catalog.DeleteImage"
	if !validUUID(string(id)) {
		return notFound(op)
	}
	blobKey := string(id)
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		a, err := loadAccess(ctx, tx, p, id)
		if err != nil {
			return err
		}
		blobKey = a.img.BlobKey()
		if !a.owner && !a.admin {
			return denied("image.delete", imageObject(id), "not the owner",
				errors.E(op, errors.Permission, errors.Msg("only the owner may delete an image")))
		}
		if a.img.Protected {
			return denied("image.delete", imageObject(id), "image is protected",
				errors.E(op, errors.Permission, errors.Msg("image is protected; set protected to false first")))
		}
		if err := checkDeletable(ctx, tx, id); err != nil {
			return err
		}
		if err := tx.DeleteImage(ctx, id); err != nil {
			return err
		}
		return s.audit(ctx, tx, p, "image.delete", imageObject(id), "")
	})
	if err != nil {
		return s.finish(ctx, p, errors.E(op, err))
	}
	// The record is gone; data without a record is unreachable, so a failure
	// here leaks disk space, never access.
	if err := s.blobs.Delete(ctx, blobKey); err != nil {
		s.log.Warn("image data not removed", "image", id, "err", err)
	}
	return nil
}

// Upload stores an image's data: queued → saving → active. If the upload
// breaks off, the image returns to queued and keeps no data.
func (s *Service) Upload(ctx context.Context, p imgward.Principal, id imgward.ImageID, r io.Reader) (*imgward.Image, error) {
	const op = "catalog.Upload"
	if !validUUID(string(id)) {
		return nil, notFound(op)
	}
	var up *imgward.Image
	ul := s.newLease(uploadLease(id))
	err := s.store.Update(ctx, func(tx imgward.Tx) error {
		a, err := loadAccess(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if !a.owner && !a.admin {
			return denied("image.upload", imageObject(id), "not the owner",
				errors.E(op, errors.Permission, errors.Msg("only the owner may upload image data")))
		}
		if a.img.Status != imgward.StatusQueued {
			return errors.E(op, errors.Conflict, errors.Msg("image is "+string(a.img.Status)+"; data can be uploaded only to a queued image"))
		}
		if a.img.DiskFormat == "" || a.img.ContainerFormat == "" {
			return errors.E(op, errors.Invalid, errors.Msg("disk_format and container_format must be set before uploading data"))
		}
		a.img.Status, a.img.UpdatedAt = imgward.StatusSaving, s.stamp()
		up = a.img
		if err := s.takeLease(ctx, tx, ul); err != nil {
			return err
		}
		return tx.UpdateImage(ctx, a.img)
	})
	if err != nil {
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	// The lease tells the other nodes that this upload lives; if this node
	// dies, they return the image to queued (RecoverUploads).
	stopLease, lost := s.holdLease(ctx, ul)
	in, perr := s.ingest(ctx, up, r)
	stopLease()
	select {
	case <-lost:
		if perr == nil {
			perr = errors.E(errors.Conflict, errors.Msg("the upload's lease was lost"))
		}
	default:
	}
	var flag *verdict
	if perr == nil {
		if flag, perr = s.detect(ctx, up, in); perr != nil {
			s.blobs.Delete(context.WithoutCancel(ctx), string(id))
		}
	}
	var img *imgward.Image
	// The request's context may be what broke the upload; settle the
	// record regardless.
	ctx = context.WithoutCancel(ctx)
	err = s.store.Update(ctx, func(tx imgward.Tx) error {
		var err error
		img, err = tx.Image(ctx, id)
		if err != nil {
			return err
		}
		held, err := s.holdsLease(ctx, tx, ul)
		if err != nil {
			return err
		}
		if img.Status != imgward.StatusSaving || !held {
			return errors.E(op, errors.Conflict, errors.Msg("image changed during the upload"))
		}
		if err := s.releaseLease(ctx, tx, ul); err != nil {
			return err
		}
		img.UpdatedAt = s.stamp()
		if perr != nil {
			img.Status = imgward.StatusQueued
			if err := tx.UpdateImage(ctx, img); err != nil {
				return err
			}
			return s.audit(ctx, tx, p, "image.upload", imageObject(id), "failed: "+errors.Message(perr))
		}
		info := in.info
		img.Status, img.Size, img.Checksum = imgward.StatusActive, info.Size, info.MD5
		img.OSHashAlgo, img.OSHashValue = "sha512", info.SHA512
		if err := tx.UpdateImage(ctx, img); err != nil {
			return err
		}
		if err := s.audit(ctx, tx, p, "image.upload", imageObject(id), "sha512 "+info.SHA512); err != nil {
			return err
		}
		return s.recordProtection(ctx, tx, p, img, in, flag)
	})
	if perr != nil {
		return nil, errors.E(op, perr)
	}
	if err != nil {
		// The image was deleted or reset meanwhile: its data must not stay.
		s.blobs.Delete(ctx, string(id))
		return nil, errors.E(op, err)
	}
	if flag != nil && flag.part != nil {
		s.recheckParts(ctx, img, in)
	}
	return img, nil
}

func validStatus(st imgward.ImageStatus) bool {
	switch st {
	case imgward.StatusQueued, imgward.StatusSaving, imgward.StatusActive, imgward.StatusKilled:
		return true
	}
	return false
}

// validUUID accepts the canonical 8-4-4-4-12 hex form, any case.
func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

func newUUID() string {
	h := randomHex(16)
	b := []byte(h)
	b[12] = '4'                                                    // version 4
	b[16] = "89ab"[strings.IndexByte("0123456789abcdef", b[16])%4] // RFC 4122 variant
	s := string(b)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}
