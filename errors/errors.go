// Package errors is imgward's one error type: an operation, a kind from a
// closed set, and the underlying error. Backends translate driver errors into
// kinds at their boundary; only the HTTP layer maps kinds to status codes.
//
// The message of an *Error is safe to show a client only through its Kind and
// its Msg (see E): wrapped errors may carry internals and are logged, not sent.
package errors

import (
	stderrors "errors"
	"fmt"
	"strings"
)

// Kind classifies an error so that callers, and the HTTP layer, can react
// without parsing messages.
type Kind uint8

// The kinds. Other is the zero value: an error whose kind is unknown.
const (
	Other           Kind = iota
	Invalid              // the request is malformed or breaks a rule of the data
	NotExist             // the object does not exist, or the caller may not know it does
	Exist                // the object already exists
	Permission           // the caller is known but not allowed
	Conflict             // the object's state does not allow the operation now
	Unavailable          // a dependency is down; retrying later may succeed
	Internal             // a bug or a broken invariant
	TooLarge             // the input, or a quota, is over its limit
	Unauthenticated      // no valid credentials were presented
	Mismatch             // a retry (the same idempotency key) is not the request it claims to repeat
)

var kindNames = [...]string{
	Other:           "other",
	Invalid:         "invalid",
	NotExist:        "not exist",
	Exist:           "exist",
	Permission:      "permission denied",
	Conflict:        "conflict",
	Unavailable:     "unavailable",
	Internal:        "internal",
	TooLarge:        "too large",
	Unauthenticated: "unauthenticated",
	Mismatch:        "mismatch",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Error is the structured error of imgward.
type Error struct {
	Op   string // the operation, such as "catalog.CreateImage"
	Kind Kind
	// Msg is a message meant for the client: it names what is wrong without
	// revealing internals. Empty when Err says it all or must stay private.
	Msg string
	Err error // the underlying error; may be nil
}

// Msg marks a string argument of E as the client-facing message.
type Msg string

// E builds an *Error from its arguments, taken by type: a string is the
// operation, a Kind the kind, a Msg the client message, an error the cause.
// When the cause is an *Error and no kind is given, its kind is inherited, so
// that wrapping keeps the classification.
func E(args ...any) error {
	e := &Error{}
	for _, a := range args {
		switch a := a.(type) {
		case string:
			e.Op = a
		case Kind:
			e.Kind = a
		case Msg:
			e.Msg = string(a)
		case error:
			e.Err = a
		case nil:
		default:
			panic(fmt.Sprintf("errors.E: bad argument of type %T", a))
		}
	}
	if e.Kind == Other {
		var inner *Error
		if stderrors.As(e.Err, &inner) {
			e.Kind = inner.Kind
		}
	}
	return e
}

// Wrap is E(op, err), or nil when err is nil: for returning the error of
// a call that may have succeeded.
func Wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return E(op, err)
}

// Errorf is fmt.Errorf, here so that callers need import only this package.
func Errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// New is the standard errors.New.
func New(text string) error { return stderrors.New(text) }

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.Msg != "" {
		b.WriteString(e.Msg)
	} else if e.Kind != Other && KindOf(e.Err) != e.Kind {
		// An inner error of the same kind says it already.
		b.WriteString(e.Kind.String())
	}
	if e.Err != nil {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), ": ") {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause, so that errors.Is and errors.As see through.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of the outermost *Error in err's chain that has a
// kind, or Other.
func KindOf(err error) Kind {
	for err != nil {
		var e *Error
		if !stderrors.As(err, &e) {
			return Other
		}
		if e.Kind != Other {
			return e.Kind
		}
		err = e.Err
	}
	return Other
}

// Is reports whether err has the given kind.
func Is(kind Kind, err error) bool { return KindOf(err) == kind }

// Message returns the first client-facing message in err's chain, or "".
func Message(err error) string {
	for err != nil {
		var e *Error
		if !stderrors.As(err, &e) {
			return ""
		}
		if e.Msg != "" {
			return e.Msg
		}
		err = e.Err
	}
	return ""
}

// As is the standard errors.As.
func As(err error, target any) bool { return stderrors.As(err, target) }

// IsErr is the standard errors.Is.
func IsErr(err, target error) bool { return stderrors.Is(err, target) }
