package catalog

import (
	"context"
	"io"

	"imgward"
	"imgward/errors"
	"imgward/seal"
)

// Data is an image's data opened for download.
type Data struct {
	Image *imgward.Image
	Body  io.ReadCloser // nil for an image without data
	Size  int64         // of Body; -1 when not known ahead
	MD5   string        // hex MD5 of Body, when known
	// Sealed is the sealed format of Body: "" for plaintext, seal.Version
	// ("v1") for a wholly sealed image, SealedSensitive for a tar whose
	// sensitive entries only are sealed.
	Sealed string
}

// Download opens an image's data for a caller that may use the image. A
// protected image is exported in the clear to its owner only, unless the
// owner asks for the sealed bytes; everyone else gets the sealed bytes,
// which only the key broker can open for a bound instance.
func (s *Service) Download(ctx context.Context, p imgward.Principal, id imgward.ImageID, wantSealed bool) (*Data, error) {
	const op = "catalog.Download"
	if !validUUID(string(id)) {
		return nil, notFound(op)
	}
	a, key, rc, size, err := s.openData(ctx, p, id)
	if err != nil {
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	d := &Data{Image: a.img}
	if rc == nil {
		return d, nil
	}
	if key == nil {
		d.Body, d.Size, d.MD5 = rc, size, a.img.Checksum
		return d, nil
	}
	if key.Mode == imgward.ProtectLUKS {
		// The same bytes to everyone: the owner holds the key already.
		d.Body, d.Size, d.MD5, d.Sealed = rc, size, a.img.Checksum, SealedLUKS
		return d, nil
	}
	if !a.owner || wantSealed {
		d.Body, d.Size, d.Sealed = rc, size, "v1"
		if key.Mode == imgward.ProtectSensitive {
			d.Sealed = SealedSensitive
		}
		return d, nil
	}
	body, err := s.export(ctx, p, a.img, key, rc)
	if err != nil {
		rc.Close()
		return nil, errors.E(op, err)
	}
	d.Body, d.Size, d.MD5 = body, a.img.Size, a.img.Checksum
	if key.Mode == imgward.ProtectSensitive {
		// The unsealed entries get PAX headers of their own: the content of
		// every entry is as uploaded, the bytes of the archive may differ.
		d.Size, d.MD5 = -1, ""
	}
	return d, nil
}

// openData reads the image and its key record in one transaction and
// opens the data the record names, so that the caller gets the record and
// the data that go together. Data rewritten under a new key (an offer that
// sealed the image) switches with the record, and the old data goes once
// the switch commits: a download that read the old record just before
// then finds no data, and reads again. rc is nil for an image that is not
// active.
func (s *Service) openData(ctx context.Context, p imgward.Principal, id imgward.ImageID) (a access, key *imgward.ImageKey, rc io.ReadSeekCloser, size int64, err error) {
	const op = "catalog.Download"
	for try := 0; ; try++ {
		err = s.store.View(ctx, func(tx imgward.Tx) error {
			var err error
			if a, err = loadAccess(ctx, tx, p, id); err != nil {
				return err
			}
			if ok, why := a.use(); !ok && !a.admin {
				return denied("image.download", imageObject(id), why,
					errors.E(op, errors.Permission, errors.Msg("may not download: "+why)))
			}
			key, err = tx.ImageKey(ctx, id)
			if errors.Is(errors.NotExist, err) {
				key, err = nil, nil
			}
			return err
		})
		if err != nil || a.img.Status != imgward.StatusActive {
			return a, key, nil, 0, err
		}
		rc, size, err = s.blobs.Open(ctx, a.img.BlobKey())
		if errors.Is(errors.NotExist, err) && try < 3 {
			continue
		} else if err != nil {
			return a, key, nil, 0, errors.E(errors.Internal, err)
		}
		return a, key, rc, size, nil
	}
}

// export opens a protected image's plaintext for its owner, checking the
// sealed header's binding against the key record as the broker does.
func (s *Service) export(ctx context.Context, p imgward.Principal, img *imgward.Image, k *imgward.ImageKey, rc io.ReadSeekCloser) (io.ReadCloser, error) {
	if s.prot.keys == nil {
		return nil, errors.E(errors.Unavailable, errors.Msg("this server has no key service"))
	}
	if k.Mode == imgward.ProtectSensitive {
		body, err := s.exportSensitive(ctx, img, k, rc)
		if err != nil {
			return nil, err
		}
		if err := s.auditExport(ctx, p, img); err != nil {
			body.Close() // stops the unsealer
			return nil, err
		}
		return body, nil
	}
	dk, err := s.prot.keys.Unwrap(ctx, k.Wrapped, []byte(img.ID))
	if err != nil {
		return nil, errors.E(errors.Internal, errors.Msg("image key does not unwrap"), err)
	}
	h, r, err := seal.NewReader(rc, dk)
	clear(dk) // the reader keeps the derived chunk key, not the data key
	if err != nil {
		return nil, errors.E(errors.Internal, errors.Msg("sealed image does not open"), err)
	}
	if h.ImageID != img.ID || h.Owner != img.Owner {
		return nil, errors.E(errors.Internal, errors.Msg("sealed image is bound to another image or owner"))
	}
	if err := s.auditExport(ctx, p, img); err != nil {
		return nil, err
	}
	return sealedBody{r, rc}, nil
}

// sealedBody is an unsealed image's body. It keeps the seal.Reader's
// WriteTo, which io.Copy prefers: the chunks are opened where they are read
// and written straight on, instead of copied out through Read.
type sealedBody struct {
	*seal.Reader
	io.Closer
}

var _ io.WriterTo = sealedBody{}

// auditExport records that the owner took the plaintext of a protected image.
func (s *Service) auditExport(ctx context.Context, p imgward.Principal, img *imgward.Image) error {
	return s.store.Update(ctx, func(tx imgward.Tx) error {
		return s.audit(ctx, tx, p, "image.export", imageObject(img.ID), "plaintext to the owner")
	})
}
