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
	Image  *imgward.Image
	Body   io.ReadCloser // nil for an image without data
	Size   int64         // of Body
	MD5    string        // hex MD5 of Body, when known
	Sealed bool          // Body is the sealed form of a protected image
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
	var a access
	var key *imgward.ImageKey
	err := s.store.View(ctx, func(tx imgward.Tx) error {
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
	if err != nil {
		return nil, s.finish(ctx, p, errors.E(op, err))
	}
	d := &Data{Image: a.img}
	if a.img.Status != imgward.StatusActive {
		return d, nil
	}
	rc, size, err := s.blobs.Open(ctx, string(id))
	if err != nil {
		return nil, errors.E(op, errors.Internal, err)
	}
	if key == nil {
		d.Body, d.Size, d.MD5 = rc, size, a.img.Checksum
		return d, nil
	}
	if !a.owner || wantSealed {
		d.Body, d.Size, d.Sealed = rc, size, true
		return d, nil
	}
	body, err := s.export(ctx, p, a.img, key, rc)
	if err != nil {
		rc.Close()
		return nil, errors.E(op, err)
	}
	d.Body, d.Size, d.MD5 = body, a.img.Size, a.img.Checksum
	return d, nil
}

// export opens a protected image's plaintext for its owner, checking the
// sealed header's binding against the key record as the broker does.
func (s *Service) export(ctx context.Context, p imgward.Principal, img *imgward.Image, k *imgward.ImageKey, rc io.ReadCloser) (io.ReadCloser, error) {
	if s.prot.keys == nil {
		return nil, errors.E(errors.Unavailable, errors.Msg("this server has no key service"))
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
	err = s.store.Update(ctx, func(tx imgward.Tx) error {
		return s.audit(ctx, tx, p, "image.export", imageObject(img.ID), "plaintext to the owner")
	})
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{r, rc}, nil
}
