package api

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"imgward/errors"
)

// UploadLimits bound how slowly, and how long, the body of an image upload
// may arrive. An upload holds what it holds while its body arrives: its
// image is saving, and a protected upload keeps key rotation from retiring
// old versions (catalog.RotateKeys). Without bounds a tenant that stalls
// its upload holds them as long as it likes; with them, a stalled or
// trickling upload ends, its image returns to queued, and whatever it held
// is free again.
//
// A zero field takes its default (DefaultUploadLimits); a negative one
// turns its bound off.
type UploadLimits struct {
	// MinRate is the least average rate, in bytes per second, over every
	// Window: each Window must bring MinRate×Window bytes, else the upload
	// ends. So a stalled upload ends within one Window.
	MinRate int64
	Window  time.Duration
	// Timeout bounds the whole body.
	Timeout time.Duration
}

// DefaultUploadLimits: 16 KiB/s over 30 s ends a stall within half a
// minute and lets any working link through; a day matches what nodes
// sharing a database wait before they reset another node's upload
// (server.Open).
var DefaultUploadLimits = UploadLimits{MinRate: 16 << 10, Window: 30 * time.Second, Timeout: 24 * time.Hour}

// WithUploadLimits sets the bounds of upload bodies.
func WithUploadLimits(l UploadLimits) Option { return func(s *Server) { s.upload = l.withDefaults() } }

func (l UploadLimits) withDefaults() UploadLimits {
	d := DefaultUploadLimits
	if l.MinRate == 0 {
		l.MinRate = d.MinRate
	}
	if l.Window == 0 {
		l.Window = d.Window
	}
	if l.Timeout == 0 {
		l.Timeout = d.Timeout
	}
	return l
}

// pacedBody reads an upload's body under UploadLimits. It works through
// the connection's read deadline (http.ResponseController, HTTP/1 and
// HTTP/2 alike), moved once per window rather than once per read, so that
// a stalled client is cut off even while the reader waits.
type pacedBody struct {
	r       io.Reader
	rc      *http.ResponseController
	lim     UploadLimits
	now     func() time.Time
	end     time.Time // of the whole body; zero: none
	need    int64     // bytes still due in this window
	window  bool      // whether the rate bound applies
	started bool
	err     error // why the limits ended the body, once they have
}

func newPacedBody(w http.ResponseWriter, r io.Reader, lim UploadLimits, now func() time.Time) *pacedBody {
	return &pacedBody{r: r, rc: http.NewResponseController(w), lim: lim, now: now,
		window: lim.MinRate > 0 && lim.Window > 0}
}

// start starts the clocks at the first read, so that the time the upload
// waited for the store before it read anything is not held against it.
func (b *pacedBody) start() {
	b.started = true
	if b.lim.Timeout > 0 {
		b.end = b.now().Add(b.lim.Timeout)
	}
	b.next()
}

// next starts a window: its bytes are due by the window's end, or by the
// body's, whichever comes first.
func (b *pacedBody) next() {
	var deadline time.Time // none: the server's own timeouts must not cut an upload
	if b.window {
		b.need = b.due()
		deadline = b.now().Add(b.lim.Window)
	}
	if !b.end.IsZero() && (deadline.IsZero() || b.end.Before(deadline)) {
		deadline = b.end
	}
	b.rc.SetReadDeadline(deadline)
}

func (b *pacedBody) Read(p []byte) (int, error) {
	if !b.started {
		b.start()
	}
	n, err := b.r.Read(p)
	switch {
	case err == nil:
		if b.need -= int64(n); b.window && b.need <= 0 {
			b.next()
		}
	case err == io.EOF:
		b.stop()
	case errors.IsErr(err, os.ErrDeadlineExceeded):
		b.err = b.exceeded()
		return n, b.err
	}
	return n, err
}

// stop lifts the deadline once the body has ended: the server reads the
// connection beyond it while the handler still works, and a deadline
// left would cancel the request under an upload that arrived in time.
// A body that failed keeps it, so that what the server reads of the rest
// before it answers (net/http discards up to 256 KiB) stays bounded too.
func (b *pacedBody) stop() { b.rc.SetReadDeadline(time.Time{}) }

// due is the bytes each window must bring.
func (b *pacedBody) due() int64 { return int64(float64(b.lim.MinRate) * b.lim.Window.Seconds()) }

// exceeded is the error of a body that the limits ended.
func (b *pacedBody) exceeded() error {
	msg := fmt.Sprintf("upload too slow: less than %d bytes arrived in %s (the server's minimum is %d bytes/s); "+
		"the upload was ended and the image is queued again", b.due(), b.lim.Window, b.lim.MinRate)
	if !b.end.IsZero() && !b.now().Before(b.end) {
		msg = fmt.Sprintf("upload took longer than the server's limit of %s; the upload was ended and the image is queued again", b.lim.Timeout)
	}
	return errors.E("api.upload", errors.Invalid, errors.Msg(msg), os.ErrDeadlineExceeded)
}
