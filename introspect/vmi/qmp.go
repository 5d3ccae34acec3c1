package vmi

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"imgward/errors"
)

// Limits of a QMP session, against a peer that talks without end.
const (
	// maxLine bounds one message. QEMU writes each on one line; the
	// largest honest reply (query-blockstats of many disks) is a few KiB
	// a device.
	maxLine = 1 << 20
	// maxSkipped bounds the events read while waiting for one reply.
	maxSkipped = 1000
	// defaultTimeout bounds a session whose context has no deadline.
	defaultTimeout = 10 * time.Second
)

// client is one QMP session over a unix socket: it reads the greeting,
// leaves capabilities negotiation, then runs one command at a time.
type client struct {
	conn *net.UnixConn
	r    *bufio.Reader
	id   uint64
	pid  int // QEMU's PID, from the socket's peer credentials
	stop func() bool
}

// dial opens a QMP session on the socket at path. Every read and write of
// the session ends by ctx's deadline (or defaultTimeout), and at once when
// ctx is cancelled.
func dial(ctx context.Context, path string) (*client, error) {
	const op = "vmi.dial"
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, errors.E(op, dialError(ctx, path, err))
	}
	uc := conn.(*net.UnixConn)
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultTimeout)
	}
	uc.SetDeadline(deadline)
	c := &client{conn: uc, r: bufio.NewReaderSize(uc, 64<<10)}
	c.stop = context.AfterFunc(ctx, func() { uc.SetDeadline(time.Unix(1, 0)) })
	if err := c.start(ctx); err != nil {
		c.close()
		return nil, errors.E(op, err)
	}
	return c, nil
}

// start learns the peer's PID, reads the greeting and negotiates.
func (c *client) start(ctx context.Context) error {
	var err error
	if c.pid, err = peerPID(c.conn); err != nil {
		return err
	}
	line, err := c.readLine(ctx)
	if err != nil {
		return err
	}
	if _, err := parseGreeting(line); err != nil {
		return err
	}
	return c.execute(ctx, "qmp_capabilities", nil)
}

func (c *client) close() error {
	c.stop()
	return c.conn.Close()
}

// execute runs a command without arguments and decodes its return into
// out (nil: the return is ignored). Events that arrive meanwhile are
// skipped; an error reply is returned as an *Error, with the kind of its
// class.
func (c *client) execute(ctx context.Context, command string, out any) error {
	return c.executeArgs(ctx, command, nil, out)
}

// executeArgs is execute with the command's arguments (nil: none).
func (c *client) executeArgs(ctx context.Context, command string, args, out any) error {
	op := "vmi.execute " + command
	c.id++
	req, _ := json.Marshal(struct {
		Execute   string `json:"execute"`
		Arguments any    `json:"arguments,omitempty"`
		ID        uint64 `json:"id"`
	}{command, args, c.id})
	if _, err := c.conn.Write(append(req, '\n')); err != nil {
		return errors.E(op, ioError(ctx, err))
	}
	for range maxSkipped {
		line, err := c.readLine(ctx)
		if err != nil {
			return errors.E(op, err)
		}
		m, err := parseMessage(line)
		if err != nil {
			return errors.E(op, err)
		}
		switch {
		case m.Event != "":
			continue
		case m.QMP != nil:
			return errors.E(op, errors.Invalid, errors.New("a second greeting"))
		case m.ID == nil || *m.ID != c.id:
			return errors.E(op, errors.Invalid, errors.New("a reply to another command"))
		case m.Error != nil:
			return errors.E(op, m.Error.kind(), m.Error)
		}
		return errors.Wrap(op, decodeReturn(m.Return, out))
	}
	return errors.E(op, errors.TooLarge, errors.Errorf("more than %d events before the reply", maxSkipped))
}

// readLine reads one message, newline included, of at most maxLine bytes.
func (c *client) readLine(ctx context.Context) ([]byte, error) {
	var line []byte
	for {
		frag, err := c.r.ReadSlice('\n')
		if len(line)+len(frag) > maxLine {
			return nil, errors.E(errors.TooLarge, errors.Errorf("a QMP message longer than %d bytes", maxLine))
		}
		line = append(line, frag...)
		if err == nil {
			return line, nil
		}
		if err != bufio.ErrBufferFull {
			return nil, ioError(ctx, err)
		}
	}
}

// ioError classifies an error of the session's connection: the peer
// closed it (QEMU quit: NotExist), or time ran out (Unavailable).
func ioError(ctx context.Context, err error) error {
	switch {
	case ctx.Err() != nil:
		return errors.E(errors.Unavailable, ctx.Err())
	case errors.IsErr(err, os.ErrDeadlineExceeded):
		return errors.E(errors.Unavailable, errors.Msg("QEMU did not answer in time"), err)
	case errors.IsErr(err, io.EOF), errors.IsErr(err, io.ErrUnexpectedEOF),
		errors.IsErr(err, syscall.ECONNRESET), errors.IsErr(err, syscall.EPIPE):
		return errors.E(errors.NotExist, errors.Msg("QEMU closed the monitor: it has quit"), err)
	}
	return errors.E(errors.Unavailable, err)
}

// dialError classifies an error of connecting: no socket, or a socket
// that nobody serves any more (a QEMU that has quit leaves its socket
// file behind), is NotExist.
func dialError(ctx context.Context, path string, err error) error {
	switch {
	case ctx.Err() != nil:
		return errors.E(errors.Unavailable, ctx.Err())
	case errors.IsErr(err, syscall.ENOENT), errors.IsErr(err, syscall.ECONNREFUSED):
		return errors.E(errors.NotExist, errors.Msg("no QEMU serves QMP at "+path), err)
	case errors.IsErr(err, syscall.EACCES), errors.IsErr(err, syscall.EPERM):
		return errors.E(errors.Permission, errors.Msg("may not connect to "+path), err)
	case errors.IsErr(err, syscall.ENOTSOCK), errors.IsErr(err, syscall.EPROTOTYPE):
		return errors.E(errors.Invalid, errors.Msg(path+" is not a unix stream socket"), err)
	}
	return errors.E(errors.Unavailable, err)
}
