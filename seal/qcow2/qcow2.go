// Package qcow2 seals VM disks as QEMU and Nova expect them: qcow2 with LUKS
// encryption, opened by QEMU with a secret. The LUKS passphrase is derived
// from the image's data key, so the key broker's release of that one key
// opens the disk, and imgward keeps no second secret per image.
//
// The work is done by qemu-img. The passphrase reaches it only through a
// file of mode 0600 in a private temporary directory, named by a secret
// object: never on a command line (which other users can read in /proc),
// never in the environment, never in a log or an error.
package qcow2

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"imgward"
	"imgward/errors"
)

// QemuImg is the qemu-img program that the package runs.
var QemuImg = "/usr/bin/qemu-img"

// iterTime is the LUKS key slot's PBKDF time in milliseconds. Stretching
// guards a guessable password; the passphrase here is 256 bits from the
// data key, so the default two seconds per open would buy nothing.
const iterTime = "10"

// hashAlg is the LUKS header's hash (its PBKDF2 and anti-forensic
// splitter). Not for strength, which the passphrase gives: qemu-img sizes
// its PBKDF by timing a first 32,768 iterations on the thread's CPU clock
// and fails ("Unable to get accurate CPU usage") when that reads zero. With
// SHA-256 those iterations take about 3 ms, under one tick of a clock that
// advances by ticks, as on this project's virtual machines, and 17 of 40
// conversions in a row failed on an idle one; with SHA-512 they take about
// 20 ms, and none of 40 failed, at the same total cost (qemu-img times until
// half a second either way). QEMU and cryptsetup read the hash from the
// header, so disks sealed with SHA-256 still open.
const hashAlg = "sha512"

// PassphraseInfo is the HKDF info string of the LUKS passphrase: version 1.
const PassphraseInfo = "imgward-qcow2-luks-v1"

// Passphrase returns the LUKS passphrase of a disk sealed under dataKey:
// the standard base64 of HKDF-SHA256(dataKey, no salt, PassphraseInfo), 32
// bytes. It is derived, not the data key itself, so that a passphrase that
// leaks from a host (QEMU holds it in memory) does not open the image's
// other sealed forms.
func Passphrase(dataKey []byte) (string, error) {
	if len(dataKey) != imgward.DataKeySize {
		return "", errors.E("qcow2.Passphrase", errors.Invalid, errors.Msg("data key must be 32 bytes"))
	}
	k, err := hkdf.Key(sha256.New, dataKey, nil, PassphraseInfo, 32)
	if err != nil {
		return "", errors.E("qcow2.Passphrase", errors.Internal, err)
	}
	defer clear(k)
	return base64.StdEncoding.EncodeToString(k), nil
}

// Encrypt converts the disk src, of format srcFormat ("raw", "qcow2"...),
// to dst: qcow2 with LUKS encryption under the passphrase of dataKey.
func Encrypt(ctx context.Context, src, srcFormat, dst string, dataKey []byte) error {
	var err error
	// qemu-img times its PBKDF on the thread's CPU clock, which can read
	// as no time at all ("Unable to get accurate CPU usage"; rare with
	// hashAlg, see there): a transient failure, so try again. convert
	// rewrites dst.
	for range maxPBKDFTries {
		err = withSecret(ctx, "qcow2.Encrypt", dataKey, func(obj string) []string {
			return []string{"convert", "--object", obj, "-f", srcFormat, "-O", "qcow2",
				"-o", "encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=" + iterTime +
					",encrypt.hash-alg=" + hashAlg, src, dst}
		})
		if errors.KindOf(err) != errors.Unavailable || ctx.Err() != nil {
			break
		}
	}
	return err
}

// maxPBKDFTries bounds Encrypt's attempts when qemu-img cannot time its
// PBKDF.
const maxPBKDFTries = 3

// Decrypt converts the encrypted disk src to dst in format dstFormat,
// plain. It fails, of kind Invalid, when dataKey does not open src.
func Decrypt(ctx context.Context, src, dst, dstFormat string, dataKey []byte) error {
	return withSecret(ctx, "qcow2.Decrypt", dataKey, func(obj string) []string {
		return []string{"convert", "--object", obj, "--image-opts", openOpts(src), "-O", dstFormat, dst}
	})
}

// Compare reports, with a nil error, that the encrypted disk enc holds the
// same content as the plain disk plain of format plainFormat. A difference
// is of kind Conflict; a key that does not open enc, of kind Invalid.
func Compare(ctx context.Context, enc, plain, plainFormat string, dataKey []byte) error {
	return withSecret(ctx, "qcow2.Compare", dataKey, func(obj string) []string {
		return []string{"compare", "--object", obj, "--image-opts", openOpts(enc),
			"driver=" + plainFormat + ",file.filename=" + optEscape(plain)}
	})
}

// Info is what qemu-img reports of a disk, without a key.
type Info struct {
	Format    string `json:"format"`
	Encrypted bool   `json:"encrypted"`
	Size      int64  `json:"virtual-size"`
	Spec      struct {
		Data struct {
			Encrypt struct {
				Format  string `json:"format"`
				HashAlg string `json:"hash-alg"`
			} `json:"encrypt"`
		} `json:"data"`
	} `json:"format-specific"`
}

// Inspect returns qemu-img's description of a disk; an encrypted qcow2 has
// Format "qcow2", Encrypted true and Spec.Data.Encrypt.Format "luks".
func Inspect(ctx context.Context, path string) (*Info, error) {
	out, err := qemuImg(ctx, "qcow2.Inspect", "info", "--output", "json", "-f", "qcow2", path)
	if err != nil {
		return nil, err
	}
	var info Info
	if err := json.Unmarshal(out, &info); err != nil {
		return nil, errors.E("qcow2.Inspect", errors.Internal, err)
	}
	return &info, nil
}

// openOpts are the --image-opts that open an encrypted qcow2 with sec0.
func openOpts(path string) string {
	return "driver=qcow2,file.filename=" + optEscape(path) + ",encrypt.key-secret=sec0"
}

// optEscape escapes a value of QEMU's option syntax, where a comma is
// written twice.
func optEscape(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// withSecret writes dataKey's passphrase to a 0600 file in a fresh 0700
// directory, runs qemu-img with the arguments args makes from the secret
// object that names the file, and removes the file whatever happens.
func withSecret(ctx context.Context, op string, dataKey []byte, args func(obj string) []string) error {
	pass, err := Passphrase(dataKey)
	if err != nil {
		return errors.E(op, err)
	}
	dir, err := os.MkdirTemp("", "imgward-luks-")
	if err != nil {
		return errors.E(op, errors.Internal, err)
	}
	defer os.RemoveAll(dir)
	f := filepath.Join(dir, "secret")
	if err := os.WriteFile(f, []byte(pass), 0o600); err != nil {
		return errors.E(op, errors.Internal, err)
	}
	_, err = qemuImg(ctx, op, args("secret,id=sec0,format=raw,file="+optEscape(f))...)
	return err
}

// qemuImg runs qemu-img and returns its standard output. Its failures are
// classified by what qemu-img says, and its message is kept: it names files
// and reasons, never the secret, which it only ever reads from a file.
func qemuImg(ctx context.Context, op string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, QemuImg, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	if ctx.Err() != nil {
		return nil, errors.E(op, ctx.Err())
	}
	msg := strings.TrimSpace(stderr.String())
	if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
		msg = msg[i+1:]
	}
	var exit *exec.ExitError
	switch {
	case !errors.As(err, &exit):
		return nil, errors.E(op, errors.Unavailable, errors.Msg("cannot run qemu-img"), err)
	case strings.Contains(msg, "Unable to get accurate CPU usage"):
		return nil, errors.E(op, errors.Unavailable, errors.Msg("qemu-img: "+msg))
	case strings.Contains(msg, "Invalid password") || strings.Contains(msg, "No key slot"):
		return nil, errors.E(op, errors.Invalid, errors.Msg("the key does not open the disk"))
	case args[0] == "compare" && exit.ExitCode() == 1:
		return nil, errors.E(op, errors.Conflict, errors.Msg("disk contents differ: "+strings.TrimSpace(stdout.String())))
	}
	return nil, errors.E(op, errors.Invalid, errors.Msg("qemu-img: "+msg))
}
