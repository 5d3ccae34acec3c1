package catalog

import (
	"context"
	"io"

	"imgward"
	"imgward/errors"
	"imgward/seal"
	"imgward/seal/sensitive"
)

// Images with imgward_protect=sensitive: a root filesystem tar of which
// only the sensitive entries (package seal/sensitive) are sealed, so that
// the rest stays inspectable by anyone who may download the image.

// SealedSensitive is the value of X-Imgward-Sealed for such an image's
// partly sealed tar; "v1" is the wholly sealed format.
const SealedSensitive = "sensitive-v1"

// notTar is the answer to a sensitive image's upload that is no tar: the
// entries to seal cannot be told apart in anything else.
var notTar = errors.Msg(PropProtect + " sensitive needs a root filesystem tar (ustar, pax or GNU); " +
	"this upload is not one: upload the rootfs as a tar, or create the image with " + PropProtect + " full")

// nothingSensitive refuses a tar with nothing to seal: storing it under a
// key would promise a protection that is not there.
var nothingSensitive = errors.Msg("no sensitive entries found in this tar (imgward scan FILE lists what " +
	"counts); nothing would be sealed: create the image with " + PropProtect + " none or full")

// sealSensitiveTo stores the tar src with its sensitive entries sealed
// under a new data key, and returns the key record. The record keeps the
// offset of the first sealed entry's seal header, which binds image,
// owner and key, for the key broker to check without reading the tar.
func (s *Service) sealSensitiveTo(ctx context.Context, img *imgward.Image, src io.Reader) (*imgward.ImageKey, error) {
	// Each sealed entry grows by at most a seal header and a chunk tag per
	// 64 KiB, and a PAX header: a quarter more is ample.
	max := s.limits.MaxImageSize + s.limits.MaxImageSize/4 + 1<<20
	var found []sensitive.Finding
	wrapped, sealErr, err := s.putSealed(ctx, img, func(seal.Header) int64 { return max },
		func(w io.Writer, dk []byte, h seal.Header) error {
			var err error
			found, err = sensitive.SealSensitive(w, src, dk, h)
			if err == nil && len(found) == 0 {
				err = errors.E(errors.Invalid, nothingSensitive)
			}
			return err
		})
	if sealErr != nil {
		return nil, sealErr // the clearer reason: not a tar, too large, nothing to seal
	}
	if err != nil {
		return nil, err
	}
	return &imgward.ImageKey{ImageID: img.ID, Owner: img.Owner, Mode: imgward.ProtectSensitive,
		Wrapped: wrapped, CreatedAt: s.stamp(), SealedAt: found[0].Offset}, nil
}

// exportSensitive opens the plaintext tar of a sensitive image for its
// owner: every sealed entry unsealed, its header rewritten in PAX format
// without the IMGWARD records. The first sealed entry's binding is checked
// against the image before a byte goes out, as for a wholly sealed image.
func (s *Service) exportSensitive(ctx context.Context, img *imgward.Image, k *imgward.ImageKey, rc io.ReadSeekCloser) (io.ReadCloser, error) {
	dk, err := s.prot.keys.Unwrap(ctx, k.Wrapped, []byte(img.ID))
	if err != nil {
		return nil, errors.E(errors.Internal, errors.Msg("image key does not unwrap"), err)
	}
	if err := checkSealedAt(rc, k.SealedAt, dk, img); err != nil {
		clear(dk)
		return nil, err
	}
	pr, pw := io.Pipe()
	go func() {
		defer clear(dk)
		_, err := sensitive.UnsealSensitive(pw, rc, dk)
		pw.CloseWithError(err)
	}()
	return struct {
		io.Reader
		io.Closer
	}{pr, closers{pr, rc}}, nil
}

// checkSealedAt authenticates the seal header at offset at of rc with dk
// and checks that it names img and its owner; it leaves rc at the start.
func checkSealedAt(rc io.ReadSeeker, at int64, dk []byte, img *imgward.Image) error {
	if _, err := rc.Seek(at, io.SeekStart); err != nil {
		return errors.E(errors.Internal, err)
	}
	h, err := seal.OpenHeader(io.LimitReader(rc, int64(seal.MaxHeaderSize)), dk)
	if err != nil {
		return errors.E(errors.Internal, errors.Msg("sealed image does not open"), err)
	}
	if h.ImageID != img.ID || h.Owner != img.Owner {
		return errors.E(errors.Internal, errors.Msg("sealed image is bound to another image or owner"))
	}
	if _, err := rc.Seek(0, io.SeekStart); err != nil {
		return errors.E(errors.Internal, err)
	}
	return nil
}

// closers closes the pipe first, which stops the unsealer, then the blob.
type closers [2]io.Closer

func (c closers) Close() error {
	c[0].Close()
	return c[1].Close()
}
