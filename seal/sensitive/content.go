package sensitive

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

// The content rules. Those in byContent hold wherever the file is: their
// signs are specific enough (a PEM private key block, a crypt(3) hash in
// a shadow-shaped line). The others are the content half of a gatedRule.

var (
	// A PEM or PGP armored private key: the begin line, then, after
	// optional headers (Proc-Type, DEK-Info, Version), base64. Newlines may
	// be JSON escapes (a service account key). The body keeps out code
	// that only names the marker, as key parsers do.
	pemPrivate = regexp.MustCompile(`-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY(?: BLOCK)?-----(?:\s|\\[rn])+` +
		`(?:[A-Za-z-]+: [^\n\\]*(?:\s|\\[rn])+)*[A-Za-z0-9+/=]{16}`)
	oauthRefresh = regexp.MustCompile(`"refresh_token"\s*:\s*"[^"\s]{16,}"`)
	oauthSecret  = regexp.MustCompile(`"client_secret"\s*:\s*"[^"\s]{8,}"`)
	ssh1Private  = []byte("SSH PRIVATE KEY FILE FORMAT 1.1\n")
	puttyKey     = regexp.MustCompile(`(?m)^PuTTY-User-Key-File-[0-9]+: `)
	// A crypt(3) hash ($id$...) as the second field of a colon-separated
	// line: shadow, gshadow and their backups under any name (the target
	// of a hard link, /var/backups/shadow.bak), a passwd with hashes, an
	// htpasswd. The "!" of a locked account may precede it.
	cryptLine = regexp.MustCompile(`^[^:\s#]+:!*\$[0-9a-z]{1,6}\$[^:\s]{8,}(?::|\r?$)`)
	awsSecret = regexp.MustCompile(`(?i)aws_secret_access_key["']?\s*[=:]\s*["']?[A-Za-z0-9/+]{40}(?:[^A-Za-z0-9/+]|$)`)
	envSecret = regexp.MustCompile(`(?i)(SECRET|PASSWORD|PASSWD|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIAL)`)
	urlCreds  = regexp.MustCompile(`(?m)^\s*[A-Za-z][A-Za-z0-9+.-]*://[^:@/\s]*:[^@\s]+@`)
	// API tokens whose vendors give them a fixed prefix and length, so
	// that they are told apart from other strings under any name: GitHub,
	// GitLab, Slack, Stripe live keys, Google API keys.
	apiToken = regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82}|glpat-[A-Za-z0-9_-]{20}|` +
		`xox[abposr]-[0-9]{8,13}-[0-9A-Za-z-]{8,}|[rs]k_live_[A-Za-z0-9]{24,}|AIza[0-9A-Za-z_-]{35})\b`)
)

// byContent applies the rules that hold for a file of any name.
func byContent(b []byte) (kind, reason string, ok bool) {
	if m := pemPrivate.FindSubmatch(b); m != nil {
		switch string(m[1]) {
		case "OPENSSH ":
			return KindOpenSSHKey, "OpenSSH private key block", true
		case "PGP ":
			return KindPGPKey, "PGP private key block", true
		}
		return KindPrivateKey, "PEM " + string(m[1]) + "PRIVATE KEY block", true
	}
	if bytes.HasPrefix(b, ssh1Private) {
		return KindOpenSSHKey, "SSH1 private key file", true
	}
	// The rest are text formats; a token compiled into a binary is left
	// alone, as gitleaks leaves binaries.
	if binary(b) {
		return "", "", false
	}
	// Each regular expression without a literal start runs only where a
	// literal it needs is present: Go's regexp scans such a pattern at a
	// few MB/s, and every file of the image goes through here.
	if bytes.Contains(b, []byte("PuTTY-User-Key-File-")) && puttyKey.Match(b) {
		return KindPuTTYKey, "PuTTY private key file", true
	}
	if n := cryptLines(b); n > 0 {
		return KindShadow, plural(n, "crypt(3) password hash", "crypt(3) password hashes") + " in shadow or htpasswd lines", true
	}
	if containsEither(b, "access_key") && awsSecret.Match(b) {
		return KindCloud, "AWS secret access key", true
	}
	if maybeToken(b) {
		if m := apiToken.Find(b); m != nil {
			return KindToken, "API token with the prefix " + string(m[:min(len(m), 5)]), true
		}
	}
	if kubeconfigSecret(b) {
		return KindKubeconfig, "kubeconfig (kind: Config) with user credentials", true
	}
	if oauthRefresh.Match(b) && oauthSecret.Match(b) {
		return KindCloud, "OAuth client secret and refresh token (gcloud application default credentials)", true
	}
	return "", "", false
}

// maybeToken reports whether b holds one of the literal starts of
// apiToken's formats (gh?_, github_pat_, glpat-, xox, k_live_, AIza), in
// one pass.
func maybeToken(b []byte) bool {
	for i := 0; i+4 <= len(b); i++ {
		switch b[i] {
		case 'g':
			if b[i+1] == 'h' && b[i+3] == '_' || b[i+1] == 'l' && bytes.HasPrefix(b[i:], []byte("glpat-")) ||
				b[i+1] == 'i' && bytes.HasPrefix(b[i:], []byte("github_pat_")) {
				return true
			}
		case 'x':
			if b[i+1] == 'o' && b[i+2] == 'x' {
				return true
			}
		case '_':
			if b[i+1] == 'l' && bytes.HasPrefix(b[i:], []byte("_live_")) {
				return true
			}
		case 'A':
			if b[i+1] == 'I' && b[i+2] == 'z' && b[i+3] == 'a' {
				return true
			}
		}
	}
	return false
}

// containsEither reports whether b holds w in lower or in upper case, as
// INI files and environment variables spell it.
func containsEither(b []byte, w string) bool {
	return bytes.Contains(b, []byte(w)) || bytes.Contains(b, []byte(strings.ToUpper(w)))
}

// cryptLines counts the lines that cryptLine matches. It looks only at
// the lines holding ":$" or ":!", one by one: the pattern has no literal
// start, and Go's regexp runs such a pattern over a whole file slowly.
func cryptLines(b []byte) int {
	n := 0
	dollar, bang := nextIndex(b, 0, ":$"), nextIndex(b, 0, ":!")
	for {
		j := min(dollar, bang)
		if j == len(b) {
			return n
		}
		start := bytes.LastIndexByte(b[:j], '\n') + 1
		end := len(b)
		if e := bytes.IndexByte(b[j:], '\n'); e >= 0 {
			end = j + e
		}
		if cryptID(b[j:end]) && cryptLine.Match(b[start:end]) {
			n++
		}
		// Each search starts past the line, so the file is read once.
		if dollar <= end {
			dollar = nextIndex(b, end, ":$")
		}
		if bang <= end {
			bang = nextIndex(b, end, ":!")
		}
	}
}

// cryptID reports whether b, which starts with ":$" or ":!", goes on
// with optional "!"s and "$ID$" (ID 1 to 6 of [0-9a-z]): a cheap test
// that spares the regular expression lines such as PATH=/bin:$PATH.
func cryptID(b []byte) bool {
	b = bytes.TrimLeft(b[1:], "!")
	if len(b) < 3 || b[0] != '$' {
		return false
	}
	for i := 1; i < len(b) && i <= 7; i++ {
		switch c := b[i]; {
		case c == '$':
			return i > 1
		case c < '0' || c > '9' && c < 'a' || c > 'z':
			return false
		}
	}
	return false
}

// nextIndex is the index of w in b at or after from, or len(b).
func nextIndex(b []byte, from int, w string) int {
	if i := bytes.Index(b[from:], []byte(w)); i >= 0 {
		return from + i
	}
	return len(b)
}

// shadowHashes counts the entries of a shadow file whose password field
// holds a hash: not empty, "*", "!", "!!" or "x", and, once the "!" of a
// locked account is removed, at least as long as a crypt(3) hash. A locked
// account's hash still is one, and cracks as well.
func shadowHashes(content []byte) (string, bool) {
	n := 0
	for line := range bytes.SplitSeq(content, []byte("\n")) {
		_, rest, ok := bytes.Cut(line, []byte(":"))
		field, _, ok2 := bytes.Cut(rest, []byte(":"))
		if !ok || !ok2 {
			continue
		}
		h := bytes.TrimLeft(field, "!")
		if len(h) >= minCryptHashLen && h[0] != '*' {
			n++
		}
	}
	return plural(n, "password hash", "password hashes"), n > 0
}

// awsKeys reports an AWS credentials or config file with a secret.
func awsKeys(content []byte) (string, bool) {
	ok := containsEither(content, "aws_") &&
		(hasKeyValue(content, "aws_secret_access_key") || hasKeyValue(content, "aws_session_token"))
	return "AWS secret access key or session token", ok
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

type registryAuth struct {
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
	Password      string `json:"password"`
}

func (a registryAuth) secret() bool { return a.Auth != "" || a.IdentityToken != "" || a.Password != "" }

// dockerAuths counts the registries of a docker config.json, a podman
// auth.json or an old .dockercfg that hold a credential; helpers
// (credsStore, credHelpers) keep theirs elsewhere.
func dockerAuths(content []byte) (string, bool) {
	var c struct {
		Auths map[string]registryAuth `json:"auths"`
	}
	var old map[string]registryAuth // .dockercfg: the registries at the top
	n := 0
	if !bytes.Contains(content, []byte(`"auth`)) && !bytes.Contains(content, []byte(`"password"`)) &&
		!bytes.Contains(content, []byte(`"identitytoken"`)) {
		return "", false // not worth parsing
	}
	if json.Unmarshal(content, &c) == nil {
		for _, a := range c.Auths {
			if a.secret() {
				n++
			}
		}
	}
	if n == 0 && json.Unmarshal(content, &old) == nil {
		for _, a := range old {
			if a.secret() {
				n++
			}
		}
	}
	return plural(n, "registry credential", "registry credentials"), n > 0
}

// envSecretKey finds the first variable with a secret-looking name and a
// value in a .env file.
func envSecretKey(content []byte) (string, bool) {
	for line := range bytes.SplitSeq(content, []byte("\n")) {
		line = bytes.TrimPrefix(bytes.TrimSpace(line), []byte("export "))
		k, v, ok := bytes.Cut(line, []byte("="))
		k = bytes.TrimSpace(k)
		v = bytes.Trim(bytes.TrimSpace(v), `"'`)
		if ok && len(v) > 0 && len(k) > 0 && k[0] != '#' && envSecret.Match(k) {
			return "secret-looking variable " + string(k), true
		}
	}
	return "", false
}

// kubeconfigSecret reports a kubeconfig with credentials of a user in it.
func kubeconfigSecret(content []byte) bool {
	if !bytes.Contains(content, []byte("kind: Config")) {
		return false
	}
	_, ok := kubeUserSecret(content)
	return ok
}

// kubeUserSecret reports user credentials in a kubeconfig. It reads YAML
// by lines, which is enough for what kubectl writes.
func kubeUserSecret(content []byte) (string, bool) {
	if !bytes.Contains(content, []byte("users:")) {
		return "", false
	}
	for line := range bytes.SplitSeq(content, []byte("\n")) {
		k, v, ok := bytes.Cut(bytes.TrimSpace(line), []byte(":"))
		switch string(bytes.TrimPrefix(k, []byte("- "))) {
		case "token", "client-key-data", "password", "id-token", "refresh-token":
			if ok && len(bytes.Trim(bytes.TrimSpace(v), `"'`)) > 0 {
				return "kubeconfig with user credentials", true
			}
		}
	}
	return "", false
}

// pgpass reports a line host:port:database:user:password with a password
// (":" and "\" escaped by "\").
func pgpass(content []byte) (string, bool) {
	if bytes.Count(content, []byte(":")) < 4 {
		return "", false
	}
	for line := range bytes.SplitSeq(content, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		fields, esc := 1, false
		last := 0 // where the current field starts
		for i, c := range line {
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == ':':
				fields, last = fields+1, i+1
			}
		}
		if fields >= 5 && last < len(line) {
			return "PostgreSQL password file entry", true
		}
	}
	return "", false
}

// netrc reports a "password" token with a value after a "machine" or
// "default" token (.netrc, .authinfo).
func netrc(content []byte) (string, bool) {
	if !bytes.Contains(content, []byte("password")) {
		return "", false
	}
	entry := false
	f := strings.Fields(string(content))
	for i := 0; i+1 < len(f); i++ {
		switch f[i] {
		case "machine", "default":
			entry = true
		case "password":
			if entry {
				return "netrc password", true
			}
		}
	}
	return "", false
}

// gitCredentials reports a URL with a password, as git's credential store
// keeps them.
func gitCredentials(content []byte) (string, bool) {
	ok := bytes.Contains(content, []byte("://")) && bytes.Contains(content, []byte("@")) && urlCreds.Match(content)
	return "URL with an embedded password", ok
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
