// Package sensitivetest holds a corpus of root filesystem files for the
// tests of the sensitive sealing path (package sensitive, the server's
// upload and download) and for the comparison with gitleaks that
// docs/PROTECTION.md reports: secrets of every kind the rules cover,
// written as the tools that make them write them, and ordinary files that
// look like them but hold no secret. Key material is made up, not
// generated: no scanner here parses a key, and the bytes are the same on
// every run.
package sensitivetest

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"
)

// File is one file of a rootfs.
type File struct {
	Name string
	Data []byte
	// Category names the secret for reports ("PGP private key"); empty for
	// an ordinary file.
	Category string
}

// filler returns n bytes that look random and are the same on every run.
func filler(seed string, n int) []byte {
	var out []byte
	for i := 0; len(out) < n; i++ {
		h := sha256.Sum256([]byte(seed + string(rune('a'+i%26)) + strings.Repeat("+", i/26)))
		out = append(out, h[:]...)
	}
	return out[:n]
}

// b64 is filler in base64, cut into lines of width (none when width is 0).
func b64(seed string, n, width int) string {
	s := base64.StdEncoding.EncodeToString(filler(seed, n))
	if width == 0 {
		return s
	}
	var b strings.Builder
	for len(s) > width {
		b.WriteString(s[:width] + "\n")
		s = s[width:]
	}
	return b.String() + s
}

// alnum is filler as n letters and digits.
func alnum(seed string, n int) string {
	const set = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := filler(seed, n)
	for i := range b {
		b[i] = set[int(b[i])%len(set)]
	}
	return string(b)
}

// digits is filler as n decimal digits.
func digits(seed string, n int) string {
	b := filler(seed, n)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b)
}

func pem(typ, seed string, n int) string {
	return "-----BEGIN " + typ + "-----\n" + b64(seed, n, 64) + "\n-----END " + typ + "-----\n"
}

// Secrets returns one file of each kind of secret that sensitive sealing
// must seal, under the names where images keep them.
func Secrets() []File {
	awsKey := "AKIA" + strings.ToUpper(alnum("aws-id", 16))
	awsSecret := alnum("aws-secret", 40)
	ghToken := "ghp_" + alnum("github", 36)
	refresh := "1//0g" + alnum("refresh", 98)
	saKey := strings.ReplaceAll(pem("PRIVATE KEY", "sa-key", 1190), "\n", `\n`)
	adc := `{"client_id": "764086051850-6qr4p6gpi6hn506pt8ejuq83di341hur.apps.googleusercontent.com", ` +
		`"client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty", "refresh_token": "` + refresh + `", "type": "authorized_user"}` + "\n"
	s := []File{
		{"etc/shadow", []byte("root:$y$j9T$" + alnum("y1", 22) + "$" + alnum("y2", 43) + ":19700:0:99999:7:::\n" +
			"daemon:*:19700:0:99999:7:::\nalice:$6$" + alnum("s1", 16) + "$" + alnum("s2", 86) + ":19701:0:99999:7:::\n"), "shadow"},
		{"etc/shadow-", []byte("root:$6$" + alnum("b1", 16) + "$" + alnum("b2", 86) + ":19690:0:99999:7:::\n"), "shadow backup (shadow-)"},
		{"etc/gshadow-", []byte("root:*::\nsudo:!$6$" + alnum("g1", 16) + "$" + alnum("g2", 86) + "::alice\n"), "gshadow backup (gshadow-)"},
		{"rootfs/etc/shadow", []byte("root:$6$" + alnum("p1", 16) + "$" + alnum("p2", 86) + ":19700:0:99999:7:::\n"), "shadow under a leading directory"},
		{"var/backups/shadow.bak", []byte("root:$y$j9T$" + alnum("k1", 22) + "$" + alnum("k2", 43) + ":19700:0:99999:7:::\n"), "shadow copy (/var/backups)"},
		{"home/alice/private.asc", []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n" + b64("pgp", 900, 64) +
			"\n=Xk2h\n-----END PGP PRIVATE KEY BLOCK-----\n"), "PGP private key block"},
		{"home/alice/.gnupg/private-keys-v1.d/3A1F9C0E2B7D4F6A8C5E1B3D9F7A2C4E6B8D0F1A.key", []byte(
			"Created: 20250101T000000\nKey: (private-key (ecc (curve Ed25519)(flags eddsa)(q #40" +
				strings.ToUpper(alnum("q", 64)) + "#)(d #" + strings.ToUpper(alnum("d", 64)) + "#)))\n"), "GnuPG private key store"},
		{"home/alice/keys/server.ppk", []byte("PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: alice@laptop\n" +
			"Public-Lines: 2\n" + b64("putty-pub", 51, 64) + "\nPrivate-Lines: 1\n" + b64("putty-priv", 36, 64) +
			"\nPrivate-MAC: " + alnum("putty-mac", 64) + "\n"), "PuTTY private key (.ppk)"},
		{"home/alice/.pgpass", []byte("db.internal:5432:orders:app:" + alnum("pg", 20) + "\n"), ".pgpass"},
		{"home/alice/.netrc", []byte("machine api.heroku.com\n  login alice@example.com\n  password " + alnum("netrc", 32) + "\n"), ".netrc"},
		{"home/alice/.git-credentials", []byte("https://alice:" + ghToken + "@github.com\n"), ".git-credentials"},
		{"srv/app/.env", []byte("PORT=8080\nDEBUG=false\nDB_PASSWORD=" + alnum("env", 24) + "\n"), ".env secret"},
		{"root/.aws/credentials", []byte("[default]\naws_access_key_id = " + awsKey + "\naws_secret_access_key = " + awsSecret + "\n"), "AWS credentials"},
		{"root/.config/gcloud/credentials.db", append([]byte("SQLite format 3\x00\x10\x00\x01\x01"),
			append(filler("sqlite", 300), []byte("\x81\x0f"+`alice@example.com`+adc)...)...), "gcloud credentials.db"},
		{"root/.config/gcloud/application_default_credentials.json", []byte(adc), "gcloud application default credentials"},
		{"root/.config/gcloud/legacy_credentials/ci@proj.iam.gserviceaccount.com/adc.json", []byte(`{"type": "service_account", ` +
			`"project_id": "proj", "private_key_id": "` + alnum("kid", 40) + `", "private_key": "` + saKey +
			`", "client_email": "ci@proj.iam.gserviceaccount.com", "client_id": "104623519327811225311"}` + "\n"), "gcloud legacy credentials"},
		{"root/.kube/config", []byte("apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://10.0.0.1:6443\n  name: prod\n" +
			"users:\n- name: admin\n  user:\n    client-certificate-data: " + b64("kcert", 600, 0) + "\n    client-key-data: " +
			b64("kkey", 900, 0) + "\n"), "kubeconfig"},
		{"root/.docker/config.json", []byte(`{"auths": {"registry.example.com": {"auth": "` +
			base64.StdEncoding.EncodeToString([]byte("alice:"+alnum("docker", 20))) + `"}}}` + "\n"), "Docker config.json auths"},
		{"etc/ssl/private/server.key", []byte(pem("PRIVATE KEY", "tls", 1218)), "TLS private key (PKCS#8)"},
		{"opt/app/conf/bundle.pem", []byte(pem("CERTIFICATE", "cert", 700) + pem("EC PRIVATE KEY", "ec", 121)), "TLS key in a bundle"},
		{"home/alice/.ssh/id_ed25519", []byte(pem("OPENSSH PRIVATE KEY", "openssh", 300)), "OpenSSH private key"},
		{"etc/ssh/ssh_host_ecdsa_key", []byte(pem("OPENSSH PRIVATE KEY", "hostkey", 380)), "SSH host key"},
		{"etc/systemd/system/app.service.d/token.conf", []byte("[Service]\nEnvironment=GITHUB_TOKEN=ghp_" + alnum("unit", 36) + "\n"), "API token in a config file (GitHub)"},
		{"opt/bot/config.yaml", []byte("name: deploy-bot\nslack:\n  channel: '#ops'\n  token: xoxb-" + digits("slack1", 11) + "-" +
			digits("slack2", 13) + "-" + alnum("slack3", 24) + "\n"), "API token in a config file (Slack)"},
		{"home/alice/cert.p12", append([]byte{0x30, 0x82, 0x0a, 0x01, 0x02, 0x01, 0x03}, filler("p12", 2560)...), "PKCS#12 file"},
	}
	return s
}

// Ordinary returns files that look like secrets, or sit where they do, and
// hold none: what sealing should leave inspectable.
func Ordinary() []File {
	return []File{
		{"etc/passwd", []byte("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" +
			"alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\n"), ""},
		{"etc/gshadow", []byte("root:*::\nsudo:*::alice\nadm:!::\n"), ""},
		{"etc/ssh/ssh_host_ecdsa_key.pub", []byte("ecdsa-sha2-nistp256 " + b64("hostpub", 104, 0) + " root@web\n"), ""},
		{"etc/ssh/sshd_config", []byte("PermitRootLogin no\nPasswordAuthentication no\nHostKey /etc/ssh/ssh_host_ecdsa_key\n"), ""},
		{"etc/ssl/certs/ca.pem", []byte(pem("CERTIFICATE", "ca", 900)), ""},
		{"etc/apt/trusted.gpg.d/debian.asc", []byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + b64("pgppub", 800, 64) +
			"\n=AbCd\n-----END PGP PUBLIC KEY BLOCK-----\n"), ""},
		{"srv/app/.env.example", []byte("PORT=8080\nDB_PASSWORD=changeme\nAPI_TOKEN=\n"), ""},
		{"srv/app/settings.py", []byte("import os\n\nDB_PASSWORD = os.environ['DB_PASSWORD']\nSECRET_KEY = os.environ.get('SECRET_KEY')\n" +
			"def login(user, password):\n    return check(user, password)\n"), ""},
		{"root/.docker/config.json.d/helper.json", []byte(`{"credsStore": "pass"}` + "\n"), ""},
		{"home/alice/.docker/config.json", []byte(`{"auths": {"registry.example.com": {}}, "credsStore": "desktop"}` + "\n"), ""},
		{"home/bob/.kube/config", []byte("apiVersion: v1\nkind: Config\nusers:\n- name: eks\n  user:\n    exec:\n" +
			"      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n      args: [eks, get-token]\n"), ""},
		{"usr/share/doc/awscli/README", []byte("Configure with:\n  aws_access_key_id = YOUR_ACCESS_KEY_ID\n" +
			"  aws_secret_access_key = YOUR_SECRET_ACCESS_KEY\n"), ""},
		{"usr/share/doc/git/credentials.txt", []byte("git stores credentials as https://user:password@host\n"), ""},
		{"usr/lib/node_modules/app/config.js", []byte("module.exports = { apiKey: process.env.API_KEY, token: null };\n"), ""},
		{"usr/bin/app", append([]byte("\x7fELF\x02\x01\x01"), filler("elf", 4000)...), ""},
		{"var/lib/dpkg/status", []byte("Package: openssh-server\nStatus: install ok installed\nDescription: secure shell server\n"), ""},
	}
}

// Tar packs files as a tar archive, in order, with the given times.
func Tar(files []File, mtime time.Time) ([]byte, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		h := &tar.Header{Typeflag: tar.TypeReg, Name: f.Name, Mode: 0o600, Size: int64(len(f.Data)), ModTime: mtime}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
