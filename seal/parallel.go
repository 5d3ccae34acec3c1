package seal

import (
	"context"
	"io"
	"runtime"
	"sync"

	"imgward/errors"
)

// Seal seals src into dst as NewWriter and io.Copy would, byte for byte the
// same format, but with workers goroutines sealing chunks at once (all
// processors when workers < 1). It holds at most 2×workers chunks in memory.
// It returns the number of bytes written to dst.
func Seal(ctx context.Context, dst io.Writer, src io.Reader, dataKey []byte, h Header, workers int) (int64, error) {
	return seal(ctx, dst, src, dataKey, h, newSalt(), workers)
}

func seal(ctx context.Context, dst io.Writer, src io.Reader, dataKey []byte, h Header, salt []byte, workers int) (int64, error) {
	const op = "seal.Seal"
	aead, hdr, err := begin(op, dataKey, h, salt)
	if err != nil {
		return 0, err
	}
	n, err := dst.Write(hdr)
	if err != nil {
		return int64(n), errors.E(op, err)
	}
	m, err := pipeline(ctx, op, src, dst, ChunkSize, workers, func(j *job) error {
		j.out = sealChunk(aead, j.buf[:0], j.buf[:j.n], j.index, j.final)
		return nil
	})
	return int64(n) + m, err
}

// Unseal opens the sealed image in src with dataKey and writes its plaintext
// to dst, as NewReader and io.Copy would, but with workers goroutines
// opening chunks at once (all processors when workers < 1). It holds at most
// 2×workers chunks in memory. Each chunk is authenticated before it is
// written, but an error can come after some chunks were: dst is the image
// only when Unseal returns nil. It returns the authenticated header and the
// number of bytes written to dst.
func Unseal(ctx context.Context, dst io.Writer, src io.Reader, dataKey []byte, workers int) (*Header, int64, error) {
	const op = "seal.Unseal"
	rh, err := readHeader(op, src)
	if err != nil {
		return nil, 0, err
	}
	aead, err := rh.open(op, dataKey)
	if err != nil {
		return nil, 0, err
	}
	n, err := pipeline(ctx, op, src, dst, encChunk, workers, func(j *job) error {
		p, err := openChunk(aead, j.buf[:j.n], j.index, j.final)
		j.out = p
		return err
	})
	return &rh.Header, n, err
}

// job is one chunk on its way through the pipeline.
type job struct {
	buf   []byte // the chunk as read, then as processed; and the read-ahead byte
	n     int
	index uint64
	final bool
	out   []byte
	res   chan error // the worker's result; one send and one receive per use
}

// pipeline reads src in pieces of size bytes on one goroutine, processes
// them on workers goroutines, and writes the results to dst in order on the
// caller's. A fixed set of jobs circulates, which bounds memory. An error
// stops the reading; the jobs in flight drain before pipeline returns.
func pipeline(ctx context.Context, op string, src io.Reader, dst io.Writer, size, workers int, process func(*job) error) (int64, error) {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := 2 * workers
	free := make(chan *job, jobs)
	for range jobs {
		free <- &job{buf: make([]byte, encChunk+1), res: make(chan error, 1)}
	}
	// A job goes to work before order, so a job in order always gets a
	// result; neither channel ever blocks, each holding every job.
	work, order := make(chan *job, jobs), make(chan *job, jobs)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var readErr error
	wg.Go(func() { readErr = produce(ctx, src, size, free, work, order, stop) })
	// The workers share one AEAD: GCM keeps no state between calls.
	for range workers {
		wg.Go(func() {
			for j := range work {
				j.res <- process(j)
			}
		})
	}
	var written int64
	var err error
	for j := range order {
		perr := <-j.res
		if err == nil {
			err = perr
			if err == nil {
				var n int
				n, err = dst.Write(j.out)
				written += int64(n)
			}
			if err != nil {
				close(stop)
			}
		}
		free <- j
	}
	wg.Wait()
	switch {
	case err == ErrAuth:
		return written, authError(op)
	case err == nil && readErr != nil:
		err = readErr
	}
	if err != nil {
		return written, errors.E(op, err)
	}
	return written, nil
}

// produce reads pieces into free jobs and hands them on, until the last
// piece, an error, or stop.
func produce(ctx context.Context, src io.Reader, size int, free <-chan *job, work, order chan<- *job, stop <-chan struct{}) error {
	defer close(order)
	defer close(work)
	cr := chunkReader{r: src, n: size}
	for index := uint64(0); ; index++ {
		var j *job
		select {
		case j = <-free:
		case <-stop:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
		n, final, err := cr.next(j.buf)
		if err != nil {
			return err
		}
		j.n, j.index, j.final = n, index, final
		work <- j
		order <- j
		if final {
			return nil
		}
	}
}
