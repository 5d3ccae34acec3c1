package sensitive

import (
	"archive/tar"
	"bytes"
	"io"
	"maps"
	"strconv"
	"strings"

	"imgward/errors"
	"imgward/seal"
)

// The PAX records that mark a sealed entry.
const (
	PAXSealed = "IMGWARD.sealed" // "v1": the content is a seal v1 blob
	PAXSize   = "IMGWARD.size"   // the plaintext size, decimal
	PAXKind   = "IMGWARD.kind"   // the finding's kind
)

// recorder passes reads through and, while on, keeps a copy of what it
// passed: the raw bytes of the headers that tar.Reader.Next consumes, so
// that an entry left alone is copied byte for byte. It is no io.Seeker, so
// tar.Reader reads every byte through it.
type recorder struct {
	r   io.Reader
	on  bool
	buf []byte
}

func (r *recorder) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if r.on {
		r.buf = append(r.buf, p[:n]...)
	}
	return n, err
}

func (r *recorder) start() { r.on, r.buf = true, r.buf[:0] }
func (r *recorder) stop() []byte {
	r.on = false
	return r.buf
}

// entryFunc handles one entry: hdr and its raw header bytes, and a reader
// of its content. It writes the entry and reports whether it wrote its own
// padding (rather than leaving the original's to be copied).
type entryFunc func(hdr *tar.Header, raw []byte, content io.Reader) (ownPadding bool, err error)

// walk reads a tar archive and calls fn for each entry, then copies the
// archive's trailer, and whatever follows it, to dst as it is. The raw
// bytes that Next reads start with the previous entry's padding: walk
// copies it when fn copied that entry, and drops it when fn wrote its own.
//
// With strict, the archive must end as tar ends it (end). Without, as
// when unsealing what SealSensitive stored, the end is copied whatever it
// is: images stored before that rule must still open.
func walk(op string, dst io.Writer, src io.Reader, strict bool, fn entryFunc) error {
	rec := &recorder{r: src}
	tr := tar.NewReader(rec)
	var pad int64 // the padding of the previous entry
	own := false  // whether fn wrote the previous entry's padding
	for {
		rec.start()
		hdr, err := tr.Next()
		raw := rec.stop()
		if int64(len(raw)) < pad || errors.IsErr(err, io.ErrUnexpectedEOF) {
			return errors.E(op, errors.Invalid, errors.Msg("the tar archive is truncated"))
		}
		if !own {
			if _, err := dst.Write(raw[:pad]); err != nil {
				return errors.E(op, err)
			}
		}
		raw = raw[pad:]
		if err == io.EOF && strict {
			return end(op, dst, raw, rec.r)
		}
		if err == io.EOF {
			if _, err := dst.Write(raw); err != nil {
				return errors.E(op, err)
			}
			_, err := io.Copy(dst, rec.r)
			return errors.Wrap(op, err)
		}
		if err != nil {
			return errors.E(op, errors.Invalid, errors.Msg("malformed tar archive"), err)
		}
		if hdr.Typeflag == tar.TypeGNUSparse || hasPrefixKey(hdr.PAXRecords, "GNU.sparse.") {
			return errors.E(op, errors.Invalid, errors.Msg("sparse tar entries are not supported: "+hdr.Name))
		}
		content := &counter{r: tr}
		if own, err = fn(hdr, raw, content); err != nil {
			return err
		}
		// Drain what fn left, so that the recorder sees only headers.
		if _, err := io.Copy(io.Discard, content); err != nil {
			return errors.E(op, errors.Invalid, errors.Msg("malformed tar archive"), err)
		}
		pad = padding(content.n)
	}
}

// end copies the end of an archive: its two zero blocks, which Next has
// just read as raw, and whatever follows them, which may be zeros only (tar
// pads an archive to a whole record). An archive cut short, even between
// entries, or with data after its end is refused: neither comes from tar,
// and what a reader makes of the extra bytes is its own guess.
func end(op string, dst io.Writer, raw []byte, rest io.Reader) error {
	if len(raw) != 2*blockSize {
		return errors.E(op, errors.Invalid, errors.Msg("the tar archive ends without its end-of-archive blocks: it is truncated"))
	}
	if _, err := dst.Write(raw); err != nil {
		return errors.E(op, err)
	}
	_, err := io.Copy(zerosOnly{dst}, rest)
	if errors.Is(errors.Invalid, err) {
		return errors.E(op, err)
	}
	return errors.Wrap(op, err)
}

const blockSize = 512

// zerosOnly passes zero bytes through and fails on any other.
type zerosOnly struct{ w io.Writer }

func (z zerosOnly) Write(p []byte) (int, error) {
	for _, c := range p {
		if c != 0 {
			return 0, errors.E(errors.Invalid, errors.Msg("data after the end of the tar archive: only zeros may follow its end-of-archive blocks"))
		}
	}
	return z.w.Write(p)
}

// counter counts the bytes of an entry's content, to know its padding: a
// header-only entry such as a link has none, whatever its size field says.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// countWriter counts the bytes written through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func padding(size int64) int64 { return -size & (blockSize - 1) }

func hasPrefixKey(m map[string]string, prefix string) bool {
	for k := range m {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// readSmall reads an entry's content if it is a regular file of at most
// max bytes; nil otherwise, and then content is left unread.
func readSmall(hdr *tar.Header, content io.Reader, max int64) ([]byte, error) {
	if hdr.Typeflag != tar.TypeReg || hdr.Size > max {
		return nil, nil
	}
	b := make([]byte, hdr.Size)
	_, err := io.ReadFull(content, b)
	return b, err
}

// Scan reads a tar archive and returns its sensitive entries.
func (s *Scanner) Scan(src io.Reader) ([]Finding, error) {
	const op = "sensitive.Scan"
	var found []Finding
	l := newLinks(s)
	err := walk(op, io.Discard, src, true, func(hdr *tar.Header, _ []byte, content io.Reader) (bool, error) {
		f, _, err := s.judge(op, l, hdr, content)
		if f != nil {
			found = append(found, *f)
		}
		return false, err
	})
	return found, err
}

// judge classifies an entry under every name it has and returns its
// finding, if any, and the reader of its whole content, whatever judge
// read of it. A link is recorded, and refused if it names content
// already in the clear that its name makes sensitive (links.go).
func (s *Scanner) judge(op string, l *links, hdr *tar.Header, content io.Reader) (*Finding, io.Reader, error) {
	p := clean(hdr.Name)
	switch {
	case hdr.Typeflag == tar.TypeLink:
		return nil, content, errors.Wrap(op, l.hardLink(p, clean(hdr.Linkname)))
	case hdr.Typeflag == tar.TypeSymlink:
		return nil, content, errors.Wrap(op, l.symlink(p, hdr.Linkname))
	case hdr.Typeflag != tar.TypeReg:
		return nil, content, nil
	case hdr.PAXRecords[PAXSealed] != "":
		return sealedAlready(op, hdr, content)
	}
	b, err := readSmall(hdr, content, s.maxScan())
	if err != nil {
		return nil, nil, errors.E(op, errors.Invalid, errors.Msg("truncated tar entry "+hdr.Name), err)
	}
	if b != nil {
		content = bytes.NewReader(b)
	}
	kind, reason, ok := l.judge(p, b)
	if !ok {
		return nil, content, errors.Wrap(op, l.wroteClear(p, b))
	}
	return &Finding{Path: hdr.Name, Kind: kind, Reason: reason, Size: hdr.Size}, content, nil
}

// sealedAlready passes on an entry marked sealed (a partly sealed tar
// uploaded again) once its content starts with a seal header: a mark on
// plaintext would let it through unjudged, so it is refused.
func sealedAlready(op string, hdr *tar.Header, content io.Reader) (*Finding, io.Reader, error) {
	peek := make([]byte, seal.MaxHeaderSize)
	n, err := io.ReadFull(content, peek)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, nil, errors.E(op, errors.Invalid, errors.Msg("truncated tar entry "+hdr.Name), err)
	}
	if _, err := seal.ParseHeader(bytes.NewReader(peek[:n])); err != nil {
		return nil, nil, errors.E(op, errors.Invalid, errors.Msg("tar entry "+hdr.Name+" is marked "+PAXSealed+
			" but holds no sealed content"), err)
	}
	return nil, io.MultiReader(bytes.NewReader(peek[:n]), content), nil
}

// basicPAX are the records that tar.Header fields carry; tar.Writer
// refuses them in PAXRecords.
var basicPAX = []string{"path", "linkpath", "size", "uid", "gid", "uname", "gname", "mtime", "atime", "ctime"}

// newHeader returns a copy of hdr for new content of size bytes, with the
// records of set added and those of del removed.
func newHeader(hdr *tar.Header, size int64, set map[string]string, del ...string) *tar.Header {
	h := *hdr
	h.Size = size
	h.PAXRecords = maps.Clone(hdr.PAXRecords)
	if h.PAXRecords == nil {
		h.PAXRecords = map[string]string{}
	}
	for _, k := range append(del, basicPAX...) {
		delete(h.PAXRecords, k)
	}
	maps.Copy(h.PAXRecords, set)
	h.Format = tar.FormatPAX
	return &h
}

// SealSensitive copies the tar archive src to dst, replacing the content
// of each sensitive entry with a seal v1 blob of it (under dataKey, with
// header h and a fresh salt) and marking the entry with PAX records
// IMGWARD.sealed=v1, IMGWARD.size and IMGWARD.kind. Every other entry,
// and the archive's trailer, is copied byte for byte. It returns the
// findings it sealed.
func (s *Scanner) SealSensitive(dst io.Writer, src io.Reader, dataKey []byte, h seal.Header) ([]Finding, error) {
	const op = "sensitive.SealSensitive"
	var found []Finding
	cw := &countWriter{w: dst}
	dst = cw
	tw := tar.NewWriter(dst)
	l := newLinks(s)
	err := walk(op, dst, src, true, func(hdr *tar.Header, raw []byte, content io.Reader) (bool, error) {
		f, content, err := s.judge(op, l, hdr, content)
		if err != nil {
			return false, err
		}
		if f == nil {
			if _, err := dst.Write(raw); err != nil {
				return false, errors.E(op, err)
			}
			_, err := io.Copy(dst, content)
			return false, errors.Wrap(op, err)
		}
		nh := newHeader(hdr, seal.SealedSize(hdr.Size, h), map[string]string{
			PAXSealed: "v1", PAXSize: strconv.FormatInt(hdr.Size, 10), PAXKind: f.Kind,
		})
		if err := tw.WriteHeader(nh); err != nil {
			return false, errors.E(op, errors.Invalid, err)
		}
		// tar.Writer writes the header blocks at once, so the content
		// starts here: the key broker reads the seal header at this offset.
		f.Offset = cw.n
		found = append(found, *f)
		w, err := seal.NewWriter(tw, dataKey, h)
		if err != nil {
			return false, err
		}
		if _, err := io.Copy(w, content); err != nil {
			return false, errors.E(op, errors.Invalid, err)
		}
		if err := w.Close(); err != nil {
			return false, err
		}
		return true, errors.Wrap(op, tw.Flush())
	})
	if err != nil {
		return nil, err
	}
	return found, nil
}

// UnsealSensitive reverses SealSensitive: it copies src to dst, replacing
// each sealed entry with its plaintext and dropping the IMGWARD records;
// other entries are copied byte for byte. A sealed entry that does not
// open under dataKey is an error of kind Invalid (seal.ErrAuth). It
// returns the seal header of the first sealed entry, or nil if none.
func UnsealSensitive(dst io.Writer, src io.Reader, dataKey []byte) (*seal.Header, error) {
	const op = "sensitive.UnsealSensitive"
	var first *seal.Header
	tw := tar.NewWriter(dst)
	err := walk(op, dst, src, false, func(hdr *tar.Header, raw []byte, content io.Reader) (bool, error) {
		if hdr.PAXRecords[PAXSealed] == "" {
			if _, err := dst.Write(raw); err != nil {
				return false, errors.E(op, err)
			}
			_, err := io.Copy(dst, content)
			return false, errors.Wrap(op, err)
		}
		size, err := strconv.ParseInt(hdr.PAXRecords[PAXSize], 10, 64)
		if hdr.PAXRecords[PAXSealed] != "v1" || err != nil || size < 0 {
			return false, errors.E(op, errors.Invalid, errors.Msg("bad sealed entry marking: "+hdr.Name))
		}
		sh, r, err := seal.NewReader(content, dataKey)
		if err != nil {
			return false, errors.E(op, errors.Msg("sealed entry "+hdr.Name), err)
		}
		if first == nil {
			first = sh
		}
		if err := tw.WriteHeader(newHeader(hdr, size, nil, PAXSealed, PAXSize, PAXKind)); err != nil {
			return false, errors.E(op, errors.Invalid, err)
		}
		if _, err := io.Copy(tw, r); err != nil {
			return false, errors.E(op, errors.Invalid, errors.Msg("sealed entry "+hdr.Name), err)
		}
		if err := tw.Flush(); err != nil {
			return false, errors.E(op, errors.Invalid, errors.Msg("sealed entry "+hdr.Name+" has the wrong size"), err)
		}
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return first, nil
}

// SealSensitive is Scanner.SealSensitive with the default rules.
func SealSensitive(dst io.Writer, src io.Reader, dataKey []byte, h seal.Header) ([]Finding, error) {
	return (&Scanner{}).SealSensitive(dst, src, dataKey, h)
}
