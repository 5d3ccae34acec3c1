// Package sensitive finds the entries of a root filesystem tar that hold
// secrets (private keys of every common format, password hashes, cloud,
// cluster and registry credentials, password files, .env secrets, licence
// files) and seals only those, so that the rest of the image stays
// inspectable: format "sensitive parts v1", specified in docs/FORMATS.md.
//
// The rules look at an entry's path and, for a regular file of at most
// Scanner.MaxScan bytes, at its content. Paths are matched by their last
// components, so that a rootfs packed under a leading directory
// (rootfs/etc/shadow) is judged as one packed at its root. Every name of a
// file counts: its own, and those it has through the archive's symbolic
// and hard links (links.go). The rules aim at what an image robber would
// take, and prefer a false positive (an entry sealed for nothing) to a
// missed secret; the table tests pin down both sides, and docs/PROTECTION.md
// compares them with gitleaks' rule set.
package sensitive

import (
	"path"
	"strings"
)

// The kinds of finding.
const (
	KindPrivateKey  = "private-key"         // a PEM private key, PKCS#12 or Java keystore
	KindOpenSSHKey  = "openssh-private-key" // an OpenSSH (or SSH1) private key
	KindSSHHostKey  = "ssh-host-key"        // /etc/ssh/ssh_host_*_key
	KindPGPKey      = "pgp-private-key"     // an OpenPGP secret key, armored or in a GnuPG home
	KindPuTTYKey    = "putty-private-key"   // a PuTTY .ppk key
	KindShadow      = "password-hash"       // shadow, gshadow, their backups, htpasswd lines
	KindCloud       = "cloud-credentials"   // AWS and Google Cloud credentials
	KindDocker      = "registry-credentials"
	KindKubeconfig  = "kubeconfig"
	KindPassword    = "password-file" // .pgpass, .netrc, .git-credentials
	KindToken       = "api-token"     // a vendor's API token, by its prefix
	KindEnv         = "env-secret"
	KindLicence     = "licence"
	defaultMaxScan  = 1 << 20
	minCryptHashLen = 13 // the shortest crypt(3) hash, traditional DES
)

// DefaultLicenceGlobs are the licence file patterns of a zero Scanner.
var DefaultLicenceGlobs = []string{"*.lic", "license.key", "licence.key", "*.license"}

// Finding is one sensitive entry.
type Finding struct {
	Path   string `json:"path"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
	Size   int64  `json:"size"`
	// Offset is where SealSensitive wrote the entry's sealed content (its
	// seal header first) in its output; zero from Scan.
	Offset int64 `json:"offset,omitempty"`
}

// Scanner holds the rules' settings. The zero value is ready to use.
type Scanner struct {
	// LicenceGlobs are path.Match patterns; an entry whose path or base name
	// matches one is a licence. Nil means DefaultLicenceGlobs.
	LicenceGlobs []string
	// MaxScan is the largest file whose content is read; larger files are
	// judged by their path alone. Zero means 1 MiB.
	MaxScan int64
}

func (s *Scanner) maxScan() int64 {
	if s.MaxScan > 0 {
		return s.MaxScan
	}
	return defaultMaxScan
}

// clean makes an entry name comparable: slash-separated, relative, no
// "." or ".." components, no trailing slash.
func clean(name string) string { return strings.TrimLeft(path.Clean("/"+name), "/") }

// Classify judges one regular file by its path (slash-separated, relative
// or absolute) and its content, which may be nil when the file was too
// large to read. It returns the finding's kind and reason, or ok false.
func (s *Scanner) Classify(name string, content []byte) (kind, reason string, ok bool) {
	kind, reason, _, ok = s.classify([]string{clean(name)}, content)
	return kind, reason, ok
}

// classify judges a file that has several cleaned names, and returns the
// name that made it sensitive. The content rules run once, whatever the
// number of names.
func (s *Scanner) classify(names []string, content []byte) (kind, reason, name string, ok bool) {
	for _, p := range names {
		if kind, reason, ok = s.byPath(p); ok {
			return kind, reason, p, true
		}
	}
	if content == nil {
		return "", "", "", false
	}
	if kind, reason, ok = byContent(content); ok {
		return kind, reason, names[0], true
	}
	for _, p := range names {
		for _, r := range gated {
			if r.name(p) {
				if reason, ok := r.content(content); ok {
					return r.kind, reason, p, true
				}
			}
		}
	}
	return "", "", "", false
}

// byPath applies the rules that need no content: the path alone says that
// the file is a secret.
func (s *Scanner) byPath(p string) (kind, reason string, ok bool) {
	for _, r := range pathOnly {
		if r.name(p) {
			return r.kind, r.reason, true
		}
	}
	if g := s.licenceGlob(p, path.Base(p)); g != "" {
		return KindLicence, "matches licence pattern " + g, true
	}
	return "", "", false
}

func (s *Scanner) licenceGlob(p, base string) string {
	globs := s.LicenceGlobs
	if globs == nil {
		globs = DefaultLicenceGlobs
	}
	for _, g := range globs {
		if m, _ := path.Match(g, p); m {
			return g
		}
		if m, _ := path.Match(g, base); m {
			return g
		}
	}
	return ""
}

// pathRule is a rule that the path alone decides.
type pathRule struct {
	kind, reason string
	name         func(p string) bool
}

// gatedRule is a rule for files of certain names whose content must show
// the secret: a file of that name may hold none (a template, an empty
// password), and the content alone would be too weak a sign elsewhere.
type gatedRule struct {
	kind    string
	name    func(p string) bool
	content func(b []byte) (reason string, ok bool)
}

// under reports whether the cleaned path p is suffix or ends with
// "/"+suffix: the rootfs may sit under any leading directory.
func under(p, suffix string) bool {
	return p == suffix || strings.HasSuffix(p, "/"+suffix)
}

// tail returns the last n components of p (all of them if it has fewer).
func tail(p string, n int) string {
	i := len(p)
	for ; n > 0; n-- {
		if i = strings.LastIndexByte(p[:i], '/'); i < 0 {
			return p
		}
	}
	return p[i+1:]
}

// matchTail matches the glob against as many last components of p as the
// glob has.
func matchTail(glob, p string) bool {
	m, _ := path.Match(glob, tail(p, strings.Count(glob, "/")+1))
	return m
}

func anyOf(names ...string) func(string) bool {
	return func(p string) bool {
		for _, n := range names {
			if under(p, n) {
				return true
			}
		}
		return false
	}
}

func baseSuffix(suffixes ...string) func(string) bool {
	return func(p string) bool {
		for _, s := range suffixes {
			if b := path.Base(p); strings.HasSuffix(b, s) && len(b) > len(s) {
				return true
			}
		}
		return false
	}
}

var pathOnly = []pathRule{
	{KindSSHHostKey, "SSH host private key path", func(p string) bool { return matchTail("etc/ssh/ssh_host_*_key", p) }},
	{KindPGPKey, "GnuPG secret key store", func(p string) bool {
		return under(p, ".gnupg/secring.gpg") || matchTail(".gnupg/private-keys-v1.d/*", p)
	}},
	{KindPuTTYKey, "PuTTY key file name (.ppk)", baseSuffix(".ppk")},
	{KindPrivateKey, "PKCS#12 or Java keystore file name", baseSuffix(".p12", ".pfx", ".jks", ".keystore")},
	{KindCloud, "Google Cloud SDK credential store", func(p string) bool {
		return anyOf(".config/gcloud/credentials.db", ".config/gcloud/access_tokens.db",
			"application_default_credentials.json")(p) || strings.Contains("/"+p, "/.config/gcloud/legacy_credentials/")
	}},
}

var gated = []gatedRule{
	{KindShadow, anyOf("etc/shadow", "etc/shadow-", "etc/gshadow", "etc/gshadow-"), shadowHashes},
	{KindCloud, anyOf(".aws/credentials", ".aws/config"), awsKeys},
	{KindDocker, func(p string) bool {
		b := path.Base(p)
		return b == "config.json" || b == ".dockercfg" || b == "auth.json"
	}, dockerAuths},
	{KindKubeconfig, func(p string) bool { return under(p, ".kube/config") }, kubeUserSecret},
	{KindPassword, anyOf(".pgpass"), pgpass},
	{KindPassword, anyOf(".netrc", "_netrc", ".authinfo"), netrc},
	{KindPassword, anyOf(".git-credentials", ".config/git/credentials"), gitCredentials},
	{KindEnv, isEnvFile, envSecretKey},
}

func isEnvFile(p string) bool {
	base := path.Base(p)
	if isEnvTemplate(base) {
		return false
	}
	return base == ".env" || strings.HasPrefix(base, ".env.") || strings.HasSuffix(base, ".env")
}

func isEnvTemplate(base string) bool {
	for _, s := range []string{".example", ".sample", ".template", ".dist"} {
		if strings.HasSuffix(base, s) {
			return true
		}
	}
	return false
}
