// Package sensitive finds the entries of a root filesystem tar that hold
// secrets (private keys, password hashes, cloud and registry credentials,
// kubeconfigs, .env secrets, licence files) and seals only those, so that
// the rest of the image stays inspectable: format "sensitive parts v1",
// specified in docs/FORMATS.md.
//
// The rules look at an entry's path and, for a regular file of at most
// Scanner.MaxScan bytes, at its content. They aim at what an image robber
// would take, and prefer a false positive (an entry sealed for nothing) to a
// missed secret; the table tests pin down both sides.
package sensitive

import (
	"bytes"
	"encoding/json"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// The kinds of finding.
const (
	KindPrivateKey  = "private-key"         // a PEM private key
	KindOpenSSHKey  = "openssh-private-key" // an OpenSSH private key
	KindSSHHostKey  = "ssh-host-key"        // /etc/ssh/ssh_host_*_key
	KindShadow      = "password-hash"       // /etc/shadow with real hashes
	KindAWS         = "cloud-credentials"   // .aws/credentials
	KindDocker      = "registry-credentials"
	KindKubeconfig  = "kubeconfig"
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

var (
	pemPrivate = regexp.MustCompile(`-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY-----`)
	envSecret  = regexp.MustCompile(`(?i)(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL)`)
)

// Classify judges one regular file by its path (slash-separated, relative
// or absolute) and its content, which may be nil when the file was too
// large to read. It returns the finding's kind and reason, or ok false.
func (s *Scanner) Classify(name string, content []byte) (kind, reason string, ok bool) {
	p := strings.TrimLeft(path.Clean("/"+name), "/")
	base := path.Base(p)
	if m, _ := path.Match("etc/ssh/ssh_host_*_key", p); m {
		return KindSSHHostKey, "SSH host private key path", true
	}
	if g := s.licenceGlob(p, base); g != "" {
		return KindLicence, "matches licence pattern " + g, true
	}
	if content == nil {
		return "", "", false
	}
	if m := pemPrivate.FindSubmatch(content); m != nil {
		if string(m[1]) == "OPENSSH " {
			return KindOpenSSHKey, "OpenSSH private key block", true
		}
		return KindPrivateKey, "PEM " + string(m[1]) + "PRIVATE KEY block", true
	}
	switch {
	case p == "etc/shadow" || p == "etc/gshadow":
		if n := shadowHashes(content); n > 0 {
			return KindShadow, plural(n, "password hash", "password hashes"), true
		}
	case strings.HasSuffix("/"+p, "/.aws/credentials"):
		if hasKeyValue(content, "aws_secret_access_key") || hasKeyValue(content, "aws_session_token") {
			return KindAWS, "AWS secret access key or session token", true
		}
	case strings.HasSuffix("/"+p, "/.docker/config.json"):
		if n := dockerAuths(content); n > 0 {
			return KindDocker, plural(n, "registry credential", "registry credentials"), true
		}
	case base == ".env" || strings.HasPrefix(base, ".env.") && !isEnvTemplate(base):
		if k := envSecretKey(content); k != "" {
			return KindEnv, "secret-looking variable " + k, true
		}
	}
	if kubeconfigSecret(content) {
		return KindKubeconfig, "kubeconfig (kind: Config) with user credentials", true
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

// shadowHashes counts the entries of a shadow file whose password field
// holds a hash: not empty, "*", "!", "!!" or "x", and, once the "!" of a
// locked account is removed, at least as long as a crypt(3) hash. A locked
// account's hash still is one, and cracks as well.
func shadowHashes(content []byte) int {
	n := 0
	for line := range bytes.SplitSeq(content, []byte("\n")) {
		f := bytes.SplitN(line, []byte(":"), 3)
		if len(f) < 3 {
			continue
		}
		h := bytes.TrimLeft(f[1], "!")
		if len(h) >= minCryptHashLen && h[0] != '*' {
			n++
		}
	}
	return n
}

// hasKeyValue reports an INI line "key = value" with a value.
func hasKeyValue(content []byte, key string) bool {
	for line := range bytes.SplitSeq(content, []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte("="))
		if ok && strings.EqualFold(string(bytes.TrimSpace(k)), key) && len(bytes.TrimSpace(v)) > 0 {
			return true
		}
	}
	return false
}

// dockerAuths counts the registries of a docker config.json that hold a
// credential; helpers (credsStore, credHelpers) keep theirs elsewhere.
func dockerAuths(content []byte) int {
	var c struct {
		Auths map[string]struct {
			Auth          string `json:"auth"`
			IdentityToken string `json:"identitytoken"`
			Password      string `json:"password"`
		} `json:"auths"`
	}
	if json.Unmarshal(content, &c) != nil {
		return 0
	}
	n := 0
	for _, a := range c.Auths {
		if a.Auth != "" || a.IdentityToken != "" || a.Password != "" {
			n++
		}
	}
	return n
}

func isEnvTemplate(base string) bool {
	for _, s := range []string{".example", ".sample", ".template", ".dist"} {
		if strings.HasSuffix(base, s) {
			return true
		}
	}
	return false
}

// envSecretKey returns the first variable with a secret-looking name and a
// value in a .env file.
func envSecretKey(content []byte) string {
	for line := range bytes.SplitSeq(content, []byte("\n")) {
		line = bytes.TrimPrefix(bytes.TrimSpace(line), []byte("export "))
		k, v, ok := bytes.Cut(line, []byte("="))
		k = bytes.TrimSpace(k)
		v = bytes.Trim(bytes.TrimSpace(v), `"'`)
		if ok && len(v) > 0 && len(k) > 0 && k[0] != '#' && envSecret.Match(k) {
			return string(k)
		}
	}
	return ""
}

// kubeconfigSecret reports a kubeconfig with credentials of a user in it.
// It reads YAML by lines, which is enough for what kubectl writes.
func kubeconfigSecret(content []byte) bool {
	if !bytes.Contains(content, []byte("kind: Config")) || !bytes.Contains(content, []byte("users:")) {
		return false
	}
	for line := range bytes.SplitSeq(content, []byte("\n")) {
		k, v, ok := bytes.Cut(bytes.TrimSpace(line), []byte(":"))
		switch string(bytes.TrimPrefix(k, []byte("- "))) {
		case "token", "client-key-data", "password", "id-token", "refresh-token":
			if ok && len(bytes.Trim(bytes.TrimSpace(v), `"'`)) > 0 {
				return true
			}
		}
	}
	return false
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
