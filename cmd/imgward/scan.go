package main

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"imgward/seal/sensitive"
)

var scanCommand = command{verb: "scan", run: runScan, usage: `usage: imgward scan FILE [flags]

Lists the entries of a root filesystem tar (FILE, or - for stdin; gzip
compressed or not) that imgward seals when an image is protected with
--protect sensitive: private keys (PEM, OpenSSH, PGP, PuTTY, PKCS#12, Java
keystores, GnuPG's key store, SSH host keys), password hashes (/etc/shadow,
/etc/gshadow, their backups, crypt(3) hashes in shadow or htpasswd lines
anywhere), AWS and gcloud credentials, registry auths (docker config.json,
podman auth.json), kubeconfigs with user credentials, .pgpass, .netrc,
.git-credentials, .env secrets, GitHub/GitLab/Slack/Stripe/Google API
tokens, and licence files; under any leading directory, and under every
name that the archive's links give a file (docs/FORMATS.md, section 5).
An archive whose link makes an earlier, unsealed file sensitive, or that
is cut short or has data after its end, is refused. Reads no server.

Files over --max-scan bytes are judged by their path alone.

Flags:
  --licence GLOB    a licence file pattern, matched against the path and the
                    base name; repeat for more (default *.lic, license.key,
                    licence.key, *.license)
  --max-scan N      the largest file whose content is read (default 1048576)
  --output FORMAT   table or json (default table)
`}

// globList is a repeatable flag.
type globList []string

func (g *globList) String() string     { return strings.Join(*g, ",") }
func (g *globList) Set(s string) error { *g = append(*g, s); return nil }

func runScan(e *env, args []string) error {
	fs := e.flags("scan")
	var globs globList
	fs.Var(&globs, "licence", "licence file pattern")
	maxScan := fs.Int64("max-scan", 1<<20, "largest file read")
	ops, err := parse(fs, args, "FILE")
	if err != nil {
		return err
	}
	if *maxScan <= 0 {
		return usageError("--max-scan must be positive")
	}
	r, closeFn, err := openTar(e, ops[0])
	if err != nil {
		return err
	}
	defer closeFn()
	s := sensitive.Scanner{MaxScan: *maxScan}
	if len(globs) > 0 {
		s.LicenceGlobs = globs
	}
	found, err := s.Scan(r)
	if err != nil {
		return withHint(err, "FILE must be a tar archive, optionally gzip-compressed")
	}
	if found == nil {
		found = []sensitive.Finding{}
	}
	return e.emit(found, func(w io.Writer) error {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PATH\tKIND\tSIZE\tREASON")
		for _, f := range found {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", clean(f.Path), f.Kind, f.Size, clean(f.Reason))
		}
		return tw.Flush()
	})
}

// openTar opens FILE, or stdin for "-", and undoes gzip if it finds its
// magic number.
func openTar(e *env, name string) (io.Reader, func(), error) {
	var r io.Reader = e.stdin
	closeFn := func() {}
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, nil, err
		}
		r, closeFn = f, func() { f.Close() }
	}
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			closeFn()
			return nil, nil, err
		}
		return zr, closeFn, nil
	}
	return br, closeFn, nil
}
