//go:build pkcs11

package pkcs11

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"imgward/errors"
)

// Config says which token to use.
type Config struct {
	Module     string // path of the PKCS#11 module, such as /usr/lib/softhsm/libsofthsm2.so
	TokenLabel string
	// PIN is the user PIN of the token. Read it with ReadPIN; never put it
	// on a command line. String and GoString leave it out.
	PIN string
}

// String describes c without its PIN, so that c may be logged.
func (c Config) String() string {
	return fmt.Sprintf("pkcs11.Config{Module: %q, TokenLabel: %q, PIN: <redacted>}", c.Module, c.TokenLabel)
}

// GoString is String, so that %#v leaves out the PIN too.
func (c Config) GoString() string { return c.String() }

// maxPINSize bounds a PIN read from a file.
const maxPINSize = 256

// ReadPIN reads a PIN from source: "env:NAME" reads environment variable
// NAME, "file:PATH" the first line of file PATH, which group and others must
// not be able to access. Errors never hold the PIN.
func ReadPIN(source string) (string, error) {
	const op = "pkcs11.ReadPIN"
	kind, arg, ok := strings.Cut(source, ":")
	if !ok || arg == "" {
		return "", errors.E(op, errors.Invalid, errors.Errorf("PIN source %q is not env:NAME or file:PATH", source))
	}
	var pin string
	switch kind {
	case "env":
		pin = os.Getenv(arg)
	case "file":
		var err error
		if pin, err = readPINFile(arg); err != nil {
			return "", errors.E(op, err)
		}
	default:
		return "", errors.E(op, errors.Invalid, errors.Errorf("PIN source %q is not env:NAME or file:PATH", source))
	}
	if pin == "" {
		return "", errors.E(op, errors.Invalid, errors.Errorf("empty PIN from %s", source))
	}
	return pin, nil
}

func readPINFile(path string) (string, error) {
	f, err := os.Open(path)
	if errors.IsErr(err, os.ErrNotExist) {
		return "", errors.E(errors.NotExist, err)
	} else if err != nil {
		return "", errors.E(errors.Permission, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", errors.E(errors.Unavailable, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 != 0 {
		return "", errors.E(errors.Permission, errors.Errorf("PIN file %s must be a regular file of mode 0600 or 0400", path))
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPINSize+1))
	if err != nil {
		return "", errors.E(errors.Unavailable, err)
	}
	if len(data) > maxPINSize {
		return "", errors.E(errors.TooLarge, errors.Errorf("PIN file %s is over %d bytes", path, maxPINSize))
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	return string(bytes.TrimSuffix(line, []byte("\r"))), nil
}
