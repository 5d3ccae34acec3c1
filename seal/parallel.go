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
// processors when workers < 1). It holds at most 2×workers batches of
// batchChunks chunks in memory (512 KiB a worker). It returns the number of
// bytes written to dst.
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
	m, err := pipeline(ctx, op, src, dst, ChunkSize, workers, func(c []byte, index uint64, final bool) ([]byte, error) {
		return sealChunk(aead, c[:0], c, index, final), nil
	})
	return int64(n) + m, err
}

// Unseal opens the sealed image in src with dataKey and writes its plaintext
// to dst, as NewReader and io.Copy would, but with workers goroutines
// opening chunks at once (all processors when workers < 1). It holds at most
// 2×workers batches of batchChunks chunks in memory. Each chunk is
// authenticated before it is written, but an error can come after some
// chunks were: dst is the image only when Unseal returns nil. It returns the
// authenticated header and the number of bytes written to dst.
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
	n, err := pipeline(ctx, op, src, dst, encChunk, workers, func(c []byte, index uint64, final bool) ([]byte, error) {
		return openChunk(aead, c, index, final)
	})
	return &rh.Header, n, err
}

// batchChunks is the number of chunks a job carries through the pipeline.
// A handoff between goroutines can cost tens of microseconds when it wakes
// an idle processor, as long as sealing one 64 KiB chunk: with one chunk a
// job, two workers kept barely more than one core busy. Four chunks a job
// did best on 2 cores among 1, 4, 8, 16 and 32: longer jobs lengthen the
// pipeline's fill and drain, which an image of a few megabytes notices.
const batchChunks = 4

// job is a batch of chunks on its way through the pipeline.
type job struct {
	buf   []byte   // batchChunks slots of encChunk+1 bytes: the chunks as read, then processed
	n     []int    // the length of each chunk read; len(n) chunks in the batch
	index uint64   // the index of the first chunk
	final bool     // the batch's last chunk is the image's last
	out   [][]byte // the processed chunks
	res   chan error
}

// slot returns chunk k's room in the job's buffer.
func (j *job) slot(k int) []byte { return j.buf[k*(encChunk+1) : (k+1)*(encChunk+1)] }

// pipeline reads src in pieces of size bytes on one goroutine, processes
// them on workers goroutines, batchChunks pieces a job, and writes the
// results to dst in order on the caller's. A fixed set of jobs circulates,
// which bounds memory. An error stops the reading; the jobs in flight drain
// before pipeline returns.
func pipeline(ctx context.Context, op string, src io.Reader, dst io.Writer, size, workers int, process func(c []byte, index uint64, final bool) ([]byte, error)) (int64, error) {
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	jobs := 2 * workers
	free := make(chan *job, jobs)
	for range jobs {
		free <- &job{buf: make([]byte, batchChunks*(encChunk+1)), n: make([]int, 0, batchChunks),
			out: make([][]byte, 0, batchChunks), res: make(chan error, 1)}
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
				j.res <- processJob(j, process)
			}
		})
	}
	var written int64
	var err error
	for j := range order {
		perr := <-j.res
		if err == nil {
			err = perr
			for _, c := range j.out {
				if err != nil {
					break
				}
				var n int
				n, err = dst.Write(c)
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

// processJob processes the chunks of j in order, up to the first error.
func processJob(j *job, process func(c []byte, index uint64, final bool) ([]byte, error)) error {
	j.out = j.out[:0]
	for k, n := range j.n {
		p, err := process(j.slot(k)[:n], j.index+uint64(k), j.final && k == len(j.n)-1)
		if err != nil {
			return err
		}
		j.out = append(j.out, p)
	}
	return nil
}

// produce reads pieces into free jobs, batchChunks a job, and hands them
// on, until the last piece, an error, or stop.
func produce(ctx context.Context, src io.Reader, size int, free <-chan *job, work, order chan<- *job, stop <-chan struct{}) error {
	defer close(order)
	defer close(work)
	cr := chunkReader{r: src, n: size}
	for index := uint64(0); ; {
		// A select picks at random among ready cases: a canceled context
		// must win over a free job every time, not now and then.
		if err := ctx.Err(); err != nil {
			return err
		}
		var j *job
		select {
		case j = <-free:
		case <-stop:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
		j.n, j.index, j.final = j.n[:0], index, false
		for len(j.n) < batchChunks && !j.final {
			n, final, err := cr.next(j.slot(len(j.n)))
			if err != nil {
				return err
			}
			j.n, j.final = append(j.n, n), final
			index++
		}
		work <- j
		order <- j
		if j.final {
			return nil
		}
	}
}
