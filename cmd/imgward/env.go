package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// The exit statuses, documented in the top-level usage.
const (
	exitOK         = 0
	exitError      = 1 // the server or the operation failed
	exitUsage      = 2
	exitNotFound   = 3
	exitPermission = 4 // permission denied or not authenticated
	exitConflict   = 5 // conflict or already exists
)

// env is what a client command runs with: its streams, its context, the
// server client and the options every command shares.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	api    *client
	output outputFormat
	// progressWidth, when set, reports stderr's width in columns; nil means
	// stderr is not a terminal and no progress is drawn.
	progressWidth func() int
	// flagSet is the last flag set flags made, so that tests can check
	// every flag against the usage text.
	flagSet *flag.FlagSet
}

func newEnv(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *env {
	return &env{
		ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv,
		api:           newClient(getenv),
		output:        outputTable,
		progressWidth: terminalWidth(stderr),
	}
}

// flags returns a flag set for a command that prints objects, holding the
// --output flag.
func (e *env) flags(name string) *flag.FlagSet {
	fs := e.bareFlags(name)
	fs.Var(&e.output, "output", "table or json")
	fs.Var(&e.output, "o", "table or json")
	return fs
}

// bareFlags returns a flag set for a command. Its messages are reported
// by report, not printed.
func (e *env) bareFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e.flagSet = fs
	return fs
}

// parse parses flags and operands in any order (flags may follow operands,
// as in "image create NAME --visibility private"; "--" ends the flags) and
// returns exactly as many operands as names, which name them in messages.
func parse(fs *flag.FlagSet, args []string, names ...string) ([]string, error) {
	var ops []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError(err.Error())
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			ops = append(ops, rest...)
			break
		}
		ops, args = append(ops, rest[0]), rest[1:]
	}
	switch {
	case len(ops) < len(names):
		return nil, usageError("missing " + strings.Join(names[len(ops):], " "))
	case len(ops) > len(names):
		return nil, usageError(fmt.Sprintf("unexpected argument %q", ops[len(names)]))
	}
	return ops, nil
}

// usageError is a mistake in the command line: exit status 2.
type usageError string

func (u usageError) Error() string { return string(u) }

// hintError adds a hint, for the user, to an error.
type hintError struct {
	err  error
	hint string
}

func (h *hintError) Error() string { return h.err.Error() }
func (h *hintError) Unwrap() error { return h.err }

func withHint(err error, hint string) error { return &hintError{err, hint} }

// statusError is an error with its own exit status.
type statusError struct {
	code int
	msg  string
}

func (s *statusError) Error() string { return s.msg }

// report prints a command's error, with a hint where one helps, and returns
// the exit status.
func (e *env) report(c *command, err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, c.usage)
		return exitOK
	}
	fmt.Fprintf(e.stderr, "error: %s\n", clean(err.Error()))
	var u usageError
	if errors.As(err, &u) {
		fmt.Fprintf(e.stderr, "%s\nhint: see 'imgward %s --help'\n", c.synopsis(), c.name())
		return exitUsage
	}
	if h := hintOf(err); h != "" {
		fmt.Fprintf(e.stderr, "hint: %s\n", clean(h))
	}
	return exitCode(err)
}

// hintOf returns the first hint in err's chain.
func hintOf(err error) string {
	var h *hintError
	if errors.As(err, &h) {
		return h.hint
	}
	var a *apiError
	if errors.As(err, &a) {
		return a.hint
	}
	return ""
}

// exitCode maps an error to the exit status that scripts can trust.
func exitCode(err error) int {
	var s *statusError
	if errors.As(err, &s) {
		return s.code
	}
	var u usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	var a *apiError
	if !errors.As(err, &a) {
		return exitError
	}
	switch a.Status {
	case http.StatusNotFound:
		return exitNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return exitPermission
	case http.StatusConflict:
		return exitConflict
	}
	return exitError
}
