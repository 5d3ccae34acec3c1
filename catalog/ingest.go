package catalog

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"io"

	"imgward"
	"imgward/errors"
	"imgward/fingerprint"
	"imgward/seal"
)

// maxFingerprint bounds the plaintext that an upload's fingerprint covers,
// and so its memory: at 8 KiB chunks, 8 GiB make a million sums, 36 MB.
// Beyond it the fingerprint covers the first 8 GiB, which is where a
// rootfs keeps most of what it is.
const maxFingerprint = 8 << 30

// ingested is what an upload left behind.
type ingested struct {
	info    imgward.BlobInfo         // of the plaintext, as Glance reports it
	key     *imgward.ImageKey        // set when this upload was sealed here
	fp      *fingerprint.Fingerprint // of the plaintext; nil for sealed input
	foreign *seal.Header             // the binding of input that came sealed
}

// ingest stores an upload. Input that is already sealed (a copy of a
// protected image) is stored as it is, and its binding returned, so that
// the caller can flag it; it never gets a key. Plaintext is fingerprinted
// as it streams and, for a protected image, sealed before it reaches the
// blob store, so that its plaintext never rests on disk.
func (s *Service) ingest(ctx context.Context, img *imgward.Image, r io.Reader) (*ingested, error) {
	return s.ingestFrom(ctx, img, &bodyReader{r: r})
}

// errBrokeOff is the answer to an upload whose body ended early or failed
// to arrive, whatever the step it broke: the same for every mode, so that
// a client that cuts its upload learns nothing else, and makes no other
// part (the key service) look broken.
var errBrokeOff = errors.Msg("upload broke off")

// bodyReader keeps the error that reading an upload's body met, so that
// it, and not whatever step it broke, is what the upload reports.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// brokeOff returns err, or the broken-off upload if the body failed first:
// with the body's own client message if it has one (such as the pacing
// of api's, which ends a stalled upload), so that the answer and the
// audit log say why.
func (b *bodyReader) brokeOff(err error) error {
	if err == nil || b.err == nil {
		return err
	}
	if m := errors.Message(b.err); m != "" {
		return errors.E(errors.Invalid, errors.Msg(m), b.err)
	}
	return errors.E(errors.Invalid, errBrokeOff, b.err)
}

func (s *Service) ingestFrom(ctx context.Context, img *imgward.Image, body *bodyReader) (*ingested, error) {
	br := bufio.NewReaderSize(body, 64<<10)
	head, _ := br.Peek(seal.MaxHeaderSize)
	if body.err != nil {
		return nil, body.brokeOff(body.err) // before a key is made for nothing
	}
	if bytes.HasPrefix(head, []byte(seal.Magic)) {
		if h, err := seal.ParseHeader(bytes.NewReader(head)); err == nil {
			info, err := s.blobs.Put(ctx, img.BlobKey(), br, s.limits.MaxImageSize)
			return &ingested{info: info, foreign: h}, body.brokeOff(err)
		}
	}
	isTar := len(head) >= 262 && string(head[257:262]) == "ustar"
	mode := protectMode(img)
	if mode == imgward.ProtectSensitive && !isTar {
		return nil, errors.E(errors.Invalid, notTar)
	}
	if mode == imgward.ProtectLUKS {
		// Ciphertext already: stored as it is, with no fingerprint, which
		// would describe nothing but the ciphertext.
		if err := checkLUKS(head); err != nil {
			return nil, err
		}
		info, err := s.blobs.Put(ctx, img.BlobKey(), br, s.limits.MaxImageSize)
		return &ingested{info: info}, body.brokeOff(err)
	}
	fpr, fpw := io.Pipe()
	fpDone := make(chan *fingerprint.Fingerprint, 1)
	go func() { fpDone <- fingerprintOf(ctx, fpr) }()

	var md, sh hash.Hash = md5.New(), sha512.New()
	src := &limitReader{r: io.TeeReader(br, io.MultiWriter(md, sh, fpw)), left: s.limits.MaxImageSize}
	var in ingested
	var err error
	switch mode {
	case imgward.ProtectFull:
		in.key, err = s.sealTo(ctx, img, src)
	case imgward.ProtectSensitive:
		in.key, err = s.sealSensitiveTo(ctx, img, src)
	default:
		_, err = s.blobs.Put(ctx, img.BlobKey(), src, s.limits.MaxImageSize)
	}
	fpw.CloseWithError(err) // nil: EOF
	fp := <-fpDone
	if err != nil {
		return nil, body.brokeOff(err)
	}
	in.fp = fp
	in.info = imgward.BlobInfo{Size: src.n, MD5: hex.EncodeToString(md.Sum(nil)), SHA512: hex.EncodeToString(sh.Sum(nil))}
	return &in, nil
}

// fingerprintOf fingerprints r and then drains it, so that the upload
// never waits on a fingerprint that failed or reached its bound. A failure
// leaves the image without fingerprint. Every upload, well-formed tar or
// not, is fingerprinted by FromContent, so that a piece of a protected
// image cut anywhere (issue 11 §3) is compared with it file by file.
func fingerprintOf(ctx context.Context, r *io.PipeReader) *fingerprint.Fingerprint {
	defer io.Copy(io.Discard, r)
	fp, err := fingerprint.FromContent(ctx, io.LimitReader(r, maxFingerprint), fingerprint.Default)
	if err != nil {
		return nil
	}
	return fp
}

// sealTo seals src under a new data key into the blob store and returns
// the key record. The data key is bound to the image id as additional
// data, and the sealed header binds image, owner and master key version.
func (s *Service) sealTo(ctx context.Context, img *imgward.Image, src io.Reader) (*imgward.ImageKey, error) {
	wrapped, _, err := s.putSealed(ctx, img, func(h seal.Header) int64 { return seal.SealedSize(s.limits.MaxImageSize, h) },
		func(w io.Writer, dk []byte, h seal.Header) error {
			sw, err := seal.NewWriter(w, dk, h)
			if err == nil {
				if _, err = io.Copy(sw, src); err == nil {
					err = sw.Close()
				}
			}
			return err
		})
	if err != nil {
		return nil, err
	}
	return &imgward.ImageKey{ImageID: img.ID, Owner: img.Owner, Mode: imgward.ProtectFull,
		Wrapped: wrapped, CreatedAt: s.stamp()}, nil
}

// putSealed stores as img's data what write writes, sealing under a new
// data key of img for the header h that binds image, owner and key; write
// runs on a goroutine of its own while the blob store reads, and max(h)
// bounds the blob. It returns the wrapped data key, write's error and the
// store's (or the key service's); a write error also keeps the store from
// keeping the blob.
func (s *Service) putSealed(ctx context.Context, img *imgward.Image, max func(seal.Header) int64,
	write func(w io.Writer, dk []byte, h seal.Header) error) (wrapped imgward.WrappedKey, writeErr, err error) {
	dk, wrapped, err := s.prot.keys.GenerateDataKey(ctx, s.prot.keyID, []byte(img.ID))
	if err != nil && ctx.Err() != nil {
		// The client went away: its upload broke off, the KMS did not.
		return wrapped, nil, errors.E(errors.Invalid, errBrokeOff, ctx.Err())
	} else if err != nil {
		return wrapped, nil, errors.E(errors.Unavailable, errors.Msg("key service unavailable"), err)
	}
	defer clear(dk)
	h := seal.Header{ImageID: img.ID, Owner: img.Owner, KeyID: wrapped.KeyID, KeyVersion: wrapped.Version}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		writeErr = write(pw, dk, h)
		pw.CloseWithError(writeErr)
	}()
	_, err = s.blobs.Put(ctx, img.BlobKey(), pr, max(h))
	pr.CloseWithError(errors.New("upload ended")) // unblock the sealer if Put stopped early
	<-done                                        // before dk is cleared
	return wrapped, writeErr, err
}

// limitReader counts what it reads and fails with TooLarge past left
// bytes, so that a sealed upload is bounded by its plaintext size.
type limitReader struct {
	r    io.Reader
	left int64
	n    int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1] // one byte more than allowed shows that there is more
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		return 0, errors.E(errors.TooLarge, errors.Msg("image data is over the size limit"))
	}
	l.left -= int64(n)
	l.n += int64(n)
	return n, err
}
