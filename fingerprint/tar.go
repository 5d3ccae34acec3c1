package fingerprint

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"io"

	"imgward/errors"
)

// FromTar fingerprints a tar archive, gzip-compressed or not, file by file:
// the content of each regular file is chunked on its own, so that an edit
// to one file leaves the chunks of the others alone, and a file smaller
// than Min is one chunk. Tar headers, directories, links and devices are
// left out: they change when an archive is re-packed, not when its content
// is copied.
//
// The work is bounded by the input: an archive whose files hold more than
// MaxExpansion times its own size (a gzip or sparse-file bomb) is an error of
// kind TooLarge. A malformed archive is an error of kind Invalid; an error of
// r or of ctx is returned as it is. In every case no fingerprint is
// returned, since one of part of an upload would say too little.
func FromTar(ctx context.Context, r io.Reader, p Params) (*Fingerprint, error) {
	return fromTar(ctx, r, p, MaxExpansion)
}

// MaxExpansion bounds the ratio of file content to archive bytes; gzip
// itself cannot compress by more than about 1032.
const MaxExpansion = 1100

var errExpands = errors.New("archive expands too much")

func fromTar(ctx context.Context, r io.Reader, p Params, ratio int64) (*Fingerprint, error) {
	return bounded(ctx, "fingerprint.FromTar", r, p, ratio, walkTar, errors.Invalid, "not a valid tar archive")
}

// bounded runs walk over r, bounding the content that walk chunks to ratio
// times the bytes read from r (plus 1 KiB), and names the errors: r's and
// ctx's as they are (r's even if walk went on: a gzip reader hides it),
// too much content as TooLarge, and any other as of kind bad, with msg.
func bounded(ctx context.Context, op string, r io.Reader, p Params, ratio int64,
	walk func(context.Context, io.Reader, Params, func(int64) error) (*Fingerprint, error), bad errors.Kind, msg errors.Msg) (*Fingerprint, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	src := &srcReader{r: r}
	f, err := walk(ctx, src, p, func(content int64) error {
		if content > ratio*(src.n+1<<10) {
			return errExpands
		}
		return nil
	})
	switch {
	case src.err != nil:
		return nil, errors.E(op, src.err)
	case err == nil:
		return f, nil
	case ctx.Err() != nil:
		return nil, errors.E(op, ctx.Err())
	case err == errExpands:
		return nil, errors.E(op, errors.TooLarge, errors.Msg("content expands too much"))
	}
	return nil, errors.E(op, bad, msg, err)
}

// walkTar fingerprints the regular files of an archive, calling limit with
// the content bytes read so far after every chunk.
func walkTar(ctx context.Context, r io.Reader, p Params, limit func(int64) error) (*Fingerprint, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	} else {
		r = br
	}
	b := builder{limit: limit}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return b.fingerprint(), nil
		}
		if err != nil {
			return nil, err
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if err := b.addAll(ctx, tr, p); err != nil {
			return nil, err
		}
	}
}

// srcReader counts the bytes of the caller's reader, and remembers its
// error, so that it is not mistaken for a malformed archive.
type srcReader struct {
	r   io.Reader
	n   int64
	err error
}

func (s *srcReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += int64(n)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}
